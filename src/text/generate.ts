// The generation loop: a prompt (text, chat messages or ids) in, sampled tokens out, with text
// streamed as it becomes stable, stop strings cut, AbortSignal cancellation, and timings.
import { checkOptions, optionKeys } from '../options.js';
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat.js';
import { ContextOverflowError, OptionError, TemplateError, TokenizerError } from '../errors.js';
import { promptOpensReasoning, splitReasoning } from './reasoning.js';
import { Sampler, samplingDefaults, type SamplingOptions } from './sampler.js';
import type { Session, SessionOptions } from '../runtime/session.js';
import type { ModelInfo } from '../runtime/load.js';
import type { TextTokenizer } from './tokenizer.js';
import { StopMatcher, TextStream } from './stream.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default: generation_config.json's max_new_tokens, else 256). */
  maxTokens?: number;
  /** Stop when one of these ids is produced (default: the model's eos_token_id list). */
  stopIds?: number[];
  /** Stop when the text contains one of these; the stop string and what follows never appear. */
  stop?: string | string[];
  /** Abort: generation ends with finishReason 'abort' and the text so far. */
  signal?: AbortSignal;
  /**
   * Generate on this session (default: a new one, disposed at the end). Its KV cache is reused when
   * the new prompt extends the ids it already holds from an earlier call (a chat's history).
   */
  session?: Session;
  /** For chat messages: add_generation_prompt, tools, documents, and any other key as a template variable (enable_thinking, ...). */
  chat?: ChatTemplateOptions;
}

export const GENERATE_OPTIONS = optionKeys<GenerateOptions>()('maxTokens', 'stopIds', 'stop', 'signal', 'session', 'chat',
  'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'presencePenalty', 'frequencyPenalty', 'logitBias', 'seed');

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerateResult {
  promptIds: number[];
  ids: number[];            // generated only (a stop id is not included)
  text: string;             // decoded generated ids, cut before a stop string
  /** For reasoning models: `text` split at </think> (reasoning '' when there is no think block). */
  reasoning: string;
  answer: string;
  finishReason: FinishReason;
  prefillMs: number;
  decodeMs: number;
  prefillTokS: number;
  decodeTokS: number;
}

export type Prompt = string | ChatMessage[] | number[];

/** What generation needs of a model (src/model.ts's TextModel is one). */
export interface TextModel {
  readonly spec: { vocabSize: number };
  readonly info: Pick<ModelInfo, 'source'>;
  readonly tokenizer: TextTokenizer | undefined;
  readonly generationConfig: Record<string, unknown>;
  readonly eosTokenIds: number[];
  session(opts?: SessionOptions): Session;
}

/** Token-by-token state shared by the streaming and the synchronous API. */
class TokenLoop {
  readonly ids: number[] = [];
  readonly history: number[];
  finishReason: FinishReason = 'length';
  private readonly sampler: Sampler;
  private readonly stopIds: Set<number>;
  private readonly maxTokens: number;
  private logits: Float32Array | undefined;
  /** Every step's logits land here (read by the sampler before the next step): no array per token. */
  private readonly buf: Float32Array;
  prefilled = 0;
  t0 = 0; t1 = 0;

  constructor(private readonly model: TextModel, readonly session: Session, readonly promptIds: number[], opts: GenerateOptions) {
    const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.sampler = new Sampler({ ...samplingDefaults(model.generationConfig), ...defined }, model.spec.vocabSize);
    this.stopIds = new Set(opts.stopIds ?? model.eosTokenIds);
    const gcMax = model.generationConfig.max_new_tokens;
    this.maxTokens = opts.maxTokens ?? (typeof gcMax === 'number' ? gcMax : 256);
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 0) throw new OptionError(`maxTokens ${this.maxTokens}: expected an integer >= 0`);
    this.history = [...promptIds];
    this.buf = new Float32Array(model.spec.vocabSize);
  }

  /** Feed the prompt, reusing the part of it the session already holds. */
  prefill(): void {
    const { session, promptIds } = this;
    if (promptIds.length === 0) throw new OptionError('prompt: no tokens');
    const V = this.model.spec.vocabSize;
    const bad = promptIds.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= V);
    if (bad >= 0) {
      throw new TokenizerError(`prompt: token id ${promptIds[bad]} at index ${bad} is outside the model's vocabulary (0..${V - 1})` +
        (this.model.tokenizer ? '; does the tokenizer belong to this model?' : ''));
    }
    if (promptIds.length > session.contextLength) {
      throw new ContextOverflowError(`prompt: ${promptIds.length} tokens > context length ${session.contextLength}`);
    }
    // Keep the cache's rows for the prompt's leading ids (a chat's earlier turns); at least one id is fed.
    session.keepPrefix(promptIds);
    const fresh = promptIds.slice(session.pos);
    this.t0 = performance.now();
    this.logits = session.prefill(fresh, { out: this.buf });
    this.t1 = performance.now();
    this.prefilled = fresh.length;
  }

  /** The next token, or undefined when generation has ended (finishReason says why). */
  next(): number | undefined {
    if (!this.logits || this.ids.length >= this.maxTokens) return undefined;
    const id = this.sampler.next(this.logits, this.history);
    this.logits = undefined;
    if (this.stopIds.has(id)) { this.finishReason = 'stop'; return undefined; }
    this.ids.push(id);
    this.history.push(id);
    this.sampler.accept(id);
    return id;
  }

  /** Feed the last token so that next() has logits (skipped when no further token may come). */
  feed(): void {
    const id = this.ids[this.ids.length - 1];
    if (this.ids.length >= this.maxTokens || this.session.pos >= this.session.contextLength) return;
    this.logits = this.session.step(id, this.buf);
  }

  result(text: string, startsInReasoning: boolean): GenerateResult {
    const t2 = performance.now();
    const decodeSteps = Math.max(this.ids.length - 1, 0); // the first id came from the prefill logits
    return {
      promptIds: this.promptIds, ids: this.ids, text, ...splitReasoning(text, startsInReasoning),
      finishReason: this.finishReason,
      prefillMs: this.t1 - this.t0, decodeMs: t2 - this.t1,
      prefillTokS: this.prefilled / ((this.t1 - this.t0) / 1000),
      decodeTokS: decodeSteps / ((t2 - this.t1) / 1000),
    };
  }
}

/**
 * Synchronous generation on `session` after `promptIds`; `onToken` sees every new id.
 * Samples with `opts` (greedy by default unless generation_config.json says do_sample).
 */
export function generateIds(model: TextModel, session: Session, promptIds: number[], opts: GenerateOptions = {},
                            onToken?: (id: number) => void): GenerateResult {
  const loop = new TokenLoop(model, session, promptIds, opts);
  loop.prefill();
  for (let id = loop.next(); id !== undefined; id = loop.next()) {
    onToken?.(id);
    loop.feed();
  }
  return loop.result(model.tokenizer ? model.tokenizer.decode(loop.ids) : '', false);
}

/**
 * A running generation: iterate it for text pieces as they become stable, and await `result` for the
 * ids, the whole text, the finish reason and timings. It runs whether or not it is iterated; leaving a
 * `for await` early (break) aborts it.
 */
export class Generation implements AsyncIterable<string> {
  readonly result: Promise<GenerateResult>;
  private readonly pieces: string[] = [];
  private wake: (() => void) | undefined;
  private done = false;

  constructor(run: (emit: (piece: string) => void) => Promise<GenerateResult>, private readonly stopEarly: () => void) {
    this.result = run((p) => { this.pieces.push(p); this.wake?.(); })
      .finally(() => { this.done = true; this.wake?.(); });
    this.result.catch(() => {}); // surfaced by the iterator or by awaiting result, not as unhandled
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    try {
      for (;;) {
        if (this.pieces.length) { yield this.pieces.shift()!; continue; }
        if (this.done) { await this.result; return; }
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = undefined;
      }
    } finally {
      if (!this.done) this.stopEarly();
    }
  }
}

/** Start generating from text (encoded with the model's special tokens), chat messages or ids. */
export function generate(model: TextModel, prompt: Prompt, opts: GenerateOptions = {}): Generation {
  checkOptions(opts, GENERATE_OPTIONS, 'generate options');
  const own = new AbortController();
  const signal = opts.signal ? anySignal(opts.signal, own.signal) : own.signal;
  return new Generation((emit) => run(model, prompt, { ...opts, signal }, emit), () => own.abort());
}

async function run(model: TextModel, prompt: Prompt, opts: GenerateOptions, emit: (piece: string) => void): Promise<GenerateResult> {
  await Promise.resolve(); // start after the caller has the Generation
  const { ids: promptIds, startsInReasoning } = encodePrompt(model, prompt, opts.chat);
  const session = opts.session ?? model.session();
  try {
    const loop = new TokenLoop(model, session, promptIds, opts);
    const tok = model.tokenizer;
    const stream = tok && new TextStream(tok, promptIds);
    const stops = new StopMatcher(typeof opts.stop === 'string' ? [opts.stop] : opts.stop ?? []);
    if (stops.stops.some((x) => typeof x !== 'string' || x === '')) throw new OptionError(`stop ${JSON.stringify(opts.stop)}: expected non-empty strings`);
    let text = '', stopped = false;
    const out = (piece: string) => {
      const r = stops.push(piece);
      if (r.text) { text += r.text; emit(r.text); }
      stopped = r.stopped;
    };
    if (opts.signal?.aborted) loop.finishReason = 'abort';
    else {
      loop.prefill();
      for (let id = loop.next(); id !== undefined; id = loop.next()) {
        if (stream) out(stream.push(id));
        if (stopped) { loop.finishReason = 'stop'; break; }
        await tick(); // lets an abort (Ctrl-C, a UI button) and the consumer run
        if (opts.signal?.aborted) { loop.finishReason = 'abort'; break; }
        loop.feed();
      }
    }
    if (stream && !stopped) out(stream.flush());
    if (stopped) loop.finishReason = 'stop';
    else if (stops.stops.length) { const rest = stops.flush(); if (rest) { text += rest; emit(rest); } }
    return loop.result(text, startsInReasoning);
  } finally {
    if (!opts.session) session.dispose();
  }
}

/** Prompt ids: text with the tokenizer's special tokens; messages through the chat template, as transformers. */
export function encodePrompt(model: TextModel, prompt: Prompt, chat: ChatTemplateOptions = {}): { ids: number[]; text?: string; startsInReasoning: boolean } {
  if (Array.isArray(prompt) && prompt.every((x) => typeof x === 'number')) {
    if (prompt.length === 0) throw new OptionError('prompt: no token ids given');
    return { ids: prompt as number[], startsInReasoning: false };
  }
  const tok = model.tokenizer;
  if (!tok) throw new TokenizerError(`${model.info.source}: no tokenizer.json, so text cannot be encoded; give token ids`);
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new OptionError('prompt: empty text');
    return { ids: tok.encode(prompt), text: prompt, startsInReasoning: false };
  }
  const template = ChatTemplate.of(tok);
  if (!template) throw new TemplateError(`${model.info.source}: no chat template (tokenizer_config.json has no chat_template, and there is no chat_template.jinja); give a plain text prompt`);
  const text = template.render(prompt as ChatMessage[], chat);
  // transformers' apply_chat_template encodes without special tokens: the template writes BOS itself.
  return { ids: tok.encode(text, { addSpecialTokens: false }), text, startsInReasoning: promptOpensReasoning(text) };
}

/** A macrotask turn: setImmediate in Node, a MessageChannel message in browsers (no 4 ms clamp). */
function tick(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { ch.port1.close(); r(); };
    ch.port2.postMessage(0);
  });
}

function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort();
    else s.addEventListener('abort', () => c.abort(), { once: true });
  }
  return c.signal;
}

// What a generation request is: its options and result, the model it needs, its prompt, and the
// Generation handle a caller iterates. The loop that runs requests is src/text/scheduler.ts.
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat.js';
import { OptionError, TemplateError, TokenizerError } from '../errors.js';
import { optionKeys } from '../options.js';
import { promptOpensReasoning } from './reasoning.js';
import type { SamplingOptions } from './sampler.js';
import type { Batch, BatchOptions } from '../runtime/batch.js';
import type { PrefixCache } from '../runtime/prefix-cache.js';
import type { Session, SessionOptions } from '../runtime/session.js';
import type { ModelInfo } from '../runtime/load.js';
import type { TextTokenizer } from './tokenizer.js';

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
  /** Called with each generated id as it is taken (before its text is released). */
  onToken?: (id: number) => void;
  /**
   * Speculative decoding with this draft model (a smaller model with the same tokenizer, or a q4 copy of
   * this one): it drafts `draftTokens` ids per step and the model checks them in one forward. Greedy
   * output stays the model's own; sampled output follows the model's distribution (the acceptance rule).
   */
  draft?: TextModel;
  /** Ids the draft model drafts per step; default 4. */
  draftTokens?: number;
  /** Prompt lookup decoding: draft up to this many ids from an earlier occurrence of the context's last 1 to 3 ids. */
  lookup?: number;
  /** generate() and generateIds(): reuse (and keep) prompt prefixes here; a Scheduler has its own (SchedulerOptions). */
  prefixCache?: PrefixCache;
}

export const GENERATE_OPTIONS = optionKeys<GenerateOptions>()('maxTokens', 'stopIds', 'stop', 'signal', 'session', 'chat',
  'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'presencePenalty', 'frequencyPenalty', 'logitBias', 'seed',
  'onToken', 'draft', 'draftTokens', 'lookup', 'prefixCache');

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
  /** From the start until the first id was chosen (undefined when none was). */
  timeToFirstTokenMs?: number;
  /** Prompt ids whose keys and values were reused (the session's, or the prefix cache's), not computed. */
  cachedTokens: number;
  /** Speculative decoding: ids drafted, and how many of them the model kept. */
  drafted: number;
  accepted: number;
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
  /** Activations for forwards over many sessions at once (src/runtime/batch.ts). */
  batch(opts?: BatchOptions): Batch;
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

/** An AbortSignal that aborts when either does. */
export function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort();
    else s.addEventListener('abort', () => c.abort(), { once: true });
  }
  return c.signal;
}

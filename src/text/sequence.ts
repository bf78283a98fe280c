// One request on its way through the scheduler: its prompt, session, sampler, stop rules, streamed text
// and speculative bookkeeping. The scheduler (src/text/scheduler.ts) decides what to feed and runs the
// forwards; a Sequence turns each forward's logits into tokens and knows when it is finished.
import { ContextOverflowError, OptionError, TokenizerError } from '../errors.js';
import type { Session } from '../runtime/session.js';
import { splitReasoning } from './reasoning.js';
import { Sampler, samplingDefaults } from './sampler.js';
import { verifyDraft } from './speculative.js';
import { StopMatcher, TextStream } from './stream.js';
import type { FinishReason, GenerateOptions, GenerateResult, TextModel } from './request.js';

/** Tokens a draft model drafts per step when draftTokens is not given. */
export const DEFAULT_DRAFT_TOKENS = 4;

export class Sequence {
  /** Generated ids (a stop id is not included). */
  readonly ids: number[] = [];
  /** Prompt and generated ids: what the penalties read. */
  readonly history: number[];
  readonly sampler: Sampler;
  /** The draft model's sampler (same options, its own Rng): q for the acceptance rule. */
  readonly draftSampler?: Sampler;
  /** The draft model's session for this sequence (the scheduler makes it). */
  draftSession?: Session;
  /** Most ids drafted per step (0: no speculation). */
  readonly draftK: number;
  /** The last generated id, sampled but not yet fed. */
  pending: number | undefined;
  /** This step's draft, and for a sampled draft model the q each was drawn from (draftK × vocabSize). */
  drafts: number[] = [];
  readonly q?: Float64Array;
  finishReason: FinishReason | undefined;
  error: unknown;
  /** Prompt ids whose keys and values were already cached (session or prefix cache), not recomputed. */
  cachedTokens = 0;
  drafted = 0;
  accepted = 0;
  result: GenerateResult | undefined;
  readonly done: Promise<GenerateResult>;
  private settle!: { resolve: (r: GenerateResult) => void; reject: (e: unknown) => void };
  private readonly stopIds: Set<number>;
  private readonly maxTokens: number;
  private readonly stream?: TextStream;
  private readonly stops: StopMatcher;
  private text = '';
  /** A stop string was completed: the text ends before it. */
  private stopped = false;
  private t0 = 0; private t1 = 0; private tFirst = 0;

  constructor(readonly model: TextModel, readonly promptIds: number[], readonly opts: GenerateOptions, readonly session: Session,
              readonly ownsSession: boolean, private readonly emit?: (piece: string) => void, private readonly startsInReasoning = false) {
    this.done = new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
    this.done.catch(() => {}); // surfaced by whoever awaits it
    const V = model.spec.vocabSize;
    const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    const sampling = { ...samplingDefaults(model.generationConfig), ...defined };
    this.sampler = new Sampler(sampling, V);
    this.stopIds = new Set(opts.stopIds ?? model.eosTokenIds);
    const gcMax = model.generationConfig.max_new_tokens;
    this.maxTokens = opts.maxTokens ?? (typeof gcMax === 'number' ? gcMax : 256);
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 0) throw new OptionError(`maxTokens ${this.maxTokens}: expected an integer >= 0`);
    if (promptIds.length === 0) throw new OptionError('prompt: no tokens');
    const bad = promptIds.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= V);
    if (bad >= 0) {
      throw new TokenizerError(`prompt: token id ${promptIds[bad]} at index ${bad} is outside the model's vocabulary (0..${V - 1})` +
        (model.tokenizer ? '; does the tokenizer belong to this model?' : ''));
    }
    if (promptIds.length > session.contextLength) {
      throw new ContextOverflowError(`prompt: ${promptIds.length} tokens > context length ${session.contextLength}`);
    }
    this.history = [...promptIds];
    const stop = typeof opts.stop === 'string' ? [opts.stop] : opts.stop ?? [];
    if (stop.some((x) => typeof x !== 'string' || x === '')) throw new OptionError(`stop ${JSON.stringify(opts.stop)}: expected non-empty strings`);
    this.stops = new StopMatcher(stop);
    if (model.tokenizer) this.stream = new TextStream(model.tokenizer, promptIds);
    this.draftK = opts.draft ? opts.draftTokens ?? DEFAULT_DRAFT_TOKENS : opts.lookup ?? 0;
    if (!Number.isInteger(this.draftK) || this.draftK < 0) {
      throw new OptionError(`${opts.draft ? 'draftTokens' : 'lookup'} ${this.draftK}: expected an integer >= 0 (tokens drafted per step)`);
    }
    if (opts.draft) {
      if (opts.lookup) throw new OptionError('draft and lookup: choose one way to draft');
      if (opts.draft.spec.vocabSize !== V) throw new OptionError(`draft model: vocabulary of ${opts.draft.spec.vocabSize} tokens, the model's has ${V}; a draft must share the tokenizer`);
      // Its own stream of draws, fixed by the seed too.
      this.draftSampler = new Sampler({ ...sampling, seed: opts.seed === undefined ? undefined : (opts.seed + 0x9e3779b9) >>> 0 }, V);
      if (!this.sampler.greedy) this.q = new Float64Array(this.draftK * V);
    }
  }

  get finished(): boolean { return this.finishReason !== undefined; }
  /** Prompt ids not yet in the cache. */
  get promptLeft(): number { return this.pending === undefined && !this.finished ? this.promptIds.length - this.session.pos : 0; }
  get decoding(): boolean { return this.pending !== undefined && !this.finished; }

  /** Keep what the session already holds of the prompt (a chat's earlier turns); the prefix cache may add more. */
  start(restore?: (session: Session, ids: number[]) => number): void {
    this.t0 = performance.now();
    if (this.opts.signal?.aborted) { this.finish('abort'); return; }
    const kept = this.session.keepPrefix(this.promptIds);
    this.cachedTokens = Math.max(kept, restore?.(this.session, this.promptIds) ?? 0);
  }

  /**
   * How many ids this step may draft: fewer near maxTokens (one token always comes from the target),
   * the end of the context and the rows one forward holds for the session.
   */
  draftRoom(): number {
    const s = this.session;
    return Math.max(0, Math.min(this.draftK, this.maxTokens - this.ids.length - 1, s.contextLength - s.pos - 1, s.prefillChunk - 1));
  }

  /** The prompt's last chunk ran: `logits` of its last row give the first id. */
  prompted(logits: Float32Array): void {
    this.t1 = performance.now();
    if (this.maxTokens === 0) { this.finish('length'); return; }
    this.take(this.sampler.next(logits, this.history), this.session.pos);
  }

  /**
   * The forward over [pending, ...drafts] ran: rows of logits, one per fed id. Keeps the drafts the
   * target agrees with, then one token of its own; the cache forgets the rows of rejected drafts.
   */
  decoded(rows: Float32Array): void {
    const V = this.model.spec.vocabSize, drafts = this.drafts, pos0 = this.session.pos - drafts.length - 1;
    this.drafts = [];
    if (drafts.length === 0) { this.take(this.sampler.next(rows, this.history), pos0 + 1); return; }
    this.drafted += drafts.length;
    let j = 0;
    for (; j <= drafts.length; j++) {
      const row = rows.subarray(j * V, (j + 1) * V);
      if (j === drafts.length) { this.take(this.sampler.next(row, this.history), pos0 + 1 + j); break; }
      const p = this.sampler.probs(row, this.history);
      const id = verifyDraft(p, this.q?.subarray(j * V, (j + 1) * V), drafts[j], () => this.sampler.uniform());
      if (id === drafts[j]) this.accepted++;
      if (!this.take(id, pos0 + 1 + j) || id !== drafts[j]) break;
    }
    // Rows of drafts after the last kept one hold keys the sequence never had.
    if (!this.finished) this.session.rewind(pos0 + Math.min(j, drafts.length) + 1);
  }

  /**
   * Record a generated id, to be fed at position `fed` (the cache's length once rejected drafts are gone);
   * false once the sequence has finished (a stop id or string, maxTokens, the end of the context).
   */
  private take(id: number, fed: number): boolean {
    if (this.ids.length === 0) this.tFirst = performance.now();
    if (this.stopIds.has(id)) { this.finish('stop'); return false; }
    this.ids.push(id);
    this.history.push(id);
    this.sampler.accept(id);
    this.draftSampler?.accept(id);
    this.opts.onToken?.(id);
    if (this.stream && this.out(this.stream.push(id))) { this.finish('stop'); return false; }
    // The id is fed next step: only if another may follow it and the cache has room.
    if (this.ids.length >= this.maxTokens || fed >= this.session.contextLength) { this.finish('length'); return false; }
    this.pending = id;
    return true;
  }

  /** Release stable text through the stop strings; true when one was completed. */
  private out(piece: string): boolean {
    const r = this.stops.push(piece);
    if (r.text) { this.text += r.text; this.emit?.(r.text); }
    return (this.stopped = r.stopped);
  }

  finish(reason: FinishReason): void {
    if (this.finished) return;
    this.finishReason = reason;
    this.pending = undefined;
    // The text still held: the stream's last partial word, and what might have begun a stop string.
    if (this.stream && !this.stopped) this.out(this.stream.flush());
    if (this.stopped) this.finishReason = 'stop';
    else { const rest = this.stops.flush(); if (rest) { this.text += rest; this.emit?.(rest); } }
    const t2 = performance.now(), t1 = this.t1 || t2, prefilled = this.promptIds.length - this.cachedTokens;
    const decodeSteps = Math.max(this.ids.length - 1, 0); // the first id came from the prefill logits
    this.result = {
      promptIds: this.promptIds, ids: this.ids, text: this.text, ...splitReasoning(this.text, this.startsInReasoning),
      finishReason: this.finishReason, prefillMs: t1 - this.t0, decodeMs: t2 - t1,
      prefillTokS: prefilled / ((t1 - this.t0) / 1000), decodeTokS: decodeSteps / ((t2 - t1) / 1000),
      timeToFirstTokenMs: this.tFirst ? this.tFirst - this.t0 : undefined,
      cachedTokens: this.cachedTokens, drafted: this.drafted, accepted: this.accepted,
    };
    this.settle.resolve(this.result);
  }

  fail(e: unknown): void {
    if (this.finished) return;
    this.finishReason = 'abort';
    this.error = e;
    this.settle.reject(e);
  }
}

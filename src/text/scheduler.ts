// Continuous batching (Orca's iteration-level scheduling, vLLM's scheduler): requests join and leave between
// steps, and each step is one forward over every running sequence, each at its own position in its own
// KV cache. Decodes go first (one row each, or 1 + k with speculative drafts); prompts fill the rows left,
// in chunks, beside them. Between steps the event loop runs (streams, aborts, new requests).
import { OptionError } from '../errors.js';
import type { Batch } from '../runtime/batch.js';
import type { PrefixCache } from '../runtime/prefix-cache.js';
import { anySignal, encodePrompt, Generation, GENERATE_OPTIONS, type GenerateOptions, type Prompt, type TextModel } from './request.js';
import { checkOptions, optionKeys } from '../options.js';
import { Sequence } from './sequence.js';
import { draftTokens, lookupDraft, type DraftRequest } from './speculative.js';

export interface SchedulerOptions {
  /** Sequences decoded together; later requests wait for one to finish. Default 8. */
  maxSequences?: number;
  /** Rows of one forward over all sequences (a prompt goes in chunks of what decodes leave). Default 64. */
  batchTokens?: number;
  /** Threads of the batched forwards, at most the model's; default all of them. */
  threads?: number;
  /** KV cache positions of the sessions the scheduler makes; default the model's session default. */
  contextLength?: number;
  /** Reuse the keys and values of prompt prefixes seen before (system prompts, earlier chat turns). */
  prefixCache?: PrefixCache;
}

export const SCHEDULER_OPTIONS = optionKeys<SchedulerOptions>()('maxSequences', 'batchTokens', 'threads', 'contextLength', 'prefixCache');

/** Counts since the scheduler was made, for metrics. */
export interface SchedulerStats { steps: number; rows: number; promptTokens: number; generatedTokens: number; cachedTokens: number }

export class Scheduler {
  readonly maxSequences: number;
  readonly stats: SchedulerStats = { steps: 0, rows: 0, promptTokens: 0, generatedTokens: 0, cachedTokens: 0 };
  private readonly waiting: Sequence[] = [];
  private readonly active: Sequence[] = [];
  private readonly batchTokens: number;
  private batch: Batch | undefined;
  /** One batch per draft model, for the draft forwards of every sequence that uses it. */
  private readonly draftBatches = new Map<TextModel, Batch>();
  private looping = false;
  private closed = false;
  private turn = 0; // where decodes start when the rows cannot hold them all (round robin)

  constructor(readonly model: TextModel, readonly opts: SchedulerOptions = {}) {
    checkOptions(opts, SCHEDULER_OPTIONS, 'scheduler options');
    this.maxSequences = opts.maxSequences ?? 8;
    this.batchTokens = opts.batchTokens ?? 64;
    if (!Number.isInteger(this.maxSequences) || this.maxSequences < 1) throw new OptionError(`maxSequences ${this.maxSequences}: expected an integer >= 1`);
    if (!Number.isInteger(this.batchTokens) || this.batchTokens < 1) throw new OptionError(`batchTokens ${this.batchTokens}: expected an integer >= 1`);
  }

  /** Sequences in the running batch, and waiting for a place in it. */
  get running(): number { return this.active.length; }
  get queued(): number { return this.waiting.length; }

  /** Start generating from text, chat messages or ids; it joins the running batch at the next step. */
  generate(prompt: Prompt, opts: GenerateOptions = {}): Generation {
    checkOptions(opts, GENERATE_OPTIONS, 'generate options');
    const own = new AbortController();
    const signal = opts.signal ? anySignal(opts.signal, own.signal) : own.signal;
    return new Generation(async (emit) => {
      await Promise.resolve(); // start after the caller has the Generation
      const { ids, startsInReasoning } = encodePrompt(this.model, prompt, opts.chat);
      const seq = this.add(ids, { ...opts, signal }, emit, startsInReasoning);
      this.wake();
      return seq.done;
    }, () => own.abort());
  }

  /** Queue a request for the next step (step() runs it; generate() also keeps the steps going). */
  add(promptIds: number[], opts: GenerateOptions = {}, emit?: (piece: string) => void, startsInReasoning = false): Sequence {
    checkOptions(opts, GENERATE_OPTIONS, 'generate options');
    if (this.closed) throw new OptionError('scheduler: used after dispose()');
    if (opts.session && (opts.session.model as unknown) !== this.model) throw new OptionError('session: it belongs to another model');
    if (opts.session && [...this.waiting, ...this.active].some((q) => q.session === opts.session)) {
      throw new OptionError('session: another running request generates on it');
    }
    const session = opts.session ?? this.model.session({ contextLength: this.opts.contextLength });
    try {
      const seq = new Sequence(this.model, promptIds, opts, session, !opts.session, emit, startsInReasoning);
      this.waiting.push(seq);
      return seq;
    } catch (e) {
      if (!opts.session) session.dispose();
      throw e;
    }
  }

  /**
   * One forward over every running sequence: admit waiting ones, draft, feed, sample, retire the finished.
   * Returns false when nothing is left to run.
   */
  step(): boolean {
    while (this.active.length < this.maxSequences && this.waiting.length) {
      const seq = this.waiting.shift()!;
      seq.start(this.opts.prefixCache && ((s, ids) => this.opts.prefixCache!.restore(s, ids)));
      this.stats.cachedTokens += seq.cachedTokens;
      this.active.push(seq);
    }
    for (const seq of this.active) if (seq.opts.signal?.aborted) seq.finish('abort');
    this.retire();
    if (this.active.length === 0) return this.waiting.length > 0;
    try {
      this.forward();
    } catch (e) {
      for (const seq of this.active) seq.fail(e);
    }
    this.retire();
    return this.active.length + this.waiting.length > 0;
  }

  /** Stop: every running or waiting request ends with 'abort'; the batch memory goes back to the model. */
  dispose(): void {
    this.closed = true;
    for (const seq of [...this.waiting, ...this.active]) seq.finish('abort');
    this.waiting.length = 0;
    this.retire();
    this.batch?.dispose();
    this.batch = undefined;
    for (const b of this.draftBatches.values()) b.dispose();
    this.draftBatches.clear();
  }

  private forward(): void {
    const batch = (this.batch ??= this.model.batch({ maxTokens: this.batchTokens, threads: this.opts.threads }));
    this.draft();
    let room = batch.maxTokens;
    const plan: { seq: Sequence; ids: number[]; logits: 'last' | 'all' | 'none'; prompt: boolean }[] = [];
    const decoding = this.active.filter((s) => s.decoding);
    this.turn = (this.turn + 1) % Math.max(decoding.length, 1);
    for (const seq of [...decoding.slice(this.turn), ...decoding.slice(0, this.turn)]) {
      if (room === 0) { seq.drafts = []; continue; }
      seq.drafts = seq.drafts.slice(0, room - 1);
      const ids = [seq.pending!, ...seq.drafts];
      plan.push({ seq, ids, logits: seq.drafts.length ? 'all' : 'last', prompt: false });
      room -= ids.length;
    }
    for (const seq of this.active) {
      const left = seq.promptLeft;
      if (left === 0 || room === 0) continue;
      const n = Math.min(left, room, seq.session.prefillChunk), from = seq.session.pos;
      plan.push({ seq, ids: seq.promptIds.slice(from, from + n), logits: n === left ? 'last' : 'none', prompt: true });
      room -= n;
    }
    const outs = batch.forward(plan.map((p) => ({ session: p.seq.session, ids: p.ids, logits: p.logits })));
    this.stats.steps++;
    this.stats.rows += batch.maxTokens - room;
    plan.forEach((p, i) => {
      const seq = p.seq, before = seq.ids.length;
      try { // a failure here (NaN logits, a throwing onToken) ends this request alone
        if (!p.prompt) seq.decoded(outs[i]);
        else if (p.logits === 'last') {
          this.stats.promptTokens += seq.promptIds.length - seq.cachedTokens;
          seq.prompted(outs[i]);
          // The prompt's keys and values, for the next request that starts the same way.
          if (!seq.finished) this.opts.prefixCache?.store(seq.session);
        }
      } catch (e) {
        seq.fail(e);
      }
      this.stats.generatedTokens += seq.ids.length - before;
    });
  }

  /** This step's drafts for every decoding sequence that speculates: prompt lookup, or its draft model (batched per model). */
  private draft(): void {
    const byModel = new Map<TextModel, { seq: Sequence; req: DraftRequest }[]>();
    for (const seq of this.active) {
      const k = seq.decoding ? seq.draftRoom() : 0;
      if (k === 0) continue;
      const context = [...seq.session.history, seq.pending!];
      const draft = seq.opts.draft;
      if (!draft) { seq.drafts = lookupDraft(context, k); continue; }
      seq.draftSession ??= draft.session({ contextLength: seq.session.contextLength });
      const list = byModel.get(draft) ?? [];
      list.push({ seq, req: { session: seq.draftSession, context, k, sampler: seq.draftSampler!, q: seq.q } });
      byModel.set(draft, list);
    }
    for (const [draft, list] of byModel) {
      try { // a draft model that fails ends the requests that use it
        let batch = this.draftBatches.get(draft);
        if (!batch) this.draftBatches.set(draft, (batch = draft.batch({ maxTokens: this.batchTokens })));
        const drafts = draftTokens(batch, list.map((x) => x.req), this.model.spec.vocabSize);
        list.forEach((x, i) => { x.seq.drafts = drafts[i]; });
      } catch (e) {
        for (const x of list) x.seq.fail(e);
      }
    }
  }

  /** Drop finished sequences: their caches go to the prefix cache, their sessions back to the model. */
  private retire(): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const seq = this.active[i];
      if (!seq.finished) continue;
      this.active.splice(i, 1);
      release(seq, this.opts.prefixCache);
    }
  }

  /** Run steps until nothing is left, yielding to the event loop between them. */
  private wake(): void {
    if (this.looping) return;
    this.looping = true;
    void (async () => {
      try {
        do await tick(); while (this.step());
      } finally {
        this.looping = false;
      }
    })();
  }
}

function release(seq: Sequence, cache: PrefixCache | undefined): void {
  if (!seq.error && seq.session.pos > 0) cache?.store(seq.session);
  seq.draftSession?.dispose();
  if (seq.ownsSession) seq.session.dispose();
}

/** A macrotask turn: setImmediate in Node, a MessageChannel message in browsers (no 4 ms clamp). */
export function tick(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { ch.port1.close(); r(); };
    ch.port2.postMessage(0);
  });
}

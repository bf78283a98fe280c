// Many sequences in one forward: each entry is a session (its own KV cache, at its own position) and the
// ids to feed it. Their rows go through the model side by side in one activation block, so every matmul
// is one GEMM over all of them (vLLM's continuous batching, llama.cpp's llama_batch with seq ids), and
// the wanted rows' logits come from one more GEMM against the classifier.
import { OptionError } from '../errors.js';
import { optionKeys } from '../options.js';
import { forward, logitsRows, type BatchState, type SeqRows } from '../families/decoder.js';
import type { Ops, QuantScratch } from './ops.js';
import type { Session, SessionHost } from './session.js';

export const BATCH_OPTIONS = optionKeys<BatchOptions>()('maxTokens', 'maxLogitRows', 'threads');

export interface BatchOptions {
  /** Rows one forward holds, over all its sequences (activation memory grows with it); default 64. */
  maxTokens?: number;
  /** Rows whose logits one classifier GEMM computes (more are done in turns); default min(maxTokens, 16). */
  maxLogitRows?: number;
  /** Threads its forwards use, at most the model's; default all of them. */
  threads?: number;
}

export interface BatchEntry {
  session: Session;
  /** Fed after what the session holds; at most its prefillChunk. */
  ids: ArrayLike<number>;
  /** Which rows' logits are wanted: the last (default), every one, or none (a prefill chunk). */
  logits?: 'last' | 'all' | 'none';
  /** Where the logits go (rows × vocabSize); default a new array. */
  out?: Float32Array;
}

/** Rows of logits an entry asks for. */
const rowsOf = (e: BatchEntry) => (e.logits === 'all' ? e.ids.length : e.logits === 'none' ? 0 : 1);

/** A batch state and its q8/q4 scratch, as the decoder hands it out and takes it back. */
export interface BatchSlot { state: BatchState; scratch: QuantScratch }

/** What a batch runs on: a decoder (src/runtime/decoder.ts), which takes the state back at dispose. */
export interface BatchHost extends SessionHost {
  releaseBatch(slot: BatchSlot): void;
}

export class Batch {
  private slot: BatchSlot | undefined;

  constructor(readonly model: BatchHost, slot: BatchSlot, private readonly ops: Ops) {
    this.slot = slot;
  }

  /** Rows one forward holds. */
  get maxTokens(): number { return this.live().state.N; }

  /**
   * Feed every entry's ids to its session in one forward; returns each entry's logits (rows × vocabSize,
   * rows as `logits` asked: 1, ids.length or 0). Each session's history grows by its ids.
   */
  forward(entries: BatchEntry[]): Float32Array[] {
    const s = this.live().state, base = this.ops;
    const { spec, weights, arena, ropes } = this.model;
    const V = spec.vocabSize;
    const total = entries.reduce((n, e) => n + e.ids.length, 0);
    if (entries.length === 0 || total > s.N) throw new OptionError(`batch: ${total} rows in ${entries.length} sequences; one forward holds 1..${s.N}`);
    if (new Set(entries.map((e) => e.session)).size < entries.length) throw new OptionError('batch: a session appears twice in one forward');
    const seqs: SeqRows[] = entries.map((e) => {
      if (e.session.model !== this.model) throw new OptionError('batch: a session of another model');
      const n = rowsOf(e);
      if (e.out && e.out.length !== n * V) throw new OptionError(`batch: out has ${e.out.length} elements, expected ${n * V} (${n} rows of logits)`);
      return e.session.rows(e.ids);
    });
    // One sequence with a tracer (tide generate --trace) is traced as its own prefill would be.
    const tracer = entries.length === 1 ? entries[0].session.tracer : undefined;
    const ops = tracer?.wrap?.(base) ?? base, trace = tracer?.step;
    forward(ops, spec, weights, s, arena, ropes, seqs, trace);
    entries.forEach((e) => e.session.advance(e.ids));

    // The rows whose logits are wanted, as (entry, row of its output, row of the block).
    const outs: Float32Array[] = [], wanted: [number, number, number][] = [];
    let off = 0;
    entries.forEach((e, i) => {
      const T = e.ids.length, n = rowsOf(e);
      outs.push(e.out ?? new Float32Array(n * V));
      for (let r = 0; r < n; r++) wanted.push([i, r, off + T - n + r]);
      off += T;
    });
    for (let g = 0; g < wanted.length; g += s.R) {
      const group = wanted.slice(g, g + s.R);
      logitsRows(ops, spec, weights, s, arena, group.map(([, , row]) => row), trace);
      const block = arena.f32(s.logits.ptr, group.length * V);
      group.forEach(([i, r], j) => outs[i].set(block.subarray(j * V, (j + 1) * V), r * V));
    }
    return outs;
  }

  /** Return the activations to the model for a later batch. */
  dispose(): void {
    if (this.slot) this.model.releaseBatch(this.slot);
    this.slot = undefined;
  }

  private live(): BatchSlot {
    if (!this.slot) throw new OptionError('batch: used after dispose()');
    return this.slot;
  }
}

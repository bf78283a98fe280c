// A session: one conversation's KV cache and position over a loaded model's weights.
import { ContextOverflowError, OptionError, TokenizerError } from '../errors.js';
import { forward, logitsAt, type RunState, type TraceHook } from '../families/llama.js';
import type { Model } from '../model.js';
import type { Ops } from './ops.js';

export interface SessionOptions {
  /** Positions the KV cache holds; default min(max_position_embeddings, 4096). */
  contextLength?: number;
  /** Tokens per prefill forward (bounds scratch memory); default 64. */
  prefillChunk?: number;
  /** Threads this session's forwards use, at most the model's (LoadOptions.threads); default all of them. */
  threads?: number;
  /** KV cache element type: 'f16' halves its memory (keys and values rounded to f16); default 'f32'. */
  kvCache?: 'f32' | 'f16';
}

export const DEFAULT_CONTEXT = 4096;
export const DEFAULT_PREFILL_CHUNK = 64;

export class Session {
  private state: RunState | undefined;
  private position = 0;
  /** When set, every forward reports its named steps to `step` and runs on `wrap(ops)` (timed ops; src/inspect/trace.ts). */
  tracer?: { wrap?: (ops: Ops) => Ops; step: TraceHook };

  constructor(readonly model: Model, state: RunState, private readonly ops: Ops = model.ops) {
    this.state = state;
  }

  /** Tokens already in the KV cache. */
  get pos(): number { return this.position; }
  get contextLength(): number { return this.live().ctx; }

  /**
   * Feed `ids` after what the session has seen and return the logits for the last one
   * (vocabSize,), or with allLogits for every one of them (ids.length × vocabSize, row-major).
   * With `out` they are written there and `out` is returned: a decode loop reuses one array, where a
   * fresh one per token is garbage that V8 frees late (its bytes live outside the JS heap), raising peak RSS.
   */
  prefill(ids: ArrayLike<number>, { allLogits = false, out: into }: { allLogits?: boolean; out?: Float32Array } = {}): Float32Array {
    const s = this.live();
    const { spec, weights, arena, invFreq } = this.model;
    const ops = this.tracer?.wrap?.(this.ops) ?? this.ops, trace = this.tracer?.step;
    this.checkIds(ids);
    const V = spec.vocabSize, n = allLogits ? ids.length * V : V;
    if (into && into.length !== n) throw new OptionError(`prefill: out has ${into.length} elements, expected ${n} (the logits it returns)`);
    const out = into ?? new Float32Array(n);
    for (let c = 0; c < ids.length; c += s.C) {
      const chunk = Array.prototype.slice.call(ids, c, c + s.C) as number[];
      forward(ops, spec, weights, s, arena, invFreq, chunk, this.position, trace);
      this.position += chunk.length;
      const rows = allLogits ? chunk.map((_, t) => t) : c + s.C >= ids.length ? [chunk.length - 1] : [];
      for (const row of rows) {
        logitsAt(ops, weights, s, row, trace);
        out.set(arena.f32(s.logits.ptr, V), allLogits ? (c + row) * V : 0);
      }
    }
    return out;
  }

  /** Feed one token; returns its logits (vocabSize,), in `out` when given. */
  step(id: number, out?: Float32Array): Float32Array {
    return this.prefill([id], { out });
  }

  /** Forget the conversation: position 0, cache reused. */
  reset(): void { this.position = 0; }

  /** Return the KV cache to the model for reuse by a later session. */
  dispose(): void {
    if (this.state) this.model.releaseState(this.state);
    this.state = undefined;
  }

  private live(): RunState {
    if (!this.state) throw new OptionError('session: used after dispose()');
    return this.state;
  }

  private checkIds(ids: ArrayLike<number>): void {
    if (ids.length === 0) throw new OptionError('prefill: no token ids given');
    const V = this.model.spec.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new TokenizerError(`token id ${id} at index ${i} is outside the vocabulary (0..${V - 1})`);
      }
    }
    const ctx = this.live().ctx;
    if (this.position + ids.length > ctx) {
      throw new ContextOverflowError(`context: ${this.position} tokens in the cache + ${ids.length} new > context length ${ctx}`);
    }
  }
}

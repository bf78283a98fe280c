// A session: one conversation's KV cache, the token ids it holds, and its scratch, over a decoder's weights.
import { ContextOverflowError, OptionError, TokenizerError } from '../errors.js';
import { forward, logitsAt, type DecoderSpec, type DecoderWeights, type RunState, type TraceHook } from '../families/decoder.js';
import type { RopeTable } from '../families/rope.js';
import type { Arena } from './arena.js';
import type { Ops, QuantScratch } from './ops.js';
import { optionKeys } from '../options.js';

/** A session's state: activations and KV cache, and its q8/q4 scratch. */
export interface SessionState { run: RunState; scratch: QuantScratch }

/** What a session runs on: a decoder's weights (src/runtime/decoder.ts), which takes the state back at dispose. */
export interface SessionHost {
  readonly spec: DecoderSpec;
  readonly weights: DecoderWeights;
  readonly arena: Arena;
  readonly ropes: RopeTable[];
  releaseState(s: SessionState): void;
}

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

export const SESSION_OPTIONS = optionKeys<SessionOptions>()('contextLength', 'prefillChunk', 'threads', 'kvCache');

export class Session {
  private state: SessionState | undefined;
  /** The ids whose keys and values the cache holds, in order. */
  private readonly ids: number[] = [];
  /** When set, every forward reports its named steps to `step` and runs on `wrap(ops)` (timed ops; src/inspect/trace.ts). */
  tracer?: { wrap?: (ops: Ops) => Ops; step: TraceHook };

  constructor(readonly model: SessionHost, state: SessionState, private readonly ops: Ops) {
    this.state = state;
  }

  /** Tokens already in the KV cache. */
  get pos(): number { return this.ids.length; }
  get contextLength(): number { return this.live().ctx; }
  /** The ids the cache holds (a copy). */
  get history(): number[] { return [...this.ids]; }

  /**
   * Feed `ids` after what the session has seen and return the logits for the last one
   * (vocabSize,), or with allLogits for every one of them (ids.length × vocabSize, row-major).
   * With `out` they are written there and `out` is returned: a decode loop reuses one array, where a
   * fresh one per token is garbage that V8 frees late (its bytes live outside the JS heap), raising peak RSS.
   */
  prefill(ids: ArrayLike<number>, { allLogits = false, out: into }: { allLogits?: boolean; out?: Float32Array } = {}): Float32Array {
    const s = this.live();
    const { spec, weights, arena, ropes } = this.model;
    const ops = this.tracer?.wrap?.(this.ops) ?? this.ops, trace = this.tracer?.step;
    this.checkIds(ids);
    const V = spec.vocabSize, n = allLogits ? ids.length * V : V;
    if (into && into.length !== n) throw new OptionError(`prefill: out has ${into.length} elements, expected ${n} (the logits it returns)`);
    const out = into ?? new Float32Array(n);
    for (let c = 0; c < ids.length; c += s.C) {
      const chunk = Array.prototype.slice.call(ids, c, c + s.C) as number[];
      forward(ops, spec, weights, s, arena, ropes, chunk, this.pos, trace);
      this.ids.push(...chunk);
      const rows = allLogits ? chunk.map((_, t) => t) : c + s.C >= ids.length ? [chunk.length - 1] : [];
      for (const row of rows) {
        logitsAt(ops, spec, weights, s, row, trace);
        out.set(arena.f32(s.logits.ptr, V), allLogits ? (c + row) * V : 0);
      }
    }
    return out;
  }

  /**
   * The final norm and LM head on T ≤ prefillChunk rows of a residual stream (T, dim), as if they were the
   * last layer's output: the logit lens (src/inspect/inspect.ts), with this session's kernels and scratch.
   * Leaves the cache as it was.
   */
  project(residual: Float32Array, T: number): Float32Array {
    const s = this.live(), { spec, weights, arena } = this.model, V = spec.vocabSize;
    if (!Number.isInteger(T) || T < 1 || T > s.C || residual.length !== T * spec.dim) {
      throw new OptionError(`project: ${residual.length} values as ${T} rows of ${spec.dim}; T must be in 1..${s.C} (prefillChunk)`);
    }
    arena.f32(s.x.ptr, T * spec.dim).set(residual);
    this.ops.rmsnorm(s.x, s.x, weights.finalNorm, T, spec.normEps);
    const out = new Float32Array(T * V);
    for (let row = 0; row < T; row++) {
      logitsAt(this.ops, spec, weights, s, row);
      out.set(arena.f32(s.logits.ptr, V), row * V);
    }
    return out;
  }

  /** Feed one token; returns its logits (vocabSize,), in `out` when given. */
  step(id: number, out?: Float32Array): Float32Array {
    return this.prefill([id], { out });
  }

  /**
   * Make the cache hold the longest prefix of `ids` it can keep, leaving at least one id to feed (whose
   * logits the caller needs), and return its length: a chat's earlier turns are not computed again. A
   * windowed layer's ring has forgotten old rows, so there only a short rewind is possible.
   */
  keepPrefix(ids: ArrayLike<number>): number {
    let n = 0;
    while (n < this.ids.length && n < ids.length - 1 && this.ids[n] === ids[n]) n++;
    const rings = this.model.spec.layers.some((k) => k.window > 0);
    if (rings && this.ids.length - n > this.live().C - 1) n = 0;
    this.ids.length = n;
    return n;
  }

  /**
   * Forget the ids after the first `n` (0: the whole conversation); the cache's memory is kept. A
   * windowed layer's ring keeps prefillChunk − 1 rows beyond its window, so it can go back that far.
   */
  rewind(n = 0): void {
    const rings = n > 0 && this.model.spec.layers.some((k) => k.window > 0), slack = this.live().C - 1;
    if (!Number.isInteger(n) || n < 0 || n > this.ids.length || (rings && this.ids.length - n > slack)) {
      throw new OptionError(`rewind: ${n} must be an integer in 0..${this.ids.length}${rings ? ` and at most ${slack} back (sliding-window layers)` : ''}`);
    }
    this.ids.length = n;
  }

  /** Forget the conversation: position 0, cache reused. */
  reset(): void { this.rewind(0); }

  /** Return the KV cache to the model for reuse by a later session. */
  dispose(): void {
    if (this.state) this.model.releaseState(this.state);
    this.state = undefined;
  }

  private live(): RunState {
    if (!this.state) throw new OptionError('session: used after dispose()');
    return this.state.run;
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
    if (this.pos + ids.length > ctx) {
      throw new ContextOverflowError(`context: ${this.pos} tokens in the cache + ${ids.length} new > context length ${ctx}`);
    }
  }
}

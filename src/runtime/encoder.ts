// A loaded model run as an encoder: packed sequences in, last hidden states out. BERT-family models run
// their own graph; decoder families (Qwen3-Embedding, EmbeddingGemma) run the decoder's encode pass.
import { checkPlan, type Arena, type RegionPlan, type Tensor } from './arena.js';
import { allocEncoderState, bindBert, forward as bertForward, planEncoderState, type BertSpec } from '../families/bert.js';
import { allocEncodeState, decoderWeights, encode, planEncodeState, type DecoderSpec } from '../families/decoder.js';
import { RopeTable } from '../families/rope.js';
import type { Loaded, ModelInfo } from './load.js';
import { allocMatmulScratch, matmulScratchPlan, Ops } from './ops.js';
import type { ThreadPool } from './threads.js';
import { OptionError } from '../errors.js';

/** The size facts an embedder reads of any encoder spec. */
export type EncoderSpec = Pick<BertSpec | DecoderSpec, 'modelType' | 'dim' | 'vocabSize' | 'seqLen' | 'nLayers'>;

export class Encoder {
  readonly spec: EncoderSpec;
  readonly arena: Arena;
  readonly info: ModelInfo;
  readonly pool?: ThreadPool;
  readonly ops: Ops;
  /** Runs one packed batch: hidden states in the returned tensor, sequence i at rows [offsets[i], offsets[i+1]). */
  private disposed = false;
  private readonly pass: (N: number, S: number, L: number, seqs: number[][]) => { h: Tensor; offsets: number[] };

  constructor(loaded: Loaded) {
    this.arena = loaded.arena;
    this.info = loaded.info;
    this.pool = loaded.pool;
    this.ops = new Ops(loaded.arena.kernels, loaded.pool);
    const get = (e: Parameters<typeof bindBert>[1][number]) => loaded.tensors.get(e)!;
    const threads = this.threads, arena = this.arena, matrices = [...loaded.tensors.values()];
    /** Check a pass's state regions and the matmul scratch for N rows against the budget, then give the ops that scratch. */
    const prepare = (N: number, state: RegionPlan[]) => {
      const scratch = matmulScratchPlan(matrices, N, threads);
      checkPlan([...state, ...scratch], arena.budgetBytes, arena.usedBytes);
      Object.assign(this.ops, allocMatmulScratch(arena, scratch, threads));
    };
    if (loaded.family.kind === 'encoder') {
      const spec = loaded.spec as BertSpec, w = bindBert(spec, loaded.table, get);
      this.spec = spec;
      this.pass = (N, S, L, seqs) => {
        prepare(N, planEncoderState(spec, N, S, L, threads));
        const s = allocEncoderState(arena, spec, N, S, L, threads);
        return { h: s.x, offsets: bertForward(this.ops, spec, w, s, arena, seqs) };
      };
    } else {
      const spec = loaded.spec as DecoderSpec, w = decoderWeights(spec, loaded.table, get, arena);
      const ropes = spec.ropes.map((r) => new RopeTable(r));
      this.spec = spec;
      this.pass = (N, S, L, seqs) => {
        prepare(N, planEncodeState(spec, N, S, L, threads));
        const s = allocEncodeState(arena, spec, N, S, L, threads);
        return { h: s.x, offsets: encode(this.ops, spec, w, s, arena, ropes, seqs) };
      };
    }
  }

  get threads(): number { return this.pool?.threads ?? 1; }

  /**
   * Encode batches of sequences; `each(h, offsets, batch)` reads one batch's hidden states before the
   * next overwrites them. Scratch is sized once for the largest batch and released at the end.
   */
  run(batches: number[][][], each: (h: Float32Array, offsets: number[], b: number) => void): void {
    if (this.disposed) throw new OptionError(`${this.info.source}: embedder used after dispose()`);
    const mark = this.arena.mark();
    try {
      // reduce, not Math.max(...): a corpus of 10⁵ inputs would overflow the argument stack.
      const N = batches.reduce((m, b) => Math.max(m, b.reduce((n, x) => n + x.length, 0)), 1);
      const S = batches.reduce((m, b) => Math.max(m, b.length), 1);
      const L = batches.reduce((m, b) => b.reduce((l, x) => Math.max(l, x.length), m), 1);
      let state: ReturnType<typeof this.pass> | undefined;
      batches.forEach((seqs, b) => {
        state = this.pass(N, S, L, seqs);
        each(this.arena.f32(state.h.ptr, state.offsets[seqs.length] * this.spec.dim), state.offsets, b);
        this.arena.release(mark);
      });
    } finally {
      this.arena.release(mark);
    }
  }

  /** Stop the worker threads; using the encoder afterwards is an OptionError. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.pool?.close();
  }
}

// A loaded decoder: its weights in the arena, the RoPE tables, the thread pool, and the sessions that
// run it. Knows no family by name and nothing of text: src/model.ts adds the tokenizer and generation.
import { checkPlan, type Arena, type Tensor } from './arena.js';
import { ConfigError, OptionError } from '../errors.js';
import { allocBatchState, allocRunState, decoderWeights, planBatchState, planRunState, type DecoderSpec, type DecoderWeights,
  type KvDtype } from '../families/decoder.js';
import { Batch, BATCH_OPTIONS, type BatchHost, type BatchOptions, type BatchSlot } from './batch.js';
import { RopeTable } from '../families/rope.js';
import type { Loaded, ModelInfo } from './load.js';
import { allocMatmulScratch, matmulScratchPlan, MIN_PARALLEL_WORK, Ops, type QuantScratch } from './ops.js';
import { checkOptions } from '../options.js';
import { Session, SESSION_OPTIONS, type SessionOptions, type SessionState } from './session.js';
import type { ThreadPool } from './threads.js';

export const DEFAULT_CONTEXT = 4096;
export const DEFAULT_PREFILL_CHUNK = 64;

export class Decoder implements BatchHost {
  readonly spec: DecoderSpec;
  readonly arena: Arena;
  readonly weights: DecoderWeights;
  readonly ropes: RopeTable[];
  readonly info: ModelInfo;
  readonly pool?: ThreadPool;
  /**
   * Jobs under this many multiply-adds run on the calling thread alone: waking the workers costs
   * microseconds, more than such a job (stories260K decodes 2× slower when every op is split).
   * Read by each new session.
   */
  minParallelWork = MIN_PARALLEL_WORK;
  private readonly spare: SessionState[] = [];
  private readonly spareBatches: BatchSlot[] = [];
  private disposed = false;
  /** Every loaded tensor: what sizes the sessions' and batches' matmul scratch. */
  private readonly matrices: Tensor[];

  constructor(loaded: Loaded) {
    this.spec = loaded.spec as DecoderSpec;
    this.arena = loaded.arena;
    this.info = loaded.info;
    this.pool = loaded.pool;
    this.weights = decoderWeights(this.spec, loaded.table, (e) => loaded.tensors.get(e)!, this.arena);
    this.matrices = [...loaded.tensors.values()];
    if (!this.weights.classifier) {
      throw new ConfigError(`${loaded.info.source}: a base model with untied embeddings and no lm_head.weight; it cannot predict tokens (loadEmbedder runs it as an encoder)`);
    }
    this.ropes = this.spec.ropes.map((r) => new RopeTable(r));
  }

  /** Threads the model's pool has (1: no pool). */
  get threads(): number { return this.pool?.threads ?? 1; }

  /** A new conversation with its own KV cache (reused from disposed sessions when the sizes match). */
  session(opts: SessionOptions = {}): Session {
    if (this.disposed) throw new OptionError(`${this.info.source}: model used after dispose()`);
    checkOptions(opts, SESSION_OPTIONS, 'session options');
    const ctx = opts.contextLength ?? Math.min(this.spec.seqLen, DEFAULT_CONTEXT);
    const C = opts.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
    if (!Number.isInteger(ctx) || ctx < 1 || ctx > this.spec.seqLen) {
      throw new OptionError(`contextLength ${ctx} must be an integer in 1..${this.spec.seqLen} (max_position_embeddings)`);
    }
    if (!Number.isInteger(C) || C < 1) throw new OptionError(`prefillChunk ${C} must be a positive integer`);
    const threads = this.checkThreads(opts.threads, 'session');
    const kv = opts.kvCache ?? 'f32';
    if (kv !== 'f32' && kv !== 'f16') throw new OptionError(`kvCache "${kv}" must be 'f32' or 'f16'`);
    const i = this.spare.findIndex((s) => s.run.ctx === ctx && s.run.C === C && s.run.kv === kv);
    const state = i >= 0 ? this.spare.splice(i, 1)[0] : this.allocState(C, ctx, kv);
    return new Session(this, state, this.ops(threads, state.scratch));
  }

  /**
   * Activations for forwards over many sessions at once (src/runtime/batch.ts): up to maxTokens rows
   * in all, each session's at its own position in its own cache. Reused from disposed batches of the same sizes.
   */
  batch(opts: BatchOptions = {}): Batch {
    if (this.disposed) throw new OptionError(`${this.info.source}: model used after dispose()`);
    checkOptions(opts, BATCH_OPTIONS, 'batch options');
    const N = opts.maxTokens ?? DEFAULT_PREFILL_CHUNK, R = opts.maxLogitRows ?? Math.min(N, 16);
    if (!Number.isInteger(N) || N < 1) throw new OptionError(`batch maxTokens ${N} must be a positive integer`);
    if (!Number.isInteger(R) || R < 1) throw new OptionError(`batch maxLogitRows ${R} must be a positive integer`);
    const threads = this.checkThreads(opts.threads, 'batch');
    const i = this.spareBatches.findIndex((b) => b.state.N === N && b.state.R === R);
    let slot = i >= 0 ? this.spareBatches.splice(i, 1)[0] : undefined;
    if (!slot) {
      const scratch = this.scratchPlan(N);
      checkPlan([...planBatchState(this.spec, N, R), ...scratch], this.arena.budgetBytes, this.arena.usedBytes);
      slot = { state: allocBatchState(this.arena, this.spec, N, R), scratch: this.allocScratch(scratch) };
    }
    return new Batch(this, slot, this.ops(threads, slot.scratch));
  }

  /** Called by Batch.dispose(): kept for a later batch of the same sizes. */
  releaseBatch(b: BatchSlot): void { this.spareBatches.push(b); }

  private checkThreads(threads = this.threads, what: string): number {
    if (!Number.isInteger(threads) || threads < 1 || threads > this.threads) {
      throw new OptionError(`${what} threads ${threads} must be an integer in 1..${this.threads} (the model's threads)`);
    }
    return threads;
  }

  private ops(threads: number, scratch: QuantScratch): Ops {
    const ops = new Ops(this.arena.kernels, this.pool, threads, scratch);
    ops.minParallelWork = this.minParallelWork;
    return ops;
  }

  private allocState(C: number, ctx: number, kv: KvDtype): SessionState {
    const scratch = this.scratchPlan(C);
    checkPlan([...planRunState(this.spec, C, ctx, this.threads, kv), ...scratch], this.arena.budgetBytes, this.arena.usedBytes);
    const run = allocRunState(this.arena, this.spec, C, ctx, this.threads, kv);
    return { run, scratch: this.allocScratch(scratch) };
  }

  private allocScratch(plan: ReturnType<typeof matmulScratchPlan>): QuantScratch {
    return allocMatmulScratch(this.arena, plan, this.threads);
  }

  /** q8/q4 and f16 weights need matmul scratch for C tokens (matmulScratchPlan). */
  private scratchPlan(C: number): ReturnType<typeof matmulScratchPlan> {
    return matmulScratchPlan(this.matrices, C, this.threads);
  }

  /** Called by Session.dispose(): the state is kept for a later session of the same sizes. */
  releaseState(s: SessionState): void { this.spare.push(s); }

  /** Stop the worker threads; using the model afterwards is an OptionError. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.pool?.close();
  }

  /** `await using model = await loadModel(...)` disposes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> { await this.dispose(); }
}

// A loaded decoder: its weights in the arena, the RoPE tables, the thread pool, and the sessions that
// run it. Knows no family by name and nothing of text: src/model.ts adds the tokenizer and generation.
import { checkPlan, type Arena, type RegionPlan, type Tensor } from './arena.js';
import { ConfigError, OptionError } from '../errors.js';
import { allocRunState, decoderWeights, planRunState, type DecoderSpec, type DecoderWeights, type KvDtype } from '../families/decoder.js';
import { RopeTable } from '../families/rope.js';
import type { Loaded, ModelInfo } from './load.js';
import { actQuantBytes, MIN_PARALLEL_WORK, Ops, qgemmScratchBytes } from './ops.js';
import { checkOptions } from '../options.js';
import { Session, SESSION_OPTIONS, type SessionHost, type SessionOptions, type SessionState } from './session.js';
import type { ThreadPool } from './threads.js';

export const DEFAULT_CONTEXT = 4096;
export const DEFAULT_PREFILL_CHUNK = 64;

export class Decoder implements SessionHost {
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
  private disposed = false;

  constructor(loaded: Loaded) {
    this.spec = loaded.spec as DecoderSpec;
    this.arena = loaded.arena;
    this.info = loaded.info;
    this.pool = loaded.pool;
    this.weights = decoderWeights(this.spec, loaded.table, (e) => loaded.tensors.get(e)!, this.arena);
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
    const threads = opts.threads ?? this.threads;
    if (!Number.isInteger(threads) || threads < 1 || threads > this.threads) {
      throw new OptionError(`session threads ${threads} must be an integer in 1..${this.threads} (the model's threads)`);
    }
    const kv = opts.kvCache ?? 'f32';
    if (kv !== 'f32' && kv !== 'f16') throw new OptionError(`kvCache "${kv}" must be 'f32' or 'f16'`);
    const i = this.spare.findIndex((s) => s.run.ctx === ctx && s.run.C === C && s.run.kv === kv);
    const state = i >= 0 ? this.spare.splice(i, 1)[0] : this.allocState(C, ctx, kv);
    const ops = new Ops(this.arena.kernels, this.pool, threads, state.scratch);
    ops.minParallelWork = this.minParallelWork;
    return new Session(this, state, ops);
  }

  private allocState(C: number, ctx: number, kv: KvDtype): SessionState {
    const scratch = this.scratchPlan(C);
    checkPlan([...planRunState(this.spec, C, ctx, this.threads, kv), ...scratch], this.arena.budgetBytes, this.arena.usedBytes);
    const run = allocRunState(this.arena, this.spec, C, ctx, this.threads, kv);
    const t = (p: RegionPlan | undefined, cols: number): Tensor | undefined =>
      p && { name: p.name, ptr: this.arena.alloc(p.name, p.bytes), shape: cols > 1 ? [this.threads, p.bytes / this.threads] : [p.bytes] };
    return { run, scratch: { wdata: t(scratch[0], 1), qpanel: t(scratch[1], this.threads) } };
  }

  /** q8/q4 weights need activation scratch for C tokens of the widest input and qgemm's panel per thread. */
  private scratchPlan(C: number): RegionPlan[] {
    const dt = this.weights.layers[0]?.wq.dtype;
    if (dt !== 'q8' && dt !== 'q4') return [];
    const n = Math.max(this.spec.dim, this.spec.qDim, this.spec.hiddenDim);
    return [{ name: 'wdata', bytes: actQuantBytes(C, n) }, { name: 'qpanel', bytes: this.threads * qgemmScratchBytes(n) }];
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

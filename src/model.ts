// Loading: config.json → spec → memory plan → checkpoint tensors into the arena → Model.
// Knows file names and dtypes; the graph itself lives in src/models/.
import { Arena, checkPlan, WASM32_MAX_BYTES, type Tensor } from './arena.js';
import { ConfigError, DtypeError, OptionError, SafetensorsError, ShapeError } from './errors.js';
import { allocRunState, bindWeights, planRunState, weightTable, type LlamaWeights, type RunState } from './models/llama.js';
import { actQuantBytes, Ops, qgemmScratchBytes } from './ops.js';
import { ropeFrequencies } from './rope.js';
import { openCheckpoint, readTensor, type Checkpoint, type TensorInfo } from './safetensors.js';
import { DEFAULT_CONTEXT, DEFAULT_PREFILL_CHUNK, Session, type SessionOptions } from './session.js';
import type { ModelFiles } from './sources.js';
import { defaultSpawner, resolveThreads, ThreadPool } from './threads.js';
import { specFromConfig, tokenIds, type ModelSpec } from './spec.js';
import { TextTokenizer } from './tokenizer.js';
import { generate, type GenerateOptions, type GenerateResult, type Generation, type Prompt } from './generate.js';
import { chatCompletion, type ChatChunk, type ChatCompletion, type ChatRequest } from './openai.js';
import { kernelModule, type SimdFlavor, type WasmInput } from './wasm.js';
import { checkQuantize, decoderStorage, loadRows, stagingBytes, tensorBytes, type Quantize, type Storage } from './weights.js';

export interface LoadOptions {
  /** Kernel module: 'relaxed' where the engine supports it, else 'baseline' (env TIDE_SIMD overrides). */
  simd?: SimdFlavor;
  /** The kernel wasm as a compiled module, bytes or URL (edge runtimes cannot compile from bytes). */
  wasm?: WasmInput;
  /** Most bytes of wasm memory the model may use (weights + KV caches + scratch); default 4 GiB. */
  memoryBudgetBytes?: number;
  /**
   * Threads the matmuls and attention are split across (a worker pool over one shared memory);
   * default env TIDE_THREADS, else the cores, 1 where SharedArrayBuffer is missing.
   */
  threads?: number;
  /**
   * Weight-only quantization made at load, tensor by tensor: 'q8' (blocks of 32 int8 with an f32 scale,
   * like ggml Q8_0), 'q4' (like Q4_0; embedding/lm_head stay q8) or 'none' (default: 16-bit checkpoints
   * stay 16-bit, f32 stays f32).
   */
  quantize?: Quantize;
  /** Called as tensor bytes arrive. */
  onProgress?: (p: { loadedBytes: number; totalBytes: number }) => void;
}

/** What `tide info` prints. */
export interface ModelInfo {
  source: string;
  modelType: string;
  parameters: number;
  dtypes: Record<string, number>;  // checkpoint dtype → tensor count
  weightBytes: number;             // in memory, as stored (packed, 16-bit or quantized)
  quantize: Quantize;
  kvBytesPerToken: number;
  simd: SimdFlavor;
  threads: number;
}

const LOADABLE_DTYPES = ['F32', 'F16', 'BF16'];

/** What the tensor loader names in errors; decoder and encoder specs both have it. */
type TensorOwner = Pick<ModelSpec, 'modelType' | 'nLayers'>;

export class Model {
  readonly ops: Ops;
  readonly invFreq: Float64Array;
  private readonly spare: RunState[] = [];

  constructor(readonly spec: ModelSpec, readonly arena: Arena, readonly weights: LlamaWeights,
              readonly tokenizer: TextTokenizer | undefined, readonly generationConfig: Record<string, unknown>,
              readonly eosTokenIds: number[], readonly info: ModelInfo, readonly pool?: ThreadPool) {
    this.ops = new Ops(arena.kernels, pool);
    this.invFreq = ropeFrequencies(spec);
  }

  /** A new conversation with its own KV cache (reused from disposed sessions when the sizes match). */
  session(opts: SessionOptions = {}): Session {
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
    const ops = threads === this.threads ? this.ops : new Ops(this.arena.kernels, this.pool, threads);
    ops.minParallelWork = this.ops.minParallelWork;
    ops.wdata = this.ops.wdata = this.activationScratch(C);
    ops.qpanel = this.ops.qpanel = this.panelScratch();
    const i = this.spare.findIndex((s) => s.ctx === ctx && s.C === C && s.kv === kv);
    if (i >= 0) return new Session(this, this.spare.splice(i, 1)[0], ops);
    checkPlan(planRunState(this.spec, C, ctx, this.threads, kv), this.arena.budgetBytes, this.arena.usedBytes);
    return new Session(this, allocRunState(this.arena, this.spec, C, ctx, this.threads, kv), ops);
  }

  /** The q8/q4 matmuls' activation scratch, grown (never shrunk) to fit C tokens of the widest input. */
  private activationScratch(C: number): Tensor | undefined {
    const quantized = this.weights.layers.some((L) => L.wq.dtype === 'q8' || L.wq.dtype === 'q4');
    if (!quantized) return this.ops.wdata;
    const { dim, qDim, hiddenDim } = this.spec;
    const bytes = actQuantBytes(C, Math.max(dim, qDim, hiddenDim));
    if (this.ops.wdata && this.ops.wdata.shape[0] >= bytes) return this.ops.wdata;
    checkPlan([{ name: 'wdata', bytes }], this.arena.budgetBytes, this.arena.usedBytes);
    return { name: 'wdata', ptr: this.arena.alloc('wdata', bytes), shape: [bytes] };
  }

  /** qgemm's panel scratch for q8/q4 prefill, one widest-row panel per thread of the pool; made once. */
  private panelScratch(): Tensor | undefined {
    const quantized = this.weights.layers.some((L) => L.wq.dtype === 'q8' || L.wq.dtype === 'q4');
    if (!quantized || this.ops.qpanel) return this.ops.qpanel;
    const { dim, qDim, hiddenDim } = this.spec;
    const perThread = qgemmScratchBytes(Math.max(dim, qDim, hiddenDim)), bytes = this.threads * perThread;
    checkPlan([{ name: 'qpanel', bytes }], this.arena.budgetBytes, this.arena.usedBytes);
    return { name: 'qpanel', ptr: this.arena.alloc('qpanel', bytes), shape: [this.threads, perThread] };
  }

  /** Threads the model's pool has (1: no pool). */
  get threads(): number { return this.pool?.threads ?? 1; }

  /** Stop the worker threads; the model must not be used afterwards. */
  async dispose(): Promise<void> { await this.pool?.close(); }

  /** Called by Session.dispose(). */
  releaseState(s: RunState): void { this.spare.push(s); }

  /**
   * Generate from text, chat messages or ids; iterate for text pieces, await `.result` for the rest.
   * @example for await (const piece of model.generate([{ role: 'user', content: 'Hi' }], { maxTokens: 64 })) process.stdout.write(piece);
   */
  generate(prompt: Prompt, opts?: GenerateOptions): Generation { return generate(this, prompt, opts); }

  /** Generate to the end and return the result (ids, text, reasoning/answer, finish reason, timings). */
  complete(prompt: Prompt, opts?: GenerateOptions): Promise<GenerateResult> { return generate(this, prompt, opts).result; }

  /** OpenAI-style chat completion: `{ messages, temperature, top_p, max_tokens, stream, ... }`. */
  chat(request: ChatRequest & { stream: true }): AsyncIterable<ChatChunk>;
  chat(request: ChatRequest): Promise<ChatCompletion>;
  chat(request: ChatRequest): Promise<ChatCompletion> | AsyncIterable<ChatChunk> { return chatCompletion(this, request); }
}

/** Load a model from its files (config.json, safetensors, tokenizer.json ...). */
export async function loadModelFrom(files: ModelFiles, opts: LoadOptions = {}): Promise<Model> {
  const configText = await files.text('config.json');
  if (configText === undefined) throw new ConfigError(`${files.label}: no config.json`);
  const config = parseJson(configText, `${files.label}/config.json`);
  const spec = specFromConfig(config, `${files.label}/config.json`);
  const genText = await files.text('generation_config.json');
  const generationConfig = genText ? parseJson(genText, `${files.label}/generation_config.json`) : {};
  const eos = tokenIds(generationConfig.eos_token_id, 'generation_config.json', 'eos_token_id');

  const table = weightTable(spec);
  const quantize = checkQuantize(opts.quantize);
  const budget = Math.min(opts.memoryBudgetBytes ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);

  const threads = await resolveThreads(opts.threads);
  const ckpt = await openCheckpoint(files);
  try {
    // Planned from the header (file dtypes decide the layouts) before any tensor is read.
    const storage = decoderStorage(quantize);
    const weightBytes = table.reduce((sum, t) => sum + tensorBytes(storage(t.hf, t.shape, checkTensor(ckpt, t.hf, t.shape, spec).dtype), t.shape), 0);
    const staging = stagingBytes(table.map((t) => t.shape));
    checkPlan([{ name: 'weights', bytes: weightBytes }, { name: 'staging', bytes: staging }, ...planRunState(spec, 1, 1)], budget);
    const km = await kernelModule({ ...opts, shared: threads > 1 });
    const arena = new Arena(km, budget, weightBytes + staging);
    const tensors = await loadTensors(arena, spec, ckpt, table, opts.onProgress, storage);
    const dtypes: Record<string, number> = {};
    for (const t of ckpt.tensors.values()) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    const info: ModelInfo = {
      source: files.label, modelType: spec.modelType, dtypes, weightBytes, quantize, simd: arena.flavor, threads,
      parameters: table.reduce((sum, t) => sum + numel(t.shape), 0),
      kvBytesPerToken: 2 * spec.nLayers * spec.kvDim * 4,
    };
    const tokenizer = await TextTokenizer.read(files);
    const weights = bindWeights(spec, (hf) => tensors.get(hf)!);
    const pool = threads > 1 ? await ThreadPool.start(threads, km.module, arena.memory, arena.kernels, await defaultSpawner()) : undefined;
    return new Model(spec, arena, weights, tokenizer, generationConfig, eos.length ? eos : spec.eosTokenIds, info, pool);
  } finally {
    await ckpt.close();
  }
}

export async function loadTensors(arena: Arena, spec: TensorOwner, ckpt: Checkpoint, table: { hf: string; shape: number[] }[],
                           onProgress: LoadOptions['onProgress'], storage: Storage = () => 'f32'): Promise<Map<string, Tensor>> {
  const infos = table.map(({ hf, shape }) => checkTensor(ckpt, hf, shape, spec));
  const totalBytes = infos.reduce((s, t) => s + t.bytes, 0);
  let loadedBytes = 0;
  const out = new Map<string, Tensor>();
  for (const [i, info] of infos.entries()) {
    const shape = table[i].shape;
    const n = numel(shape);
    const dtype = storage(info.name, shape, info.dtype);
    if (dtype !== 'f32') {
      const ptr = arena.alloc(info.name, tensorBytes(dtype, shape));
      await loadRows(arena, info, ptr, dtype, shape[0], shape[1]);
      out.set(info.name, { name: info.name, ptr, shape, dtype });
      loadedBytes += info.bytes;
      onProgress?.({ loadedBytes, totalBytes });
      continue;
    }
    const ptr = arena.alloc(info.name, n * 4);
    if (info.dtype === 'F32') {
      await readTensor(info, arena.bytes(ptr, n * 4));
    } else {
      // 16-bit data lands in the upper half of the f32 region and is widened in place.
      await readTensor(info, arena.bytes(ptr + 2 * n, 2 * n));
      if (info.dtype === 'BF16') arena.kernels.widen_bf16_f32(ptr, ptr + 2 * n, n);
      else arena.kernels.widen_f16_f32(ptr, ptr + 2 * n, n);
    }
    out.set(info.name, { name: info.name, ptr, shape });
    loadedBytes += info.bytes;
    onProgress?.({ loadedBytes, totalBytes });
  }
  return out;
}

export function checkTensor(ckpt: Checkpoint, hf: string, shape: number[], spec: TensorOwner): TensorInfo {
  const info = ckpt.tensors.get(hf);
  const where = ckpt.files.join(', ');
  if (!info) throw new SafetensorsError(`${where}: missing tensor "${hf}" (a ${spec.modelType} model with ${spec.nLayers} layers needs it)`);
  const file = info.reader.label;
  if (!LOADABLE_DTYPES.includes(info.dtype)) {
    throw new DtypeError(`${file}: tensor "${hf}": dtype ${info.dtype} is not supported; supported: ${LOADABLE_DTYPES.join(', ')}`);
  }
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${file}: tensor "${hf}" has shape [${info.shape}] but config.json implies [${shape}]`);
  }
  return info;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function parseJson(text: string, label: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${label}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${label}: expected a JSON object`);
  return v as Record<string, unknown>;
}


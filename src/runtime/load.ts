// The one loader, for decoders and encoders: config.json → family and spec → memory plan → checkpoint
// tensors into the arena, each in its layout. Knows file names and dtypes; never a family by name.
import { Arena, checkPlan, WASM32_MAX_BYTES, type Tensor } from './arena.js';
import { ConfigError, DtypeError, MemoryBudgetError, SafetensorsError, ShapeError } from '../errors.js';
import type { WeightEntry } from '../families/family.js';
import { familyOf, type AnySpec, type Family } from '../families/registry.js';
import { decoderMatrixParameters, planRunState, type DecoderSpec } from '../families/decoder.js';
import { bertMatrixParameters, planEncoderState, type BertSpec } from '../families/bert.js';
import { show } from '../families/config.js';
import { parseJson } from '../formats/json.js';
import { openCheckpoint, type Checkpoint, type TensorInfo } from '../formats/safetensors.js';
import type { ModelFiles } from '../sources/sources.js';
import { defaultSpawner, resolveThreads, ThreadPool } from './threads.js';
import { optionKeys } from '../options.js';
import { kernelModule, type SimdFlavor, type WasmInput } from './wasm.js';
import { checkF16, checkQuantize, f16Elements, leastBytesPerParameter, loadRows, numel, stagingBytes, storageFor, tensorBytes, widensF16, type F16Weights,
  type Quantize, type Storage } from './weights.js';

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
   * like ggml Q8_0), 'q4' (like Q4_0; a decoder's embedding/lm_head stay q8) or 'none' (default:
   * 16-bit checkpoints stay 16-bit, f32 stays f32). Encoders quantize their linear layers only.
   */
  quantize?: Quantize;
  /**
   * f16 matrices: 'auto' (default) widens them to f32 at load when together they take at most 64 MiB as
   * f32 (F16_WIDEN_MAX_BYTES) and the budget allows, else keeps them f16; 'keep' always keeps them f16
   * (half the memory), 'widen' always widens them (f32's decode speed where f32 would decode from cache).
   */
  f16?: F16Weights;
  /** Called as tensor bytes arrive. */
  onProgress?: (p: { loadedBytes: number; totalBytes: number }) => void;
}

export const LOAD_OPTIONS = optionKeys<LoadOptions>()('simd', 'wasm', 'memoryBudgetBytes', 'threads', 'quantize', 'f16', 'onProgress');

/** What `tide info` prints. */
export interface ModelInfo {
  source: string;
  modelType: string;
  parameters: number;
  dtypes: Record<string, number>;  // checkpoint dtype → tensor count
  weightBytes: number;             // in memory, as stored (packed, 16-bit or quantized)
  quantize: Quantize;
  kvBytesPerToken: number;         // 0 for encoders
  simd: SimdFlavor;
  threads: number;
}

/** A loaded checkpoint: its family and spec, the tensors in the arena (by table entry), the thread pool. */
export interface Loaded {
  config: Record<string, unknown>;
  family: Family;
  spec: AnySpec;
  table: WeightEntry[];
  tensors: Map<WeightEntry, Tensor>;
  arena: Arena;
  pool?: ThreadPool;
  info: ModelInfo;
}

const LOADABLE_DTYPES = ['F32', 'F16', 'BF16'];

/** Read config.json; `label` names the model in errors. */
export async function readConfig(files: ModelFiles): Promise<Record<string, unknown>> {
  const text = await files.text('config.json');
  if (text === undefined) throw new ConfigError(`${files.label}: no config.json`);
  return parseJson(text, `${files.label}/config.json`);
}

/**
 * Load the checkpoint of `files` (config.json and safetensors) into a fresh arena; `kinds` are the families
 * the caller runs: ['decoder'] generates (loadModel), both encode (loadEmbedder runs decoders as encoders).
 */
export async function loadCheckpoint(files: ModelFiles, opts: LoadOptions = {}, kinds: Family['kind'][] = ['decoder', 'encoder']): Promise<Loaded> {
  const config = await readConfig(files);
  const { family, spec, quantize, budget } = planConfig(config, `${files.label}/config.json`, opts, kinds);
  const threads = await resolveThreads(opts.threads);
  const ckpt = await openCheckpoint(files);
  try {
    const has = (hf: string) => ckpt.tensors.has(hf);
    const table = (family.weights as (s: AnySpec, has: (hf: string) => boolean) => WeightEntry[])(spec, has);
    const encode = kinds.includes('encoder');
    const storageOf = (widenF16: boolean) => storageFor(family.kind, quantize, widenF16, encode);
    // Planned from the header (file dtypes decide the layouts) before any tensor is read.
    const infos = table.map((e) => checkTensor(ckpt, e, spec));
    checkAccounted(ckpt, table, family, spec);
    const staging = stagingBytes(table.map(boundShape));
    const state = family.kind === 'decoder' ? planRunState(spec as never, 1, 1) : planEncoderState(spec as never, 1, 1, 1, threads);
    const plan = (storage: Storage) => {
      const bytes = table.reduce((sum, e, i) => sum + tensorBytes(storage(e.hf, boundShape(e), infos[i].dtype), boundShape(e)), 0);
      checkPlan([{ name: 'weights', bytes }, { name: 'staging', bytes: staging }, ...state], budget);
      return bytes;
    };
    const f16 = checkF16(opts.f16), kept = storageOf(false);
    let storage = storageOf(widensF16(f16, f16Elements(kept, table.map((e, i) => [e.hf, boundShape(e), infos[i].dtype])))), weightBytes: number;
    try {
      weightBytes = plan(storage);
    } catch (e) {
      // 'auto' widens only where the budget allows.
      if (!(e instanceof MemoryBudgetError && f16 === 'auto' && storage !== kept)) throw e;
      storage = kept;
      weightBytes = plan(storage);
    }
    const km = await kernelModule({ ...opts, shared: threads > 1 });
    const arena = new Arena(km, budget, weightBytes + staging);
    const tensors = await loadTensors(arena, table, infos, opts.onProgress, storage);
    const dtypes: Record<string, number> = {};
    for (const t of ckpt.tensors.values()) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    const info: ModelInfo = {
      source: files.label, modelType: spec.modelType, dtypes, weightBytes, quantize, simd: arena.flavor, threads,
      parameters: table.reduce((sum, e) => sum + numel(boundShape(e)), 0),
      kvBytesPerToken: family.kind === 'decoder' ? 2 * spec.nLayers * (spec as { kvDim: number }).kvDim * 4 : 0,
    };
    const pool = threads > 1 ? await ThreadPool.start(threads, km.module, arena.memory, arena.kernels, await defaultSpawner()) : undefined;
    return { config, family, spec, table, tensors, arena, pool, info };
  } finally {
    await ckpt.close();
  }
}

/**
 * config.json's family and spec, and a first memory check from the spec's dims alone (its matrices at the
 * fewest bytes `quantize` stores, and the run state of one token): before any weight table, file or arena
 * is sized by the config, so sizes that multiply past the budget are refused while nothing is allocated.
 */
export function planConfig(config: Record<string, unknown>, file: string, opts: LoadOptions = {}, kinds: Family['kind'][] = ['decoder', 'encoder']) {
  const family = familyOf(config.model_type, file);
  if (!kinds.includes(family.kind)) {
    throw new ConfigError(`${file}: model_type ${show(config.model_type)} is an ${family.kind}; load it with ${family.kind === 'encoder' ? 'loadEmbedder' : 'loadModel'}`);
  }
  const spec: AnySpec = family.readSpec(config, file);
  const quantize = checkQuantize(opts.quantize);
  const budget = Math.min(opts.memoryBudgetBytes ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);
  const [parameters, state] = family.kind === 'decoder'
    ? [decoderMatrixParameters(spec as DecoderSpec), planRunState(spec as DecoderSpec, 1, 1)]
    : [bertMatrixParameters(spec as BertSpec), planEncoderState(spec as BertSpec, 1, 1, 1)];
  checkPlan([{ name: `weights of ${file} (at least)`, bytes: parameters * leastBytesPerParameter(quantize) }, ...state], budget);
  return { family, spec, quantize, budget };
}

/** Every checkpoint tensor is in the table or one the family leaves unread on purpose (family.unread). */
function checkAccounted(ckpt: Checkpoint, table: WeightEntry[], family: Family, spec: AnySpec): void {
  const read = new Set(table.map((e) => e.hf));
  const extra = [...ckpt.tensors.values()].filter((t) => !read.has(t.name) && !family.unread.test(t.name));
  if (extra.length === 0) return;
  const more = extra.length > 1 ? ` (and ${extra.length - 1} more)` : '';
  throw new SafetensorsError(`${extra[0].reader.label}: tensor ${JSON.stringify(extra[0].name)}${more} is not part of a ${spec.modelType} model with ${spec.nLayers} layers as config.json describes it`);
}

/** The shape of the tensor an entry binds: the checkpoint tensor's, or its rows [r0, r1). */
export const boundShape = (e: WeightEntry) => (e.rows ? [e.rows[1] - e.rows[0], ...e.shape.slice(1)] : e.shape);

async function loadTensors(arena: Arena, table: WeightEntry[], infos: TensorInfo[], onProgress: LoadOptions['onProgress'],
                           storage: Storage): Promise<Map<WeightEntry, Tensor>> {
  // A fused tensor's entries each read their share of it.
  const parts = table.map((e, i) => (numel(boundShape(e)) * infos[i].bytes) / numel(e.shape));
  const totalBytes = parts.reduce((a, b) => a + b, 0);
  let loadedBytes = 0;
  const out = new Map<WeightEntry, Tensor>();
  for (const [i, e] of table.entries()) {
    const info = infos[i], shape = boundShape(e), first = e.rows?.[0] ?? 0;
    const name = e.rows ? `${e.hf}[${e.rows[0]}:${e.rows[1]}]` : e.hf;
    const dtype = storage(e.hf, shape, info.dtype);
    const n = numel(shape), rowBytes = (numel(e.shape.slice(1)) * info.bytes) / numel(e.shape);
    if (dtype !== 'f32') {
      const ptr = arena.alloc(name, tensorBytes(dtype, shape));
      await loadRows(arena, info, ptr, dtype, shape[0], shape[1], first);
      out.set(e, { name, ptr, shape, dtype });
    } else {
      const ptr = arena.alloc(name, n * 4), at = info.offset + first * rowBytes;
      if (info.dtype === 'F32') {
        await info.reader.read(at, arena.bytes(ptr, n * 4));
      } else {
        // 16-bit data lands in the upper half of the f32 region and is widened in place.
        await info.reader.read(at, arena.bytes(ptr + 2 * n, 2 * n));
        if (info.dtype === 'BF16') arena.kernels.widen_bf16_f32(ptr, ptr + 2 * n, n);
        else arena.kernels.widen_f16_f32(ptr, ptr + 2 * n, n);
      }
      out.set(e, { name, ptr, shape });
    }
    loadedBytes += parts[i];
    onProgress?.({ loadedBytes, totalBytes });
  }
  return out;
}

/** The checkpoint tensor an entry reads: present, of a loadable dtype, and of the shape the config implies. */
export function checkTensor(ckpt: Checkpoint, e: WeightEntry, spec: Pick<AnySpec, 'modelType' | 'nLayers'>): TensorInfo {
  const info = ckpt.tensors.get(e.hf);
  const where = ckpt.files.join(', ');
  if (!info) throw new SafetensorsError(`${where}: missing tensor "${e.hf}" (a ${spec.modelType} model with ${spec.nLayers} layers needs it)`);
  const file = info.reader.label;
  if (!LOADABLE_DTYPES.includes(info.dtype)) {
    throw new DtypeError(`${file}: tensor "${e.hf}": dtype ${info.dtype} is not supported; supported: ${LOADABLE_DTYPES.join(', ')}`);
  }
  if (info.shape.length !== e.shape.length || info.shape.some((d, i) => d !== e.shape[i])) {
    throw new ShapeError(`${file}: tensor "${e.hf}" has shape [${info.shape}] but config.json implies [${e.shape}]`);
  }
  return info;
}

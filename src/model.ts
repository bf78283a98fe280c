// Loading: config.json → spec → memory plan → checkpoint tensors into the arena → Model.
// Knows file names and dtypes; the graph itself lives in src/models/.
import { Arena, checkPlan, WASM32_MAX_BYTES, type Tensor } from './arena.js';
import { ConfigError, DtypeError, OptionError, SafetensorsError, ShapeError } from './errors.js';
import { allocRunState, bindWeights, planRunState, weightTable, type LlamaWeights, type RunState } from './models/llama.js';
import { Ops } from './ops.js';
import { ropeFrequencies } from './rope.js';
import { openCheckpoint, readTensor, type Checkpoint, type TensorInfo } from './safetensors.js';
import { DEFAULT_CONTEXT, DEFAULT_PREFILL_CHUNK, Session, type SessionOptions } from './session.js';
import type { ModelFiles } from './sources.js';
import { specFromConfig, tokenIds, type ModelSpec } from './spec.js';
import { TextTokenizer } from './tokenizer.js';
import { kernelModule, type SimdFlavor, type WasmInput } from './wasm.js';

export interface LoadOptions {
  /** Kernel module: 'relaxed' where the engine supports it, else 'baseline' (env TIDE_SIMD overrides). */
  simd?: SimdFlavor;
  /** The kernel wasm as a compiled module, bytes or URL (edge runtimes cannot compile from bytes). */
  wasm?: WasmInput;
  /** Most bytes of wasm memory the model may use (weights + KV caches + scratch); default 4 GiB. */
  memoryBudgetBytes?: number;
  /** Called as tensor bytes arrive. */
  onProgress?: (p: { loadedBytes: number; totalBytes: number }) => void;
}

/** What `tide info` prints. */
export interface ModelInfo {
  source: string;
  modelType: string;
  parameters: number;
  dtypes: Record<string, number>;  // checkpoint dtype → tensor count
  weightBytes: number;             // in memory (f32)
  kvBytesPerToken: number;
  simd: SimdFlavor;
}

const LOADABLE_DTYPES = ['F32', 'F16', 'BF16'];

export class Model {
  readonly ops: Ops;
  readonly invFreq: Float64Array;
  private readonly spare: RunState[] = [];

  constructor(readonly spec: ModelSpec, readonly arena: Arena, readonly weights: LlamaWeights,
              readonly tokenizer: TextTokenizer | undefined, readonly generationConfig: Record<string, unknown>,
              readonly eosTokenIds: number[], readonly info: ModelInfo) {
    this.ops = new Ops(arena.kernels);
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
    const i = this.spare.findIndex((s) => s.ctx === ctx && s.C === C);
    if (i >= 0) return new Session(this, this.spare.splice(i, 1)[0]);
    checkPlan(planRunState(this.spec, C, ctx), this.arena.budgetBytes, this.arena.usedBytes);
    return new Session(this, allocRunState(this.arena, this.spec, C, ctx));
  }

  /** Called by Session.dispose(). */
  releaseState(s: RunState): void { this.spare.push(s); }
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
  const weightBytes = table.reduce((sum, t) => sum + numel(t.shape) * 4, 0);
  const budget = Math.min(opts.memoryBudgetBytes ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);
  checkPlan([{ name: 'weights', bytes: weightBytes }, ...planRunState(spec, 1, 1)], budget);

  const ckpt = await openCheckpoint(files);
  try {
    const arena = new Arena(await kernelModule(opts), budget, weightBytes);
    const tensors = await loadTensors(arena, spec, ckpt, table, opts.onProgress);
    const dtypes: Record<string, number> = {};
    for (const t of ckpt.tensors.values()) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    const info: ModelInfo = {
      source: files.label, modelType: spec.modelType, dtypes, weightBytes, simd: arena.flavor,
      parameters: table.reduce((sum, t) => sum + numel(t.shape), 0),
      kvBytesPerToken: 2 * spec.nLayers * spec.kvDim * 4,
    };
    const tokenizerText = await files.text('tokenizer.json');
    const tokenizer = tokenizerText === undefined ? undefined
      : TextTokenizer.parse(tokenizerText, await files.text('tokenizer_config.json'), `${files.label}/tokenizer.json`);
    const weights = bindWeights(spec, (hf) => tensors.get(hf)!);
    return new Model(spec, arena, weights, tokenizer, generationConfig, eos.length ? eos : spec.eosTokenIds, info);
  } finally {
    await ckpt.close();
  }
}

async function loadTensors(arena: Arena, spec: ModelSpec, ckpt: Checkpoint, table: { hf: string; shape: number[] }[],
                           onProgress: LoadOptions['onProgress']): Promise<Map<string, Tensor>> {
  const infos = table.map(({ hf, shape }) => checkTensor(ckpt, hf, shape, spec));
  const totalBytes = infos.reduce((s, t) => s + t.bytes, 0);
  let loadedBytes = 0;
  const out = new Map<string, Tensor>();
  for (const [i, info] of infos.entries()) {
    const shape = table[i].shape;
    const n = numel(shape);
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

function checkTensor(ckpt: Checkpoint, hf: string, shape: number[], spec: ModelSpec): TensorInfo {
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

function parseJson(text: string, label: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${label}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${label}: expected a JSON object`);
  return v as Record<string, unknown>;
}


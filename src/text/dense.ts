// sentence-transformers' Dense module: a linear layer (+ activation) on the pooled sentence vector, as
// EmbeddingGemma's 768→3072→768 projection. Read from the module's folder (config.json, model.safetensors)
// and computed in float64: a few million multiply-adds per sentence at most, next to a forward pass.
import { ConfigError, DtypeError, SafetensorsError, ShapeError } from '../errors.js';
import { parseJson } from '../formats/json.js';
import { DTYPE_BYTES, openCheckpoint, readTensor, type Checkpoint, type StDtype } from '../formats/safetensors.js';
import type { ModelFiles } from '../sources/sources.js';

/** Activations by their torch class name, as config.json's activation_function gives them. */
const ACTIVATIONS: Record<string, ((x: number) => number) | undefined> = {
  'torch.nn.modules.linear.Identity': undefined,
  'torch.nn.modules.activation.Tanh': Math.tanh,
};

export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  weight: Float32Array;   // (outFeatures, inFeatures), nn.Linear's layout
  bias?: Float32Array;    // (outFeatures,)
  activation?: (x: number) => number; // none: Identity
}

/** Read the Dense module in `path`; its input width must be `inFeatures` (the previous module's output). */
export async function readDense(files: ModelFiles, path: string, inFeatures: number): Promise<DenseLayer> {
  const label = `${files.label}/${path}/config.json`;
  const text = await files.text(`${path}/config.json`);
  if (text === undefined) throw new ConfigError(`${label}: missing (modules.json names a Dense module there)`);
  const c = parseJson(text, label);
  const size = (field: string): number => {
    const v = c[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError(`${label}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const [inF, outF] = [size('in_features'), size('out_features')];
  if (inF !== inFeatures) throw new ConfigError(`${label}: in_features ${inF} but the module before it gives ${inFeatures}`);
  const act = c.activation_function;
  if (typeof act !== 'string' || !Object.hasOwn(ACTIVATIONS, act)) {
    throw new ConfigError(`${label}: activation_function ${JSON.stringify(act)} is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  for (const field of ['module_input_name', 'module_output_name']) {
    if (c[field] !== undefined && c[field] !== null && c[field] !== 'sentence_embedding') {
      throw new ConfigError(`${label}: ${field} ${JSON.stringify(c[field])} is not supported; supported: sentence_embedding`);
    }
  }
  const hasBias = c.bias ?? true; // sentence-transformers' default
  if (typeof hasBias !== 'boolean') throw new ConfigError(`${label}: bias must be true or false, got ${JSON.stringify(hasBias)}`);
  const ckpt = await openCheckpoint(files, path);
  try {
    const weight = await readF32(ckpt, 'linear.weight', [outF, inF]);
    const bias = hasBias ? await readF32(ckpt, 'linear.bias', [outF]) : undefined;
    return { inFeatures: inF, outFeatures: outF, weight, bias, activation: ACTIVATIONS[act] };
  } finally {
    await ckpt.close();
  }
}

/** out = activation(W x + b), accumulated in float64. */
export function dense(layer: DenseLayer, x: Float64Array): Float64Array {
  const { inFeatures: n, outFeatures: d, weight: w, bias, activation } = layer;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let acc = bias ? bias[i] : 0;
    for (let k = 0, row = i * n; k < n; k++) acc += w[row + k] * x[k];
    out[i] = activation ? activation(acc) : acc;
  }
  return out;
}

/** A tensor of the checkpoint as f32 values (F32, or F16 / BF16 widened exactly). */
async function readF32(ckpt: Checkpoint, name: string, shape: number[]): Promise<Float32Array> {
  const t = ckpt.tensors.get(name);
  if (!t) throw new SafetensorsError(`${ckpt.files.join(', ')}: missing tensor "${name}" (a Dense module of shape [${shape}] needs it)`);
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
    throw new ShapeError(`${t.reader.label}: tensor "${name}" has shape [${t.shape}] but config.json implies [${shape}]`);
  }
  const decode = DECODE[t.dtype];
  if (!decode) throw new DtypeError(`${t.reader.label}: tensor "${name}": dtype ${t.dtype} is not supported; supported: ${Object.keys(DECODE).join(', ')}`);
  const bytes = new Uint8Array(t.bytes);
  await readTensor(t, bytes);
  const view = new DataView(bytes.buffer), step = DTYPE_BYTES[t.dtype];
  return Float32Array.from({ length: t.bytes / step }, (_, i) => decode(view, i * step));
}

const DECODE: Partial<Record<StDtype, (v: DataView, at: number) => number>> = {
  F32: (v, at) => v.getFloat32(at, true),
  F16: (v, at) => f16(v.getUint16(at, true)),
  BF16: (v, at) => bf16(v.getUint16(at, true)),
};

const bits = new DataView(new ArrayBuffer(4));
/** bfloat16 bits → its value: the upper half of an f32. */
function bf16(h: number): number {
  bits.setUint32(0, h << 16);
  return bits.getFloat32(0);
}
/** IEEE half bits → its value (subnormals, ±Infinity and NaN included). */
function f16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

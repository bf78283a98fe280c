// A model that exists only as a function of its config: a ModelFiles whose model.safetensors is
// synthesized on read (the header from the weight table planModel builds, the data deterministic
// pseudo-random bytes for any offset), so a 3.8 B checkpoint can be loaded, quantized as it streams
// in, and run without writing or holding 7 GB. Weights are uniform with std 0.02 (as bench/weights.ts
// writes), norm gains 1 (0 where the family scales by 1 + w, as Gemma does), biases 0.
import { planModel } from '../src/runtime/plan.js';
import { SourceError } from '../src/errors.js';
import type { ByteReader, ModelFiles } from '../src/sources/sources.js';

export type VirtualDtype = 'F32' | 'BF16';

export interface VirtualOptions {
  /** Dtype of every tensor in the file; default the config's torch_dtype / dtype (bfloat16 → BF16), else F32. */
  dtype?: VirtualDtype;
  /** Seeds the values; the same seed gives the same bytes. */
  seed?: number;
  /** Other files of the model, by name (tokenizer.json, generation_config.json ...), as text. */
  files?: Record<string, string>;
  /** The model's name in error messages; default "virtual:<model_type>". */
  label?: string;
}

/** One tensor of the synthesized file: its span in the data section and how its values are made. */
export interface VirtualTensor { name: string; shape: number[]; begin: number; end: number; fill: 'random' | 'one' | 'zero' }

export interface VirtualModel extends ModelFiles {
  /** Size of the synthesized model.safetensors in bytes. */
  readonly checkpointBytes: number;
  readonly tensors: VirtualTensor[];
  readonly dtype: VirtualDtype;
}

const SCALE = 0.02;
/**
 * Random data is served in blocks of BLOCK bytes, each copied from a table of TABLE_ELEMS values at a
 * start drawn from (seed, tensor, block): every read is memcpy-fast, any byte range is well defined,
 * and a matrix's rows differ from one another (a row of up to BLOCK / element bytes never repeats).
 */
const BLOCK = 1 << 15;
const TABLE_ELEMS = 1 << 18;

/** xorshift32 → uniform with mean 0, std `std`. */
function uniformTable(seed: number, n: number, std: number): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n), half = std * Math.sqrt(3);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296 * 2 - 1) * half;
  }
  return a;
}

/** bf16 of f32 values, rounded to nearest even. */
function toBf16(f: Float32Array): Uint16Array {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length), h = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) h[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16;
  return h;
}

/** A 32-bit mix of three integers (murmur3's finalizer over their combination). */
function mix(a: number, b: number, c: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b9) ^ Math.imul(c, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

const DTYPES: Record<string, VirtualDtype> = { bfloat16: 'BF16', float16: 'BF16', float32: 'F32' };

/** The virtual model of a parsed config.json: config.json, model.safetensors and `opts.files`. */
export function virtualModel(config: Record<string, unknown>, opts: VirtualOptions = {}): VirtualModel {
  const label = opts.label ?? `virtual:${String(config.model_type)}`;
  const dtype = opts.dtype ?? DTYPES[String(config.torch_dtype ?? config.dtype)] ?? 'F32';
  const el = dtype === 'F32' ? 4 : 2;
  const seed = opts.seed ?? 0x7e1de;
  const plan = planModel(config, `${label}/config.json`, dtype);
  const normOne = !(plan.spec as { normPlusOne?: boolean }).normPlusOne;
  // One entry per checkpoint tensor (a fused tensor is listed once per field it binds).
  const unique = [...new Map(plan.table.map((e) => [e.hf, e])).values()];
  const tensors: VirtualTensor[] = [];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', note: `tide virtual weights, seed ${seed}: uniform with std ${SCALE}, norms ${normOne ? 1 : '0 (1 + w)'}, biases 0` } };
  let offset = 0;
  for (const t of unique) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * el;
    const norm = /norm/i.test(t.hf);
    const fill = /\.bias$/.test(t.hf) ? 'zero' : norm ? (normOne ? 'one' : 'zero') : 'random';
    tensors.push({ name: t.hf, shape: t.shape, begin: offset, end: offset + bytes, fill });
    header[t.hf] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + jsonBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  head.set(jsonBytes, 8);
  const dataStart = head.length, size = dataStart + offset;

  const values = uniformTable(seed, TABLE_ELEMS + BLOCK / el, SCALE);
  const table = dtype === 'F32' ? new Uint8Array(values.buffer) : new Uint8Array(toBf16(values).buffer);
  const one = new Uint8Array(dtype === 'F32' ? new Float32Array([1]).buffer : new Uint16Array([0x3f80]).buffer);

  /** Bytes [local, local + out.length) of tensor i's data. */
  function fillTensor(i: number, t: VirtualTensor, local: number, out: Uint8Array): void {
    if (t.fill === 'zero') { out.fill(0); return; }
    if (t.fill === 'one') { for (let k = 0; k < out.length; k++) out[k] = one[(local + k) % el]; return; }
    let o = 0;
    while (o < out.length) {
      const at = local + o, b = Math.floor(at / BLOCK), within = at - b * BLOCK;
      const n = Math.min(out.length - o, BLOCK - within);
      const start = (mix(seed, i, b) % TABLE_ELEMS) * el + within;
      out.set(table.subarray(start, start + n), o);
      o += n;
    }
  }

  const reader: ByteReader = {
    label: `${label}/model.safetensors`,
    size,
    async read(pos, into) {
      if (pos < 0 || pos + into.length > size) throw new RangeError(`${reader.label}: read [${pos}, ${pos + into.length}) past end ${size}`);
      let o = 0;
      if (pos < dataStart) {
        const n = Math.min(into.length, dataStart - pos);
        into.set(head.subarray(pos, pos + n));
        o = n;
      }
      // The first tensor that ends after the read's position, by binary search; then in order.
      let lo = 0, hi = tensors.length - 1;
      const d0 = pos + o - dataStart;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (tensors[mid].end <= d0) lo = mid + 1; else hi = mid; }
      for (let i = lo; o < into.length; i++) {
        const t = tensors[i], d = pos + o - dataStart, n = Math.min(into.length - o, t.end - d);
        fillTensor(i, t, d - t.begin, into.subarray(o, o + n));
        o += n;
      }
    },
    async close() {},
  };

  const texts: Record<string, string> = { ...opts.files, 'config.json': JSON.stringify(config) };
  return {
    label, checkpointBytes: size, tensors, dtype,
    async text(name) { return Object.hasOwn(texts, name) ? texts[name] : undefined; },
    async open(name) {
      if (name === 'model.safetensors') return reader;
      throw new SourceError(`${label}: no file ${name} (a virtual model has config.json and model.safetensors)`);
    },
  };
}

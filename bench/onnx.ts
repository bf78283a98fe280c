// A small ONNX writer: a graph builder that serialises onnx.proto's ModelProto by hand (protobuf
// wire format: varints and length-delimited fields), with weights as raw_data initializers.
// Reusable for any graph (bench/onnx-llama.ts builds a llama/qwen2 prefill, bench/onnx-bert.ts a BERT).
// Past protobuf's 2 GB limit, large initializers go to an external data file beside the model.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/** onnx.proto TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** Protobuf wire-format writer (field numbers from onnx.proto). */
class Pb {
  private chunks: Uint8Array[] = [];
  size = 0;
  private push(b: Uint8Array) { this.chunks.push(b); this.size += b.length; }
  private varint(v: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number) { this.varint((field << 3) | wire); }
  int(field: number, v: number | bigint) { this.tag(field, 0); this.varint(v); return this; }
  float(field: number, v: number) { this.tag(field, 5); const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); this.push(b); return this; }
  bytes(field: number, b: Uint8Array) { this.tag(field, 2); this.varint(b.length); this.push(b); return this; }
  str(field: number, s: string) { return this.bytes(field, new TextEncoder().encode(s)); }
  msg(field: number, m: Pb) { this.tag(field, 2); this.varint(m.size); for (const c of m.chunks) this.push(c); return this; }
  packedInts(field: number, vs: number[]) { const p = new Pb(); for (const v of vs) p.varint(v); return this.msg(field, p); }
  packedFloats(field: number, vs: number[]) { const b = new Uint8Array(4 * vs.length), dv = new DataView(b.buffer); vs.forEach((v, i) => dv.setFloat32(4 * i, v, true)); return this.bytes(field, b); }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

function attribute(name: string, v: AttrValue): Pb {
  const a = new Pb().str(1, name);
  // AttributeProto: f 2, i 3, s 4, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7)
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (typeof v === 'string') return a.str(4, v).int(20, 3);
  if (Array.isArray(v)) return a.packedInts(8, v).int(20, 7);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  return a.packedFloats(7, v.floats).int(20, 6);
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().str(2, d));
  const tensorType = new Pb().int(1, elemType).msg(2, shape);
  return new Pb().str(1, name).msg(2, new Pb().msg(1, tensorType));
}

type Data = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

/** Where initializers of ≥ 4 KiB go instead of raw_data: an open file and its name as the model refers to it. */
export interface ExternalData { fd: number; location: string }

export class OnnxGraph {
  private nodes: Pb[] = [];
  private inits: Pb[] = [];
  private inputs: Pb[] = [];
  private outputs: Pb[] = [];
  private n = 0;
  private extOffset = 0;

  constructor(private ext?: ExternalData) {}

  /** A fresh value name. */
  name(hint: string): string { return `${hint}_${this.n++}`; }

  /** Add a node; returns its (first) output name. */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = [this.name(type)], domain?: string): string {
    const node = new Pb();
    for (const i of inputs) node.str(1, i);
    for (const o of outputs) node.str(2, o);
    node.str(3, outputs[0]).str(4, type);
    for (const [k, v] of Object.entries(attrs)) node.msg(5, attribute(k, v));
    if (domain) node.str(7, domain);
    this.nodes.push(node);
    return outputs[0];
  }

  /** A constant tensor (TensorProto with raw_data, little-endian). */
  init(name: string, dims: number[], data: Data): string {
    const type = data instanceof Float32Array ? DT.FLOAT : data instanceof Int32Array ? DT.INT32 : data instanceof Int8Array ? DT.INT8
      : data instanceof Uint8Array ? DT.UINT8 : DT.INT64;
    const t = new Pb();
    for (const d of dims) t.int(1, d);
    t.int(2, type).str(8, name);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.ext && bytes.length >= 4096) {
      // TensorProto external_data 13 (StringStringEntryProto: key 1, value 2), data_location 14 = EXTERNAL.
      writeSync(this.ext.fd, bytes, 0, bytes.length, this.extOffset);
      const entry = (k: string, v: string) => t.msg(13, new Pb().str(1, k).str(2, v));
      entry('location', this.ext.location); entry('offset', String(this.extOffset)); entry('length', String(bytes.length));
      t.int(14, 1);
      this.extOffset += bytes.length + ((64 - (bytes.length % 64)) % 64);
    } else t.bytes(9, bytes);
    this.inits.push(t);
    return name;
  }

  ints(values: number[]): string { return this.init(this.name('c'), [values.length], BigInt64Array.from(values.map(BigInt))); }
  scalar(v: number): string { return this.init(this.name('s'), [], Float32Array.of(v)); }

  input(name: string, elemType: number, dims: (number | string)[]): string { this.inputs.push(valueInfo(name, elemType, dims)); return name; }
  output(name: string, elemType: number, dims: (number | string)[]): void { this.outputs.push(valueInfo(name, elemType, dims)); }

  /** The serialised ModelProto (IR version 8, default-domain opset `opset`). */
  toModel(opset = 17): Uint8Array {
    const g = new Pb();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, 'tide-bench');
    for (const t of this.inits) g.msg(5, t);
    for (const i of this.inputs) g.msg(11, i);
    for (const o of this.outputs) g.msg(12, o);
    return new Pb().int(1, 8).str(2, 'tide-bench').msg(7, g).msg(8, new Pb().str(1, '').int(2, opset)).finish();
  }
}

/** IEEE f16 bits → f32, exactly (subnormals included; the checkpoints hold no inf or NaN). */
function f16(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** An F32, BF16 or F16 safetensors (the bench's own, the real MiniLM's fp16), read tensor by tensor as f32 (sync: the graph writers are plain loops). */
export function f32Reader(file: string): { get: (name: string) => Float32Array; has: (name: string) => boolean; f32Bytes: number; close: () => void } {
  const fd = openSync(file, 'r');
  const len = Buffer.alloc(8);
  readSync(fd, len, 0, 8, 0);
  const n = Number(len.readBigUInt64LE(0));
  const head = Buffer.alloc(n);
  readSync(fd, head, 0, n, 8);
  const json = JSON.parse(head.toString('utf8'));
  const get = (name: string) => {
    const t = json[name];
    if (!t || !['F32', 'BF16', 'F16'].includes(t.dtype)) throw new Error(`${file}: ${name} missing or not F32/BF16/F16`);
    const [a, b] = t.data_offsets as [number, number];
    if (t.dtype === 'F32') {
      const buf = new Float32Array((b - a) / 4);
      readSync(fd, new Uint8Array(buf.buffer), 0, b - a, 8 + n + a);
      return buf;
    }
    const h = new Uint16Array((b - a) / 2), u = new Uint32Array(h.length);
    readSync(fd, new Uint8Array(h.buffer), 0, b - a, 8 + n + a);
    if (t.dtype === 'F16') return Float32Array.from(h, f16);
    for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;   // bf16 → f32 is exact
    return new Float32Array(u.buffer);
  };
  const f32Bytes = Object.entries(json).reduce((s, [k, t]: [string, any]) => s + (k === '__metadata__' ? 0 : 4 * t.shape.reduce((x: number, y: number) => x * y, 1)), 0);
  return { get, has: (name: string) => name in json, f32Bytes, close: () => closeSync(fd) };
}

/** (rows, cols) → (cols, rows): MatMul wants x (…, n) @ W (n, d). */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

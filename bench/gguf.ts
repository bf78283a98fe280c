// A small GGUF v3 writer: the bench's random llama-shaped safetensors → a GGUF (F32 or Q8_0) that
// wllama / llama.cpp load, with the same weights. Streams tensor by tensor.
import { createWriteStream, existsSync, openSync, readSync, closeSync, renameSync } from 'node:fs';
import { f32ToF16 } from './f16.js';

type Kv = [string, string | number | boolean | { f32: number } | { strs: string[] } | { f32s: number[] } | { i32s: number[] }];

const enc = new TextEncoder();
class Bytes {
  parts: Uint8Array[] = [];
  size = 0;
  push(b: Uint8Array) { this.parts.push(b); this.size += b.length; }
  u32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.push(b); }
  u64(v: number) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.push(b); }
  f32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); this.push(b); }
  str(s: string) { const b = enc.encode(s); this.u64(b.length); this.push(b); }
}

// GGUF value types (gguf.h): UINT32 4, INT32 5, FLOAT32 6, BOOL 7, STRING 8, ARRAY 9.
function kv(out: Bytes, [key, v]: Kv): void {
  out.str(key);
  if (typeof v === 'string') { out.u32(8); out.str(v); }
  else if (typeof v === 'boolean') { out.u32(7); out.push(new Uint8Array([v ? 1 : 0])); }
  else if (typeof v === 'number') { out.u32(4); out.u32(v); }
  else if ('f32' in v) { out.u32(6); out.f32(v.f32); }
  else if ('strs' in v) { out.u32(9); out.u32(8); out.u64(v.strs.length); for (const s of v.strs) out.str(s); }
  else if ('f32s' in v) { out.u32(9); out.u32(6); out.u64(v.f32s.length); for (const x of v.f32s) out.f32(x); }
  else { out.u32(9); out.u32(5); out.u64(v.i32s.length); const b = new Int32Array(v.i32s); out.push(new Uint8Array(b.buffer)); }
}

/** ggml types: F32 0, Q8_0 8 (blocks of 32: f16 scale + 32 int8). */
const GGML = { F32: 0, Q8_0: 8 } as const;
export type GgufType = keyof typeof GGML;
const ALIGN = 32;
const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;
const bytesOf = (type: GgufType, n: number) => (type === 'F32' ? 4 * n : (n / 32) * 34);

interface SrcTensor { name: string; shape: number[]; offset: number; bytes: number }

function readSafetensors(file: string): { tensors: Map<string, SrcTensor>; fd: number } {
  const fd = openSync(file, 'r');
  const len = Buffer.alloc(8);
  readSync(fd, len, 0, 8, 0);
  const n = Number(len.readBigUInt64LE(0));
  const head = Buffer.alloc(n);
  readSync(fd, head, 0, n, 8);
  const json = JSON.parse(head.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, SrcTensor>();
  for (const [name, t] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`${file}: ${name} is ${t.dtype}; the GGUF writer takes F32 checkpoints`);
    tensors.set(name, { name, shape: t.shape, offset: 8 + n + t.data_offsets[0], bytes: t.data_offsets[1] - t.data_offsets[0] });
  }
  return { tensors, fd };
}

/** HF q/k rows are in rotate-half order; llama.cpp's llama arch wants them interleaved (convert_hf_to_gguf.py permute). */
function permuteRows(w: Float32Array, nHead: number, cols: number): Float32Array {
  const rows = w.length / cols, hd = rows / nHead, half = hd / 2, out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) {
    out.set(w.subarray((h * hd + j * half + i) * cols, (h * hd + j * half + i + 1) * cols), (h * hd + i * 2 + j) * cols);
  }
  return out;
}

function quantQ8(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34), dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
    const d = amax / 127, id = d ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16(d), true);
    for (let i = 0; i < 32; i++) dv.setInt8(b * 34 + 2 + i, Math.round(x[b * 32 + i] * id));
  }
  return out;
}

/** Write `out` (once) from a llama model folder; weights as `type`, norms F32 (as llama-quantize does). */
export async function writeGguf(dir: string, config: Record<string, any>, out: string, type: GgufType): Promise<string> {
  if (existsSync(out)) return out;
  const { tensors, fd } = readSafetensors(`${dir}/model.safetensors`);
  const H = config.num_attention_heads, KV = config.num_key_value_heads ?? H, L = config.num_hidden_layers;
  const V = config.vocab_size, dim = config.hidden_size, hd = dim / H;
  const toks = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  while (toks.length < V) toks.push(`\u2581t${toks.length}`);
  const kvs: Kv[] = [
    ['general.architecture', 'llama'], ['general.name', 'tide-bench-random'], ['general.file_type', type === 'F32' ? 0 : 7],
    ['llama.context_length', config.max_position_embeddings], ['llama.embedding_length', dim], ['llama.block_count', L],
    ['llama.feed_forward_length', config.intermediate_size], ['llama.rope.dimension_count', hd],
    ['llama.attention.head_count', H], ['llama.attention.head_count_kv', KV],
    ['llama.attention.layer_norm_rms_epsilon', { f32: config.rms_norm_eps ?? 1e-5 }], ['llama.rope.freq_base', { f32: config.rope_theta ?? 10000 }],
    ['llama.vocab_size', V], ['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', { strs: toks }],
    ['tokenizer.ggml.scores', { f32s: new Array(V).fill(0) }],
    ['tokenizer.ggml.token_type', { i32s: [2, 3, 3, ...new Array(256).fill(6), ...new Array(V - 259).fill(1)] }],
    ['tokenizer.ggml.bos_token_id', 1], ['tokenizer.ggml.eos_token_id', 2], ['tokenizer.ggml.unknown_token_id', 0],
  ];
  const names: [string, string, number][] = [['token_embd.weight', 'model.embed_tokens.weight', 0]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`, b = `blk.${l}.`;
    names.push([b + 'attn_norm.weight', p + 'input_layernorm.weight', 0], [b + 'attn_q.weight', p + 'self_attn.q_proj.weight', H],
      [b + 'attn_k.weight', p + 'self_attn.k_proj.weight', KV], [b + 'attn_v.weight', p + 'self_attn.v_proj.weight', 0],
      [b + 'attn_output.weight', p + 'self_attn.o_proj.weight', 0], [b + 'ffn_norm.weight', p + 'post_attention_layernorm.weight', 0],
      [b + 'ffn_gate.weight', p + 'mlp.gate_proj.weight', 0], [b + 'ffn_down.weight', p + 'mlp.down_proj.weight', 0],
      [b + 'ffn_up.weight', p + 'mlp.up_proj.weight', 0]);
  }
  names.push(['output_norm.weight', 'model.norm.weight', 0]);
  if (tensors.has('lm_head.weight')) names.push(['output.weight', 'lm_head.weight', 0]);

  const head = new Bytes();
  head.push(enc.encode('GGUF')); head.u32(3); head.u64(names.length); head.u64(kvs.length);
  for (const x of kvs) kv(head, x);
  let off = 0;
  const types: GgufType[] = [];
  for (const [gname, hf] of names) {
    const t = tensors.get(hf)!;
    const n = t.bytes / 4, tt: GgufType = t.shape.length === 1 ? 'F32' : type;
    types.push(tt);
    head.str(gname); head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(GGML[tt]); head.u64(off);
    off += bytesOf(tt, n) + pad(bytesOf(tt, n));
  }
  const ws = createWriteStream(out + '.part');
  const write = (b: Uint8Array) => new Promise<void>((res, rej) => ws.write(b, (e) => (e ? rej(e) : res())));
  for (const p of head.parts) await write(p);
  await write(new Uint8Array(pad(head.size)));
  for (const [i, [, hf, nHead]] of names.entries()) {
    const t = tensors.get(hf)!;
    const buf = Buffer.alloc(t.bytes);
    readSync(fd, buf, 0, t.bytes, t.offset);
    let w: Float32Array = new Float32Array(buf.buffer, buf.byteOffset, t.bytes / 4);
    if (nHead) w = permuteRows(w, nHead, t.shape[1]);
    const data = types[i] === 'F32' ? new Uint8Array(w.buffer, w.byteOffset, w.byteLength) : quantQ8(w);
    await write(data);
    await write(new Uint8Array(pad(data.length)));
  }
  closeSync(fd);
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
  renameSync(out + '.part', out);
  return out;
}

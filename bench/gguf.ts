// A small GGUF v3 writer: the bench's safetensors (F32 or BF16; llama or qwen2) → a GGUF (F32, BF16 or
// Q8_0) that wllama / llama.cpp load, with the same weights. Streams tensor by tensor.
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

/** ggml types: F32 0, Q8_0 8 (blocks of 32: f16 scale + 32 int8), BF16 30; llama_ftype of a file mostly of each. */
const GGML = { F32: 0, Q8_0: 8, BF16: 30 } as const;
const FTYPE = { F32: 0, Q8_0: 7, BF16: 32 } as const;
export type GgufType = keyof typeof GGML;
const ALIGN = 32;
const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;
const bytesOf = (type: GgufType, n: number) => (type === 'F32' ? 4 * n : type === 'BF16' ? 2 * n : (n / 32) * 34);

interface SrcTensor { name: string; dtype: 'F32' | 'BF16'; shape: number[]; offset: number; bytes: number }

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
    if (t.dtype !== 'F32' && t.dtype !== 'BF16') throw new Error(`${file}: ${name} is ${t.dtype}; the GGUF writer takes F32 or BF16 checkpoints`);
    tensors.set(name, { name, dtype: t.dtype, shape: t.shape, offset: 8 + n + t.data_offsets[0], bytes: t.data_offsets[1] - t.data_offsets[0] });
  }
  return { tensors, fd };
}

/** A tensor's raw bytes and its values as f32 (BF16 widens exactly). */
function readTensor(fd: number, t: SrcTensor): { raw: Uint8Array; f32: () => Float32Array } {
  const raw = new Uint8Array(t.bytes);
  readSync(fd, raw, 0, t.bytes, t.offset);
  if (t.dtype === 'F32') return { raw, f32: () => new Float32Array(raw.buffer) };
  return { raw, f32: () => {
    const h = new Uint16Array(raw.buffer), u = new Uint32Array(h.length);
    for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
    return new Float32Array(u.buffer);
  } };
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

/** f32 → bf16, round to nearest even (as bench/weights.ts writes its bf16 files). */
function toBf16(x: Float32Array): Uint8Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length), h = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16;
  return new Uint8Array(h.buffer);
}

/**
 * Architecture metadata and a stand-in tokenizer. The bench feeds token ids, never text, so a fake
 * SentencePiece vocabulary (3 control tokens, 256 byte tokens, then placeholders) is enough for
 * llama.cpp to load any vocabulary size; the architecture (llama or qwen2) is what changes the math.
 */
function metadata(arch: 'llama' | 'qwen2', config: Record<string, any>, type: GgufType): Kv[] {
  const H = config.num_attention_heads, V = config.vocab_size, dim = config.hidden_size;
  // transformers ≥ 5 writes rope_theta inside rope_parameters (as src/families/spec.ts reads it).
  const theta = config.rope_parameters?.rope_theta ?? config.rope_theta ?? 10000;
  const toks = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  while (toks.length < V) toks.push(`\u2581t${toks.length}`);
  return [
    ['general.architecture', arch], ['general.name', 'tide-bench'], ['general.file_type', FTYPE[type]],
    [`${arch}.context_length`, config.max_position_embeddings], [`${arch}.embedding_length`, dim], [`${arch}.block_count`, config.num_hidden_layers],
    [`${arch}.feed_forward_length`, config.intermediate_size], [`${arch}.rope.dimension_count`, config.head_dim ?? dim / H],
    [`${arch}.attention.head_count`, H], [`${arch}.attention.head_count_kv`, config.num_key_value_heads ?? H],
    [`${arch}.attention.layer_norm_rms_epsilon`, { f32: config.rms_norm_eps ?? 1e-5 }], [`${arch}.rope.freq_base`, { f32: theta }],
    [`${arch}.vocab_size`, V], ['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', { strs: toks }],
    ['tokenizer.ggml.scores', { f32s: new Array(V).fill(0) }],
    ['tokenizer.ggml.token_type', { i32s: [2, 3, 3, ...new Array(256).fill(6), ...new Array(V - 259).fill(1)] }],
    ['tokenizer.ggml.bos_token_id', 1], ['tokenizer.ggml.eos_token_id', 2], ['tokenizer.ggml.unknown_token_id', 0],
  ];
}

/**
 * [GGUF name, HF name, heads to permute q/k rows over (0: none)]. Qwen2 uses NEOX-style (rotate-half)
 * RoPE in llama.cpp too, so its q/k rows and biases go in unpermuted (convert_hf_to_gguf.py's
 * Qwen2Model has no permute); llama's are permuted. The output matrix only when the config unties it.
 */
function tensorNames(arch: 'llama' | 'qwen2', config: Record<string, any>, has: (hf: string) => boolean): [string, string, number][] {
  const H = config.num_attention_heads, KV = config.num_key_value_heads ?? H;
  const [hq, hk] = arch === 'llama' ? [H, KV] : [0, 0];
  const names: [string, string, number][] = [['token_embd.weight', 'model.embed_tokens.weight', 0]];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`, b = `blk.${l}.`;
    names.push([b + 'attn_norm.weight', p + 'input_layernorm.weight', 0], [b + 'attn_q.weight', p + 'self_attn.q_proj.weight', hq],
      [b + 'attn_k.weight', p + 'self_attn.k_proj.weight', hk], [b + 'attn_v.weight', p + 'self_attn.v_proj.weight', 0]);
    if (has(p + 'self_attn.q_proj.bias')) {
      names.push([b + 'attn_q.bias', p + 'self_attn.q_proj.bias', hq], [b + 'attn_k.bias', p + 'self_attn.k_proj.bias', hk],
        [b + 'attn_v.bias', p + 'self_attn.v_proj.bias', 0]);
    }
    names.push([b + 'attn_output.weight', p + 'self_attn.o_proj.weight', 0], [b + 'ffn_norm.weight', p + 'post_attention_layernorm.weight', 0],
      [b + 'ffn_gate.weight', p + 'mlp.gate_proj.weight', 0], [b + 'ffn_down.weight', p + 'mlp.down_proj.weight', 0],
      [b + 'ffn_up.weight', p + 'mlp.up_proj.weight', 0]);
  }
  names.push(['output_norm.weight', 'model.norm.weight', 0]);
  if (config.tie_word_embeddings !== true) names.push(['output.weight', 'lm_head.weight', 0]);
  return names;
}

/** Write `out` (once) from a llama or qwen2 model folder; matrices as `type`, norms and biases F32 (as llama-quantize does). */
export async function writeGguf(dir: string, config: Record<string, any>, out: string, type: GgufType): Promise<string> {
  if (existsSync(out)) return out;
  const arch = config.model_type === 'qwen2' ? 'qwen2' : 'llama';
  if (arch === 'llama' && config.model_type !== 'llama') throw new Error(`${dir}/config.json: model_type ${config.model_type}; the GGUF writer takes llama or qwen2`);
  const { tensors, fd } = readSafetensors(`${dir}/model.safetensors`);
  const kvs = metadata(arch, config, type);
  const names = tensorNames(arch, config, (hf) => tensors.has(hf));
  for (const [, hf] of names) if (!tensors.has(hf)) throw new Error(`${dir}/model.safetensors: ${hf} missing`);

  const head = new Bytes();
  head.push(enc.encode('GGUF')); head.u32(3); head.u64(names.length); head.u64(kvs.length);
  for (const x of kvs) kv(head, x);
  let off = 0;
  const types: GgufType[] = [];
  for (const [gname, hf] of names) {
    const t = tensors.get(hf)!;
    const n = t.shape.reduce((a, b) => a * b, 1), tt: GgufType = t.shape.length === 1 ? 'F32' : type;
    types.push(tt);
    head.str(gname); head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(GGML[tt]); head.u64(off);
    off += bytesOf(tt, n) + pad(bytesOf(tt, n));
  }
  const ws = createWriteStream(out + '.part');
  const write = (b: Uint8Array) => new Promise<void>((res, rej) => ws.write(b, (e) => (e ? rej(e) : res())));
  await write(Buffer.concat([...head.parts, new Uint8Array(pad(head.size))]));   // one write: a 150k-token vocabulary is 300k parts
  for (const [i, [, hf, nHead]] of names.entries()) {
    const t = tensors.get(hf)!, src = readTensor(fd, t), tt = types[i];
    let data: Uint8Array;
    if (tt === 'BF16' && t.dtype === 'BF16' && !nHead) data = src.raw;      // bit-exact copy
    else {
      let w = src.f32();
      if (nHead) w = permuteRows(w, nHead, t.shape.length === 1 ? 1 : t.shape[1]);
      data = tt === 'F32' ? new Uint8Array(w.buffer, w.byteOffset, w.byteLength) : tt === 'BF16' ? toBf16(w) : quantQ8(w);
    }
    await write(data);
    await write(new Uint8Array(pad(data.length)));
  }
  closeSync(fd);
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
  renameSync(out + '.part', out);
  return out;
}

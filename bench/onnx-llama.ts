// A llama / qwen2 prefill graph in ONNX (standard opset-17 ops only) from the bench's F32 or BF16
// safetensors: input ids (1, T) int64 → last position's logits (1, vocab). No KV cache (like the peers'
// export): onnxruntime-web gets a prefill figure only. Rotate-half RoPE as in HF transformers; qwen2's
// q/k/v biases when the file has them. Weights past 1 GiB go to `out`.data (protobuf caps a model at 2 GB).
import { closeSync, existsSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DT, OnnxGraph, f32Reader, transpose } from './onnx.js';

export async function writeLlamaOnnx(dir: string, c: Record<string, any>, out: string, T: number): Promise<string> {
  if (existsSync(out)) return out;
  if (c.model_type !== 'llama' && c.model_type !== 'qwen2') throw new Error(`${dir}/config.json: model_type ${c.model_type}; the ONNX writer builds llama and qwen2 graphs`);
  const { get, has, f32Bytes, close } = f32Reader(`${dir}/model.safetensors`);
  const dim = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads ?? H, hd = c.head_dim ?? dim / H;
  const hidden = c.intermediate_size, V = c.vocab_size, eps = c.rms_norm_eps ?? 1e-6;
  const theta = c.rope_parameters?.rope_theta ?? c.rope_theta ?? 10000;   // transformers ≥ 5 nests it
  const extFd = f32Bytes > 2 ** 30 ? openSync(out + '.data.part', 'w') : undefined;
  const g = new OnnxGraph(extFd === undefined ? undefined : { fd: extFd, location: basename(out) + '.data' });
  const ids = g.input('input_ids', DT.INT64, [1, T]);
  const embed = g.init('embed', [V, dim], get('model.embed_tokens.weight'));
  let x = g.op('Gather', [embed, ids], { axis: 0 });                         // (1, T, dim)

  const cos = new Float32Array(T * hd), sin = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) for (let i = 0; i < hd / 2; i++) {
    const a = t / theta ** ((2 * i) / hd);
    cos[t * hd + i] = cos[t * hd + i + hd / 2] = Math.cos(a);
    sin[t * hd + i] = sin[t * hd + i + hd / 2] = Math.sin(a);
  }
  const cosT = g.init('cos', [T, hd], cos), sinT = g.init('sin', [T, hd], sin);
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  const maskT = g.init('mask', [T, T], mask);
  const epsT = g.scalar(eps), scale = g.scalar(1 / Math.sqrt(hd)), half = g.ints([hd / 2, hd / 2]);

  const rmsnorm = (v: string, w: string) => {
    const ms = g.op('ReduceMean', [g.op('Mul', [v, v])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [g.op('Div', [v, g.op('Sqrt', [g.op('Add', [ms, epsT])])]), w]);
  };
  const linear = (v: string, hf: string, rows: number, cols: number) => {
    const y = g.op('MatMul', [v, g.init(hf, [cols, rows], transpose(get(hf), rows, cols))]);
    const bias = hf.replace(/weight$/, 'bias');
    return has(bias) ? g.op('Add', [y, g.init(bias, [rows], get(bias))]) : y;
  };
  const heads = (v: string, n: number) => g.op('Transpose', [g.op('Reshape', [v, g.ints([1, T, n, hd])])], { perm: [0, 2, 1, 3] });
  const rope = (v: string) => {
    const [a, b] = [g.name('lo'), g.name('hi')];
    g.op('Split', [v, half], { axis: -1 }, [a, b]);
    const rot = g.op('Concat', [g.op('Neg', [b]), a], { axis: -1 });
    return g.op('Add', [g.op('Mul', [v, cosT]), g.op('Mul', [rot, sinT])]);
  };
  const repeatKv = (v: string) => KV === H ? v : g.op('Reshape', [
    g.op('Expand', [g.op('Unsqueeze', [v, g.ints([2])]), g.ints([1, KV, H / KV, T, hd])]), g.ints([1, H, T, hd])]);

  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsnorm(x, g.init(p + 'input_layernorm.weight', [dim], get(p + 'input_layernorm.weight')));
    const q = rope(heads(linear(h, p + 'self_attn.q_proj.weight', H * hd, dim), H));
    const k = repeatKv(rope(heads(linear(h, p + 'self_attn.k_proj.weight', KV * hd, dim), KV)));
    const v = repeatKv(heads(linear(h, p + 'self_attn.v_proj.weight', KV * hd, dim), KV));
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]), maskT]);
    const att = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);   // (1, H, T, hd)
    const merged = g.op('Reshape', [g.op('Transpose', [att], { perm: [0, 2, 1, 3] }), g.ints([1, T, H * hd])]);
    x = g.op('Add', [x, linear(merged, p + 'self_attn.o_proj.weight', dim, H * hd)]);
    const h2 = rmsnorm(x, g.init(p + 'post_attention_layernorm.weight', [dim], get(p + 'post_attention_layernorm.weight')));
    const gate = linear(h2, p + 'mlp.gate_proj.weight', hidden, dim), up = linear(h2, p + 'mlp.up_proj.weight', hidden, dim);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(act, p + 'mlp.down_proj.weight', dim, hidden)]);
  }
  const last = g.op('Gather', [x, g.init('last', [], BigInt64Array.of(BigInt(T - 1)))], { axis: 1 }); // (1, dim)
  const normed = rmsnorm(last, g.init('model.norm.weight', [dim], get('model.norm.weight')));
  const head = c.tie_word_embeddings === false ? g.init('lm_head', [V, dim], get('lm_head.weight')) : embed;
  g.op('Gemm', [normed, head], { transB: 1 }, ['logits']);                     // (1, vocab)
  g.output('logits', DT.FLOAT, [1, V]);
  close();
  if (extFd !== undefined) { closeSync(extFd); renameSync(out + '.data.part', out + '.data'); }
  writeFileSync(out, g.toModel(17));
  return out;
}

// A BERT sentence-embedding graph in ONNX (standard opset-17 ops only) from an F32/BF16/F16 safetensors:
// input_ids (B, T) int64 and attention_mask (B, T) float → mean-pooled, L2-normalised embeddings (B, dim),
// the same work Tide's embed() does. T is fixed at export (the position rows a constant), or left free
// (the position rows sliced to the input's length, for batches of any length).
//
// int8: the linear layers as onnxruntime's quantize_dynamic writes them (QOperator format, weight_type QInt8,
// reduce_range off): each weight int8, symmetric, one scale per tensor (max |w| / 127: its default) or per
// output channel (per_channel=True); the activation quantized per call by DynamicQuantizeLinear (uint8,
// asymmetric, one scale per tensor); then
// MatMulInteger → Cast → Mul by the product of the two scales, and the bias Add. onnxruntime fuses this into
// DynamicQuantizeMatMul. quantize_dynamic would also quantize the two attention products and the word
// embedding's Gather; they stay f32 here, as Tide's q8 leaves attention and the embedding tables f32.
import { existsSync, writeFileSync } from 'node:fs';
import { DT, OnnxGraph, f32Reader, transpose } from './onnx.js';

/**
 * w (rows, cols) row-major → MatMul's (cols, rows) int8 and its scales, quantize_dynamic's symmetric QInt8:
 * one scale (max |w| / 127) for the tensor, or with perChannel one per output row (MatMul's column).
 */
function quantizeWeight(w: Float32Array, rows: number, cols: number, perChannel: boolean): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(perChannel ? rows : 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) { const i = perChannel ? r : 0; scales[i] = Math.max(scales[i], Math.abs(w[r * cols + c]) / 127); }
  }
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scales[perChannel ? r : 0] || 1;
    for (let c = 0; c < cols; c++) q[c * rows + r] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / s)));
  }
  return { q, scales };
}

/**
 * Write the graph for the BERT checkpoint `file` (config.json fields c) to `out`, once; returns `out`.
 * T: the fixed sequence length, or undefined for any length.
 */
export function writeBertOnnx(file: string, c: Record<string, any>, out: string, T?: number, int8?: 'per-tensor' | 'per-channel'): string {
  if (existsSync(out)) return out;
  const { get, close } = f32Reader(file);
  const dim = c.hidden_size, H = c.num_attention_heads, hd = dim / H, hidden = c.intermediate_size, eps = c.layer_norm_eps ?? 1e-12;
  const g = new OnnxGraph();
  const ids = g.input('input_ids', DT.INT64, ['B', T ?? 'T']);
  const mask = g.input('attention_mask', DT.FLOAT, ['B', T ?? 'T']);
  const w = (hf: string, dims: number[]) => g.init(hf, dims, get(hf));
  const matmul = (v: string, p: string, rows: number, cols: number) => {
    if (!int8) return g.op('MatMul', [v, g.init(p + '.weight', [cols, rows], transpose(get(p + '.weight'), rows, cols))]);
    const { q, scales: ws } = quantizeWeight(get(p + '.weight'), rows, cols, int8 === 'per-channel');
    const [xq, xScale, xZero] = [g.name('xq'), g.name('x_scale'), g.name('x_zero')];
    g.op('DynamicQuantizeLinear', [v], {}, [xq, xScale, xZero]);
    const zero = g.init(p + '.weight_zero_point', ws.length > 1 ? [rows] : [], new Int8Array(ws.length));
    const acc = g.op('MatMulInteger', [xq, g.init(p + '.weight_quantized', [cols, rows], q), xZero, zero]);
    const scales = g.op('Mul', [xScale, g.init(p + '.weight_scale', ws.length > 1 ? [rows] : [], ws)]);
    return g.op('Mul', [g.op('Cast', [acc], { to: DT.FLOAT }), scales]);
  };
  const linear = (v: string, p: string, rows: number, cols: number) => g.op('Add', [matmul(v, p, rows, cols), w(p + '.bias', [rows])]);
  const layernorm = (v: string, p: string) => g.op('LayerNormalization', [v, w(p + '.weight', [dim]), w(p + '.bias', [dim])], { axis: -1, epsilon: { float: eps } });
  const heads = (v: string) => g.op('Transpose', [g.op('Reshape', [v, g.ints([0, 0, H, hd])])], { perm: [0, 2, 1, 3] });

  // embeddings: LayerNorm(word[id] + position[t] + type[0])
  const type0 = get('embeddings.token_type_embeddings.weight').subarray(0, dim);
  const positions = T !== undefined ? g.init('positions', [T, dim], get('embeddings.position_embeddings.weight').subarray(0, T * dim).slice())
    : g.op('Slice', [w('embeddings.position_embeddings.weight', [c.max_position_embeddings, dim]), g.ints([0]), g.op('Shape', [ids], { start: 1, end: 2 }), g.ints([0])]);
  let x = g.op('Gather', [w('embeddings.word_embeddings.weight', [c.vocab_size, dim]), ids], { axis: 0 });
  x = g.op('Add', [g.op('Add', [x, positions]), g.init('type0', [dim], type0.slice())]);
  x = layernorm(x, 'embeddings.LayerNorm');
  // (B, 1, 1, T): 0 where attended, −1e9 on padding (HF's extended attention mask).
  const bias = g.op('Mul', [g.op('Sub', [g.scalar(1), g.op('Unsqueeze', [mask, g.ints([1, 2])])]), g.scalar(-1e9)]);
  const scale = g.scalar(1 / Math.sqrt(hd)), half = g.scalar(0.5), one = g.scalar(1), rsqrt2 = g.scalar(Math.SQRT1_2);

  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    const q = heads(linear(x, p + 'attention.self.query', dim, dim));
    const k = heads(linear(x, p + 'attention.self.key', dim, dim));
    const v = heads(linear(x, p + 'attention.self.value', dim, dim));
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]), bias]);
    const att = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);                 // (B, H, T, hd)
    const merged = g.op('Reshape', [g.op('Transpose', [att], { perm: [0, 2, 1, 3] }), g.ints([0, 0, dim])]);
    x = layernorm(g.op('Add', [x, linear(merged, p + 'attention.output.dense', dim, dim)]), p + 'attention.output.LayerNorm');
    const h = linear(x, p + 'intermediate.dense', hidden, dim);
    // GELU, erf form: x/2·(1 + erf(x/√2)); onnxruntime fuses this pattern into its Gelu kernel.
    const gelu = g.op('Mul', [g.op('Mul', [h, half]), g.op('Add', [one, g.op('Erf', [g.op('Mul', [h, rsqrt2])])])]);
    x = layernorm(g.op('Add', [x, linear(gelu, p + 'output.dense', dim, hidden)]), p + 'output.LayerNorm');
  }
  // masked mean over T, then L2 normalisation
  const m3 = g.op('Unsqueeze', [mask, g.ints([2])]);                                            // (B, T, 1)
  const sum = g.op('ReduceSum', [g.op('Mul', [x, m3]), g.ints([1])], { keepdims: 0 });          // (B, dim)
  const mean = g.op('Div', [sum, g.op('ReduceSum', [m3, g.ints([1])], { keepdims: 0 })]);
  const norm = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [mean, mean]), g.ints([1])], { keepdims: 1 })]);
  g.op('Div', [mean, norm], {}, ['embeddings']);
  g.output('embeddings', DT.FLOAT, ['B', dim]);
  close();
  writeFileSync(out, g.toModel(17));
  return out;
}

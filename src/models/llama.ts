// The llama-family decoder (llama, qwen2): weight names, run state, and one forward pass.
// Qwen2 is llama with q/k/v biases (spec.qkvBias). This file never touches file bytes.
import type { ModelSpec } from '../spec.js';
import type { Arena, RegionPlan, Tensor } from '../arena.js';
import { rowsFrom, type Ops } from '../ops.js';
import { ropeAngles } from '../rope.js';

export interface LayerWeights {
  attnNorm: Tensor;                 // (dim,)
  wq: Tensor; wk: Tensor; wv: Tensor; // (qDim, dim), (kvDim, dim), (kvDim, dim)
  bq?: Tensor; bk?: Tensor; bv?: Tensor; // (qDim,), (kvDim,), (kvDim,) when spec.qkvBias
  wo: Tensor;                       // (dim, qDim)
  bo?: Tensor;                      // (dim,) when spec.oBias
  ffnNorm: Tensor;                  // (dim,)
  w1: Tensor;                       // gate_proj (hiddenDim, dim): the gate of the gated linear unit
  w3: Tensor;                       // up_proj (hiddenDim, dim)
  w2: Tensor;                       // down_proj (dim, hiddenDim)
}

export interface LlamaWeights {
  tokEmb: Tensor;      // (vocabSize, dim)
  layers: LayerWeights[];
  finalNorm: Tensor;   // (dim,)
  classifier: Tensor;  // (vocabSize, dim): lm_head, or tokEmb when embeddings are tied
}

/** Every checkpoint tensor the model reads: Hugging Face name → our field, with its shape. */
export function weightTable(spec: ModelSpec): { hf: string; shape: number[] }[] {
  const { dim, qDim, kvDim, hiddenDim, vocabSize } = spec;
  const table = [{ hf: 'model.embed_tokens.weight', shape: [vocabSize, dim] }];
  for (let l = 0; l < spec.nLayers; l++) {
    const p = `model.layers.${l}.`;
    table.push(
      { hf: p + 'input_layernorm.weight', shape: [dim] },
      { hf: p + 'self_attn.q_proj.weight', shape: [qDim, dim] },
      { hf: p + 'self_attn.k_proj.weight', shape: [kvDim, dim] },
      { hf: p + 'self_attn.v_proj.weight', shape: [kvDim, dim] },
      { hf: p + 'self_attn.o_proj.weight', shape: [dim, qDim] },
      { hf: p + 'post_attention_layernorm.weight', shape: [dim] },
      { hf: p + 'mlp.gate_proj.weight', shape: [hiddenDim, dim] },
      { hf: p + 'mlp.up_proj.weight', shape: [hiddenDim, dim] },
      { hf: p + 'mlp.down_proj.weight', shape: [dim, hiddenDim] },
    );
    if (spec.qkvBias) {
      table.push(
        { hf: p + 'self_attn.q_proj.bias', shape: [qDim] },
        { hf: p + 'self_attn.k_proj.bias', shape: [kvDim] },
        { hf: p + 'self_attn.v_proj.bias', shape: [kvDim] },
      );
    }
    if (spec.oBias) table.push({ hf: p + 'self_attn.o_proj.bias', shape: [dim] });
  }
  table.push({ hf: 'model.norm.weight', shape: [dim] });
  if (!spec.tiedEmbeddings) table.push({ hf: 'lm_head.weight', shape: [vocabSize, dim] });
  return table;
}

/** Bind loaded tensors (by HF name) to the fields the forward pass uses. */
export function bindWeights(spec: ModelSpec, get: (hf: string) => Tensor): LlamaWeights {
  const maybe = (hf: string, present: boolean) => (present ? get(hf) : undefined);
  const layers = Array.from({ length: spec.nLayers }, (_, l): LayerWeights => {
    const p = `model.layers.${l}.`;
    return {
      attnNorm: get(p + 'input_layernorm.weight'),
      wq: get(p + 'self_attn.q_proj.weight'), wk: get(p + 'self_attn.k_proj.weight'), wv: get(p + 'self_attn.v_proj.weight'),
      bq: maybe(p + 'self_attn.q_proj.bias', spec.qkvBias),
      bk: maybe(p + 'self_attn.k_proj.bias', spec.qkvBias),
      bv: maybe(p + 'self_attn.v_proj.bias', spec.qkvBias),
      wo: get(p + 'self_attn.o_proj.weight'), bo: maybe(p + 'self_attn.o_proj.bias', spec.oBias),
      ffnNorm: get(p + 'post_attention_layernorm.weight'),
      w1: get(p + 'mlp.gate_proj.weight'), w3: get(p + 'mlp.up_proj.weight'), w2: get(p + 'mlp.down_proj.weight'),
    };
  });
  const tokEmb = get('model.embed_tokens.weight');
  return {
    tokEmb, layers,
    finalNorm: get('model.norm.weight'),
    classifier: spec.tiedEmbeddings ? tokEmb : get('lm_head.weight'),
  };
}

/** Activations for up to C tokens per forward, and the KV cache for ctx positions (run.c's RunState). */
export interface RunState {
  C: number;            // tokens per forward (the prefill chunk)
  ctx: number;          // positions the KV cache holds
  x: Tensor;            // (C, dim) the residual stream
  xb: Tensor;           // (C, dim) normed input of a sublayer
  xb2: Tensor;          // (C, dim) a sublayer's output before the residual add
  q: Tensor;            // (C, qDim)
  attnOut: Tensor;      // (C, qDim) attention output, input of wo
  hb: Tensor;           // (C, hiddenDim) gate, then silu(gate) * up
  hb2: Tensor;          // (C, hiddenDim) up
  att: Tensor;          // (ctx,) attention scores of one head
  cos: Tensor;          // (C, headDim / 2) RoPE angles of this forward's positions
  sin: Tensor;          // (C, headDim / 2)
  logits: Tensor;       // (vocabSize,)
  keyCache: Tensor[];   // per layer (ctx, kvDim)
  valueCache: Tensor[]; // per layer (ctx, kvDim)
}

function stateShapes(spec: ModelSpec, C: number, ctx: number): [string, number, number][] {
  const { dim, qDim, kvDim, hiddenDim, headDim, vocabSize } = spec;
  const shapes: [string, number, number][] = [
    ['x', C, dim], ['xb', C, dim], ['xb2', C, dim], ['q', C, qDim], ['attnOut', C, qDim],
    ['hb', C, hiddenDim], ['hb2', C, hiddenDim], ['att', ctx, 1], ['cos', C, headDim / 2], ['sin', C, headDim / 2],
    ['logits', vocabSize, 1],
  ];
  for (let l = 0; l < spec.nLayers; l++) shapes.push([`keyCache.${l}`, ctx, kvDim], [`valueCache.${l}`, ctx, kvDim]);
  return shapes;
}

/** The regions a RunState needs, for planning memory before anything is allocated. */
export function planRunState(spec: ModelSpec, C: number, ctx: number): RegionPlan[] {
  return stateShapes(spec, C, ctx).map(([name, r, c]) => ({ name, bytes: r * c * 4 }));
}

export function allocRunState(arena: Arena, spec: ModelSpec, C: number, ctx: number): RunState {
  const t: Record<string, Tensor> = {};
  for (const [name, r, c] of stateShapes(spec, C, ctx)) t[name] = arena.tensor(name, r, c === 1 ? undefined : c);
  const perLayer = (kind: string) => Array.from({ length: spec.nLayers }, (_, l) => t[`${kind}.${l}`]);
  return {
    C, ctx, x: t.x, xb: t.xb, xb2: t.xb2, q: t.q, attnOut: t.attnOut, hb: t.hb, hb2: t.hb2, att: t.att,
    cos: t.cos, sin: t.sin, logits: t.logits, keyCache: perLayer('keyCache'), valueCache: perLayer('valueCache'),
  };
}

/**
 * Run T = ids.length ≤ C tokens at positions pos0 .. pos0 + T - 1 through the model. Leaves the
 * final-normed hidden states in s.x (T, dim) and the new keys/values in the cache; `logitsAt`
 * then projects one row to the vocabulary. Decode is the same pass with T = 1.
 */
export function forward(ops: Ops, spec: ModelSpec, w: LlamaWeights, s: RunState, arena: Arena,
                        invFreq: Float64Array, ids: ArrayLike<number>, pos0: number): void {
  const T = ids.length;
  const { nHeads, nKvHeads, headDim, normEps } = spec;
  ops.embed(s.x, w.tokEmb, ids);
  ropeAngles(invFreq, pos0, T, arena.f32(s.cos.ptr, T * headDim / 2), arena.f32(s.sin.ptr, T * headDim / 2));

  for (let l = 0; l < spec.nLayers; l++) {
    const L = w.layers[l];
    // k and v are written straight into the cache at rows pos0 .. pos0 + T - 1 (run.c does the same).
    const k = rowsFrom(s.keyCache[l], pos0), v = rowsFrom(s.valueCache[l], pos0);

    // attention: x += wo · attention(rope(wq · norm(x)), rope(wk · norm(x)), wv · norm(x))
    ops.rmsnorm(s.xb, s.x, L.attnNorm, T, normEps);
    ops.matmul(s.q, s.xb, L.wq, T);
    ops.matmul(k, s.xb, L.wk, T);
    ops.matmul(v, s.xb, L.wv, T);
    if (L.bq && L.bk && L.bv) { ops.addBias(s.q, L.bq, T); ops.addBias(k, L.bk, T); ops.addBias(v, L.bv, T); }
    ops.rope(s.q, s.cos, s.sin, nHeads, headDim, T);
    ops.rope(k, s.cos, s.sin, nKvHeads, headDim, T);
    ops.attention(s.attnOut, s.q, s.keyCache[l], s.valueCache[l], s.att, nHeads, nKvHeads, headDim, pos0, T);
    ops.matmul(s.xb2, s.attnOut, L.wo, T);
    if (L.bo) ops.addBias(s.xb2, L.bo, T);
    ops.add(s.x, s.x, s.xb2, T);

    // feed-forward: x += w2 · (silu(w1 · norm(x)) * (w3 · norm(x)))
    ops.rmsnorm(s.xb, s.x, L.ffnNorm, T, normEps);
    ops.matmul(s.hb, s.xb, L.w1, T);
    ops.matmul(s.hb2, s.xb, L.w3, T);
    ops.swiglu(s.hb, s.hb, s.hb2, T);
    ops.matmul(s.xb2, s.hb, L.w2, T);
    ops.add(s.x, s.x, s.xb2, T);
  }
  ops.rmsnorm(s.x, s.x, w.finalNorm, T, normEps);
}

/** s.logits (vocabSize,) = classifier · s.x[row]. */
export function logitsAt(ops: Ops, w: LlamaWeights, s: RunState, row: number): void {
  ops.matmul({ ...s.logits, shape: [1, s.logits.shape[0]] }, rowsFrom(s.x, row), w.classifier, 1);
}

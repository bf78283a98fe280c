// The llama-family decoder (llama, qwen2): weight names, run state, and one forward pass.
// Qwen2 is llama with q/k/v biases (spec.qkvBias). This file never touches file bytes.
import type { ModelSpec } from './spec.js';
import type { Arena, RegionPlan, Tensor } from '../runtime/arena.js';
import { rowsFrom, type Ops } from '../runtime/ops.js';
import { ropeAngles } from './rope.js';

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
  k: Tensor;            // (C, kvDim) this forward's keys, stored into the cache after RoPE
  v: Tensor;            // (C, kvDim) this forward's values
  attnOut: Tensor;      // (C, qDim) attention output, input of wo
  hb: Tensor;           // (C, hiddenDim) gate, then silu(gate) * up
  hb2: Tensor;          // (C, hiddenDim) up
  att: Tensor;          // (threads, ctx) attention scores of one head, a row per thread
  cos: Tensor;          // (C, headDim / 2) RoPE angles of this forward's positions
  sin: Tensor;          // (C, headDim / 2)
  logits: Tensor;       // (vocabSize,)
  keyCache: Tensor[];   // per layer (ctx, kvDim), f32 or f16 (kv)
  valueCache: Tensor[]; // per layer (ctx, kvDim)
  kv: KvDtype;
}

/** KV cache element type: f16 halves the cache (values rounded to nearest f16). */
export type KvDtype = 'f32' | 'f16';
const isCache = (name: string) => name.startsWith('keyCache.') || name.startsWith('valueCache.');

function stateShapes(spec: ModelSpec, C: number, ctx: number, threads: number): [string, number, number][] {
  const { dim, qDim, kvDim, hiddenDim, headDim, vocabSize } = spec;
  const shapes: [string, number, number][] = [
    ['x', C, dim], ['xb', C, dim], ['xb2', C, dim], ['q', C, qDim], ['k', C, kvDim], ['v', C, kvDim], ['attnOut', C, qDim],
    ['hb', C, hiddenDim], ['hb2', C, hiddenDim], ['att', threads, ctx], ['cos', C, headDim / 2], ['sin', C, headDim / 2],
    ['logits', vocabSize, 1],
  ];
  for (let l = 0; l < spec.nLayers; l++) shapes.push([`keyCache.${l}`, ctx, kvDim], [`valueCache.${l}`, ctx, kvDim]);
  return shapes;
}

/** The regions a RunState needs, for planning memory before anything is allocated. */
export function planRunState(spec: ModelSpec, C: number, ctx: number, threads = 1, kv: KvDtype = 'f32'): RegionPlan[] {
  return stateShapes(spec, C, ctx, threads).map(([name, r, c]) => ({ name, bytes: r * c * (isCache(name) && kv === 'f16' ? 2 : 4) }));
}

export function allocRunState(arena: Arena, spec: ModelSpec, C: number, ctx: number, threads = 1, kv: KvDtype = 'f32'): RunState {
  const t: Record<string, Tensor> = {};
  for (const [name, r, c] of stateShapes(spec, C, ctx, threads)) {
    t[name] = isCache(name) && kv === 'f16' ? { name, ptr: arena.alloc(name, r * c * 2), shape: [r, c], dtype: 'f16' }
      : arena.tensor(name, r, c === 1 ? undefined : c);
  }
  const perLayer = (kind: string) => Array.from({ length: spec.nLayers }, (_, l) => t[`${kind}.${l}`]);
  return {
    C, ctx, kv, x: t.x, xb: t.xb, xb2: t.xb2, q: t.q, k: t.k, v: t.v, attnOut: t.attnOut, hb: t.hb, hb2: t.hb2, att: t.att,
    cos: t.cos, sin: t.sin, logits: t.logits, keyCache: perLayer('keyCache'), valueCache: perLayer('valueCache'),
  };
}

/**
 * Called after each named step of forward with the tensor it wrote (its first T rows are this
 * forward's), like llama.cpp's cb(cur, name, il); layer is -1 outside the layers. See src/inspect/trace.ts.
 */
export type TraceHook = (name: string, layer: number, t: Tensor) => void;

/**
 * Run T = ids.length ≤ C tokens at positions pos0 .. pos0 + T - 1 through the model. Leaves the
 * final-normed hidden states in s.x (T, dim) and the new keys/values in the cache; `logitsAt`
 * then projects one row to the vocabulary. Decode is the same pass with T = 1.
 */
export function forward(ops: Ops, spec: ModelSpec, w: LlamaWeights, s: RunState, arena: Arena,
                        invFreq: Float64Array, ids: ArrayLike<number>, pos0: number, trace?: TraceHook): void {
  const T = ids.length;
  const { nHeads, nKvHeads, headDim, normEps } = spec;
  ops.embed(s.x, w.tokEmb, ids);
  trace?.('embed', -1, s.x);
  ropeAngles(invFreq, pos0, T, arena.f32(s.cos.ptr, T * headDim / 2), arena.f32(s.sin.ptr, T * headDim / 2));

  for (let l = 0; l < spec.nLayers; l++) {
    const L = w.layers[l];

    // attention: x += wo · attention(rope(wq · norm(x)), rope(wk · norm(x)), wv · norm(x))
    ops.rmsnorm(s.xb, s.x, L.attnNorm, T, normEps);
    trace?.('attn_norm', l, s.xb);
    ops.matmuls([s.q, s.k, s.v], s.xb, [L.wq, L.wk, L.wv], T);
    if (L.bq && L.bk && L.bv) { ops.addBias(s.q, L.bq, T); ops.addBias(s.k, L.bk, T); ops.addBias(s.v, L.bv, T); }
    ops.rope(s.q, s.cos, s.sin, nHeads, headDim, T);
    ops.rope(s.k, s.cos, s.sin, nKvHeads, headDim, T);
    trace?.('q', l, s.q); trace?.('k', l, s.k); trace?.('v', l, s.v); // q and k after RoPE (llama.cpp's Qcur, Kcur)
    ops.storeKv(s.keyCache[l], s.k, pos0, T); // rows pos0 .. pos0 + T - 1, as f32 or f16 (s.kv)
    ops.storeKv(s.valueCache[l], s.v, pos0, T);
    ops.attention(s.attnOut, s.q, s.keyCache[l], s.valueCache[l], s.att, nHeads, nKvHeads, headDim, pos0, T);
    trace?.('attn', l, s.attnOut);
    ops.matmul(s.xb2, s.attnOut, L.wo, T);
    if (L.bo) ops.addBias(s.xb2, L.bo, T);
    trace?.('attn_out', l, s.xb2);
    ops.add(s.x, s.x, s.xb2, T);
    trace?.('ffn_inp', l, s.x);

    // feed-forward: x += w2 · (silu(w1 · norm(x)) * (w3 · norm(x)))
    ops.rmsnorm(s.xb, s.x, L.ffnNorm, T, normEps);
    trace?.('ffn_norm', l, s.xb);
    ops.matmuls([s.hb, s.hb2], s.xb, [L.w1, L.w3], T);
    ops.swiglu(s.hb, s.hb, s.hb2, T);
    trace?.('ffn_act', l, s.hb);
    ops.matmul(s.xb2, s.hb, L.w2, T);
    trace?.('ffn_out', l, s.xb2);
    ops.add(s.x, s.x, s.xb2, T);
    trace?.('l_out', l, s.x); // the residual stream after layer l (what the logit lens reads)
  }
  ops.rmsnorm(s.x, s.x, w.finalNorm, T, normEps);
  trace?.('result_norm', -1, s.x);
}

/** s.logits (vocabSize,) = classifier · s.x[row]. */
export function logitsAt(ops: Ops, w: LlamaWeights, s: RunState, row: number, trace?: TraceHook): void {
  ops.matmul({ ...s.logits, shape: [1, s.logits.shape[0]] }, rowsFrom(s.x, row), w.classifier, 1);
  trace?.('logits', -1, s.logits);
}

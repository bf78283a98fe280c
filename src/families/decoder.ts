// The decoder every causal family shares (llama, qwen2, qwen3, gemma3, phi3, smollm3, mistral): one spec
// with feature flags (tinygrad's TransformerConfig), the run state, and one forward pass. A family file
// reads its config into a DecoderSpec and names its checkpoint tensors; nothing here touches file bytes.
import type { Arena, RegionPlan, Tensor } from '../runtime/arena.js';
import { encoderAttentionFloats, rowsFrom, type Ops } from '../runtime/ops.js';
import { RopeTable, type RopeSpec } from './rope.js';
import { gather, type FamilyRecord, type WeightEntry } from './family.js';

/** A decoder family: reads its config into a DecoderSpec and names its tensors; runs the graph below. */
export type DecoderFamily = FamilyRecord<'decoder', DecoderSpec>;

/** Per layer: which RoPE (an index into spec.ropes, -1: none) and how far back attention looks (0: all). */
export interface LayerKind { rope: number; window: number }

export interface DecoderSpec {
  family: string;          // the registry's family name ("llama", "gemma3", ...)
  modelType: string;       // config.model_type
  dim: number;             // hidden_size
  hiddenDim: number;       // intermediate_size (the gated MLP's width)
  nLayers: number;
  nHeads: number;
  nKvHeads: number;        // < nHeads: grouped-query attention
  headDim: number;
  qDim: number;            // nHeads * headDim (need not equal dim)
  kvDim: number;           // nKvHeads * headDim
  vocabSize: number;
  seqLen: number;          // max_position_embeddings: the longest context the model was made for
  normEps: number;
  normPlusOne: boolean;    // Gemma: RMSNorm scales by (1 + w)
  qkvBias: boolean;        // qwen2, or attention_bias
  oBias: boolean;          // attention_bias also biases o_proj (llama)
  qkNorm: boolean;         // RMSNorm per head on q and k before RoPE (qwen3, gemma3)
  sandwichNorms: boolean;  // norms on the attention and MLP outputs too (gemma3)
  act: 'silu' | 'gelu_tanh'; // the MLP gate: SwiGLU or GeGLU with tanh-GELU
  embedScale: number;      // the embedding is multiplied by this (gemma: √dim)
  attnScale: number;       // scores are q·k times this: 1/√headDim, or query_pre_attn_scalar^-½
  attnSoftcap: number;     // 0, or scores → tanh(s / cap) · cap (gemma2)
  finalSoftcap: number;    // 0, or logits → tanh(l / cap) · cap
  ropes: RopeSpec[];       // one per kind of layer (gemma3: sliding and full)
  layers: LayerKind[];
  tiedEmbeddings: boolean;
  bidirectional: boolean;  // as an encoder, attention looks both ways (EmbeddingGemma)
  bosTokenId?: number;
  eosTokenIds: number[];
}

export interface LayerWeights {
  attnNorm: Tensor;                      // (dim,)
  wq: Tensor; wk: Tensor; wv: Tensor;    // (qDim, dim), (kvDim, dim), (kvDim, dim)
  bq?: Tensor; bk?: Tensor; bv?: Tensor; // (qDim,), (kvDim,), (kvDim,) with qkvBias
  qNorm?: Tensor; kNorm?: Tensor;        // (headDim,) with qkNorm
  wo: Tensor;                            // (dim, qDim)
  bo?: Tensor;                           // (dim,) with oBias
  attnPostNorm?: Tensor;                 // (dim,) with sandwichNorms
  ffnNorm: Tensor;                       // (dim,)
  w1: Tensor;                            // gate_proj (hiddenDim, dim)
  w3: Tensor;                            // up_proj (hiddenDim, dim)
  w2: Tensor;                            // down_proj (dim, hiddenDim)
  ffnPostNorm?: Tensor;                  // (dim,) with sandwichNorms
}

export interface DecoderWeights {
  tokEmb: Tensor;      // (vocabSize, dim)
  layers: LayerWeights[];
  finalNorm: Tensor;   // (dim,)
  classifier?: Tensor; // (vocabSize, dim): lm_head, or tokEmb when embeddings are tied; none in a bare base model
}

/**
 * What a decoder checkpoint may hold that the graph never reads: `rotary_emb.inv_freq`, RoPE's frequencies,
 * which older transformers saved with the weights (made here from the config), and `lm_head.weight` when
 * the embeddings are tied (transformers ties it to embed_tokens at load, so a stored copy is never used;
 * an untied lm_head is in the table).
 */
export const DECODER_UNREAD = /(^|\.)rotary_emb\.inv_freq$|^lm_head\.weight$/;

/**
 * The llama checkpoint layout, which most families keep: `model.embed_tokens`, per layer
 * `input_layernorm`, `self_attn.{q,k,v,o}_proj`, `post_attention_layernorm` (the MLP's norm) and
 * `mlp.{gate,up,down}_proj`, then `model.norm` and `lm_head`. Biases and q/k norms as the spec says.
 * A bare base model (an embedder's checkpoint: `embed_tokens`, `layers.N…`, `norm`) has no prefix and no head.
 */
export function llamaLayout(spec: DecoderSpec, has: (hf: string) => boolean): WeightEntry[] {
  const prefix = basePrefix(has);
  const { dim, qDim, kvDim, hiddenDim, vocabSize, headDim } = spec;
  const table: WeightEntry[] = [{ hf: prefix + 'embed_tokens.weight', shape: [vocabSize, dim], field: 'tokEmb' }];
  for (let layer = 0; layer < spec.nLayers; layer++) {
    const p = `${prefix}layers.${layer}.`;
    const add = (hf: string, shape: number[], field: keyof LayerWeights) => table.push({ hf: p + hf, shape, field, layer });
    add('input_layernorm.weight', [dim], 'attnNorm');
    add('self_attn.q_proj.weight', [qDim, dim], 'wq');
    add('self_attn.k_proj.weight', [kvDim, dim], 'wk');
    add('self_attn.v_proj.weight', [kvDim, dim], 'wv');
    if (spec.qkvBias) {
      add('self_attn.q_proj.bias', [qDim], 'bq');
      add('self_attn.k_proj.bias', [kvDim], 'bk');
      add('self_attn.v_proj.bias', [kvDim], 'bv');
    }
    if (spec.qkNorm) {
      add('self_attn.q_norm.weight', [headDim], 'qNorm');
      add('self_attn.k_norm.weight', [headDim], 'kNorm');
    }
    add('self_attn.o_proj.weight', [dim, qDim], 'wo');
    if (spec.oBias) add('self_attn.o_proj.bias', [dim], 'bo');
    add('post_attention_layernorm.weight', [dim], 'ffnNorm');
    add('mlp.gate_proj.weight', [hiddenDim, dim], 'w1');
    add('mlp.up_proj.weight', [hiddenDim, dim], 'w3');
    add('mlp.down_proj.weight', [dim, hiddenDim], 'w2');
  }
  table.push({ hf: prefix + 'norm.weight', shape: [dim], field: 'finalNorm' });
  if (!spec.tiedEmbeddings && prefix) table.push({ hf: 'lm_head.weight', shape: [vocabSize, dim], field: 'classifier' });
  return table;
}

/**
 * Parameters of the embedding and the layers' matrices, from the dims alone: at most the table's (a lower
 * bound for planning; an untied lm_head is left out, as a bare base model has none).
 */
export function decoderMatrixParameters(spec: DecoderSpec): number {
  const { dim, qDim, kvDim, hiddenDim, vocabSize, nLayers } = spec;
  return vocabSize * dim + nLayers * dim * (2 * qDim + 2 * kvDim + 3 * hiddenDim);
}

/** "model." for a causal LM's checkpoint, "" for a bare base model's. */
export const basePrefix = (has: (hf: string) => boolean) => (!has('model.embed_tokens.weight') && has('embed_tokens.weight') ? '' : 'model.');

/** Gather the loaded tensors into the fields the forward pass reads (a tied classifier is tokEmb). */
export function bindDecoder(spec: DecoderSpec, table: WeightEntry[], get: (e: WeightEntry) => Tensor): DecoderWeights {
  const { top, layers } = gather(table, spec.nLayers, get);
  return {
    tokEmb: top.tokEmb, finalNorm: top.finalNorm, classifier: top.classifier ?? (spec.tiedEmbeddings ? top.tokEmb : undefined),
    layers: layers as unknown as LayerWeights[],
  };
}

/**
 * The weights as the graph reads them, from the loaded tensors: bound by the table, and Gemma's RMSNorm
 * gains turned into (1 + w) once here, so the norm kernel is the same for every family.
 */
export function decoderWeights(spec: DecoderSpec, table: WeightEntry[], get: (e: WeightEntry) => Tensor, arena: Arena): DecoderWeights {
  const w = bindDecoder(spec, table, get);
  if (spec.normPlusOne) {
    const norms = [w.finalNorm, ...w.layers.flatMap((L) => [L.attnNorm, L.ffnNorm, L.qNorm, L.kNorm, L.attnPostNorm, L.ffnPostNorm])];
    for (const t of norms) if (t) arena.f32(t.ptr, t.shape[0]).forEach((g, i, a) => { a[i] = g + 1; });
  }
  return w;
}

/** KV cache element type: f16 halves the cache (values rounded to nearest f16). */
export type KvDtype = 'f32' | 'f16';

/** The activations one layer reads and writes, a row per token (RunState, BatchState and EncodeState have them). */
export interface Activations {
  x: Tensor;            // (N, dim) the residual stream
  xb: Tensor;           // (N, dim) normed input of a sublayer
  xb2: Tensor;          // (N, dim) a sublayer's output before the residual add
  q: Tensor;            // (N, qDim)
  k: Tensor;            // (N, kvDim) this forward's keys, stored into the cache after RoPE
  v: Tensor;            // (N, kvDim) this forward's values
  attnOut: Tensor;      // (N, qDim) attention output, input of wo
  hb: Tensor;           // (N, hiddenDim) gate, then act(gate) * up
  hb2: Tensor;          // (N, hiddenDim) up
  cos: Tensor[];        // per rope kind (N, rotDim / 2): RoPE angles of each row's position
  sin: Tensor[];
}

/** Activations for up to C tokens per forward, and the KV cache for ctx positions (run.c's RunState). */
export interface RunState extends Activations, KvCache {
  C: number;            // tokens per forward (the prefill chunk)
  ctx: number;          // positions a session may hold
  logits: Tensor;       // (vocabSize,)
}

/** One sequence's KV cache: the region a forward reads and extends for it (a session's). */
export interface KvCache {
  keyCache: Tensor[];   // per layer (rows, kvDim), f32 or f16: ctx rows, or a ring for a windowed layer
  valueCache: Tensor[];
  att: Tensor;          // (threads, ctx) attention scratch, a row per thread
  kv: KvDtype;
}

/**
 * Cache rows of a layer: a windowed layer keeps a ring of window + C − 1 rows, so a chunk of C new
 * keys never overwrites one that a query of the same chunk still sees (llama.cpp's SWA cache).
 */
export const cacheRows = (kind: LayerKind, C: number, ctx: number) => (kind.window > 0 ? Math.min(ctx, kind.window + C - 1) : ctx);

const isCache = (name: string) => name.startsWith('keyCache.') || name.startsWith('valueCache.');

/** The activations of a forward over up to N rows: what block() reads and writes. */
function activationShapes(spec: DecoderSpec, N: number): [string, number, number][] {
  const { dim, qDim, kvDim, hiddenDim } = spec;
  const shapes: [string, number, number][] = [
    ['x', N, dim], ['xb', N, dim], ['xb2', N, dim], ['q', N, qDim], ['k', N, kvDim], ['v', N, kvDim], ['attnOut', N, qDim],
    ['hb', N, hiddenDim], ['hb2', N, hiddenDim],
  ];
  spec.ropes.forEach((r, i) => shapes.push([`cos.${i}`, N, r.rotDim / 2], [`sin.${i}`, N, r.rotDim / 2]));
  return shapes;
}

function stateShapes(spec: DecoderSpec, C: number, ctx: number, threads: number): [string, number, number][] {
  const shapes = [...activationShapes(spec, C), ['att', threads, ctx], ['logits', spec.vocabSize, 1]] as [string, number, number][];
  spec.layers.forEach((kind, l) => {
    const rows = cacheRows(kind, C, ctx);
    shapes.push([`keyCache.${l}`, rows, spec.kvDim], [`valueCache.${l}`, rows, spec.kvDim]);
  });
  return shapes;
}

/** The regions a RunState needs, for planning memory before anything is allocated. */
export function planRunState(spec: DecoderSpec, C: number, ctx: number, threads = 1, kv: KvDtype = 'f32'): RegionPlan[] {
  return stateShapes(spec, C, ctx, threads).map(([name, r, c]) => ({ name, bytes: r * c * (isCache(name) && kv === 'f16' ? 2 : 4) }));
}

/** The named tensors of `shapes` (f32, or f16 for a cache when kv is 'f16'). */
function allocShapes(arena: Arena, shapes: [string, number, number][], kv: KvDtype = 'f32'): Record<string, Tensor> {
  const t: Record<string, Tensor> = {};
  for (const [name, r, c] of shapes) {
    t[name] = isCache(name) && kv === 'f16' ? { name, ptr: arena.alloc(name, r * c * 2), shape: [r, c], dtype: 'f16' }
      : arena.tensor(name, r, c === 1 ? undefined : c);
  }
  return t;
}

const each = (t: Record<string, Tensor>, kind: string, n: number) => Array.from({ length: n }, (_, i) => t[`${kind}.${i}`]);

function activations(spec: DecoderSpec, t: Record<string, Tensor>): Activations {
  return { x: t.x, xb: t.xb, xb2: t.xb2, q: t.q, k: t.k, v: t.v, attnOut: t.attnOut, hb: t.hb, hb2: t.hb2,
    cos: each(t, 'cos', spec.ropes.length), sin: each(t, 'sin', spec.ropes.length) };
}

export function allocRunState(arena: Arena, spec: DecoderSpec, C: number, ctx: number, threads = 1, kv: KvDtype = 'f32'): RunState {
  const t = allocShapes(arena, stateShapes(spec, C, ctx, threads), kv);
  return { C, ctx, kv, ...activations(spec, t), att: t.att, logits: t.logits,
    keyCache: each(t, 'keyCache', spec.nLayers), valueCache: each(t, 'valueCache', spec.nLayers) };
}

/**
 * Activations for one forward over up to N rows of any number of sequences (each with its own KvCache),
 * and logits for up to R of those rows at once: the classifier runs as one GEMM over them.
 */
export interface BatchState extends Activations {
  N: number;
  R: number;
  logits: Tensor;       // (R, vocabSize)
}

const batchShapes = (spec: DecoderSpec, N: number, R: number) =>
  [...activationShapes(spec, N), ['logits', R, spec.vocabSize]] as [string, number, number][];

export function planBatchState(spec: DecoderSpec, N: number, R: number): RegionPlan[] {
  return batchShapes(spec, N, R).map(([name, r, c]) => ({ name: `batch.${name}`, bytes: r * c * 4 }));
}

export function allocBatchState(arena: Arena, spec: DecoderSpec, N: number, R: number): BatchState {
  const t = allocShapes(arena, batchShapes(spec, N, R));
  return { N, R, ...activations(spec, t), logits: t.logits };
}

/**
 * Called after each named step of forward with the tensor it wrote (its first T rows are this
 * forward's), like llama.cpp's cb(cur, name, il); layer is -1 outside the layers. See src/inspect/trace.ts.
 */
export type TraceHook = (name: string, layer: number, t: Tensor) => void;

/**
 * One transformer block over T rows of s.x. `attend(l)` turns s.q, s.k, s.v (after RoPE) into
 * s.attnOut: over the KV cache when generating, within each packed sequence when encoding.
 */
function block(ops: Ops, spec: DecoderSpec, L: LayerWeights, s: Activations, T: number, l: number,
               attend: (l: number) => void, trace?: TraceHook): void {
  const { nHeads, nKvHeads, headDim, normEps } = spec, kind = spec.layers[l];

  // attention: x += [postnorm] wo · attention(rope(qnorm(wq · norm(x))), rope(knorm(wk · norm(x))), wv · norm(x))
  ops.rmsnorm(s.xb, s.x, L.attnNorm, T, normEps);
  trace?.('attn_norm', l, s.xb);
  ops.matmuls([s.q, s.k, s.v], s.xb, [L.wq, L.wk, L.wv], T);
  if (L.bq && L.bk && L.bv) { ops.addBias(s.q, L.bq, T); ops.addBias(s.k, L.bk, T); ops.addBias(s.v, L.bv, T); }
  if (L.qNorm && L.kNorm) { ops.rmsnormHeads(s.q, s.q, L.qNorm, nHeads, T, normEps); ops.rmsnormHeads(s.k, s.k, L.kNorm, nKvHeads, T, normEps); }
  if (kind.rope >= 0) {
    const cos = s.cos[kind.rope], sin = s.sin[kind.rope], rotDim = spec.ropes[kind.rope].rotDim;
    ops.rope(s.q, cos, sin, nHeads, headDim, T, rotDim);
    ops.rope(s.k, cos, sin, nKvHeads, headDim, T, rotDim);
  }
  trace?.('q', l, s.q); trace?.('k', l, s.k); trace?.('v', l, s.v); // q and k after RoPE (llama.cpp's Qcur, Kcur)
  attend(l);
  trace?.('attn', l, s.attnOut);
  ops.matmul(s.xb2, s.attnOut, L.wo, T);
  if (L.bo) ops.addBias(s.xb2, L.bo, T);
  if (L.attnPostNorm) ops.rmsnorm(s.xb2, s.xb2, L.attnPostNorm, T, normEps);
  trace?.('attn_out', l, s.xb2);
  ops.add(s.x, s.x, s.xb2, T);
  trace?.('ffn_inp', l, s.x);

  // feed-forward: x += [postnorm] w2 · (act(w1 · norm(x)) * (w3 · norm(x)))
  ops.rmsnorm(s.xb, s.x, L.ffnNorm, T, normEps);
  trace?.('ffn_norm', l, s.xb);
  ops.matmuls([s.hb, s.hb2], s.xb, [L.w1, L.w3], T);
  if (spec.act === 'gelu_tanh') ops.geglu(s.hb, s.hb, s.hb2, T);
  else ops.swiglu(s.hb, s.hb, s.hb2, T);
  trace?.('ffn_act', l, s.hb);
  ops.matmul(s.xb2, s.hb, L.w2, T);
  if (L.ffnPostNorm) ops.rmsnorm(s.xb2, s.xb2, L.ffnPostNorm, T, normEps);
  trace?.('ffn_out', l, s.xb2);
  ops.add(s.x, s.x, s.xb2, T);
  trace?.('l_out', l, s.x); // the residual stream after layer l (what the logit lens reads)
}

/** x (T, dim) = the token embeddings of ids, scaled for Gemma. */
function embed(ops: Ops, spec: DecoderSpec, w: DecoderWeights, x: Tensor, ids: ArrayLike<number>): void {
  ops.embed(x, w.tokEmb, ids);
  if (spec.embedScale !== 1) ops.scale(x, ids.length, spec.embedScale);
}

/** One sequence's rows in a forward: its new ids, at positions pos0, pos0 + 1, ..., over its own cache. */
export interface SeqRows { ids: ArrayLike<number>; pos0: number; cache: KvCache }

/**
 * Run the ids of every sequence in `seqs` through the model as one forward: their rows side by side in s
 * (sequence i at rows off_i .. off_i + T_i − 1), so each matmul is one GEMM over all rows; RoPE and
 * attention per sequence at its own positions over its own cache. T_i must not exceed the C its ring
 * caches were made for. Leaves the final-normed hidden states in s.x and the new keys/values in each
 * cache; `logitsAt`/`logitsRows` then project rows to the vocabulary. Decode is the same pass with T = 1.
 */
export function forward(ops: Ops, spec: DecoderSpec, w: DecoderWeights, s: Activations, arena: Arena,
                        ropes: RopeTable[], seqs: SeqRows[], trace?: TraceHook): void {
  const { nHeads, nKvHeads, headDim } = spec;
  const offs = [0];
  for (const q of seqs) offs.push(offs[offs.length - 1] + q.ids.length);
  const N = offs[seqs.length];
  embed(ops, spec, w, s.x, seqs.length === 1 ? seqs[0].ids : seqs.flatMap((q) => Array.from(q.ids)));
  trace?.('embed', -1, s.x);
  ropes.forEach((r, i) => seqs.forEach((q, j) => {
    const half = s.cos[i].shape[1], at = s.cos[i].ptr + offs[j] * half * 4, n = q.ids.length * half;
    r.angles(q.pos0, q.ids.length, arena.f32(at, n), arena.f32(s.sin[i].ptr + offs[j] * half * 4, n));
  }));
  const attend = (l: number) => seqs.forEach(({ ids, pos0, cache }, j) => {
    const kc = cache.keyCache[l], vc = cache.valueCache[l], ringRows = kc.shape[0], T = ids.length, off = offs[j];
    ops.storeKv(kc, rowsFrom(s.k, off), pos0, T, ringRows); // as f32 or f16 (cache.kv), at row pos % ringRows
    ops.storeKv(vc, rowsFrom(s.v, off), pos0, T, ringRows);
    ops.attention(rowsFrom(s.attnOut, off), rowsFrom(s.q, off), kc, vc, cache.att, nHeads, nKvHeads, headDim, pos0, T,
      { scale: spec.attnScale, softcap: spec.attnSoftcap, window: spec.layers[l].window, ringRows });
  });
  for (let l = 0; l < spec.nLayers; l++) block(ops, spec, w.layers[l], s, N, l, attend, trace);
  ops.rmsnorm(s.x, s.x, w.finalNorm, N, spec.normEps);
  trace?.('result_norm', -1, s.x);
}

/** s.logits (vocabSize,) = classifier · s.x[row], soft-capped where the spec says. */
export function logitsAt(ops: Ops, spec: DecoderSpec, w: DecoderWeights, s: RunState, row: number, trace?: TraceHook): void {
  ops.matmul({ ...s.logits, shape: [1, s.logits.shape[0]] }, rowsFrom(s.x, row), w.classifier!, 1);
  if (spec.finalSoftcap) ops.softcap({ ...s.logits, shape: [1, s.logits.shape[0]] }, 1, spec.finalSoftcap);
  trace?.('logits', -1, s.logits);
}

/**
 * s.logits rows 0 .. rows.length − 1 (≤ R) = classifier · s.x[rows[i]], as one GEMM: the rows are first
 * gathered into s.xb (free after the forward) unless they already lie together at the start of s.x.
 */
export function logitsRows(ops: Ops, spec: DecoderSpec, w: DecoderWeights, s: BatchState, arena: Arena, rows: number[],
                           trace?: TraceHook): void {
  const n = rows.length, dim = spec.dim;
  let x = s.x;
  if (rows.some((r, i) => r !== i)) {
    const src = arena.f32(s.x.ptr, s.N * dim), dst = arena.f32(s.xb.ptr, n * dim);
    rows.forEach((r, i) => dst.set(src.subarray(r * dim, (r + 1) * dim), i * dim));
    x = s.xb;
  }
  ops.matmul(s.logits, x, w.classifier!, n);
  if (spec.finalSoftcap) ops.softcap(s.logits, n, spec.finalSoftcap);
  trace?.('logits', -1, s.logits);
}

/** Activations to encode up to N tokens in up to S packed sequences of at most L tokens (embedders). */
export interface EncodeState extends Activations { N: number; S: number; L: number; att: Tensor; offs: Tensor }

const encodeShapes = (spec: DecoderSpec, N: number, S: number, L: number, threads: number) =>
  [...activationShapes(spec, N), ['att', threads, encoderAttentionFloats(L, spec.headDim)], ['offs', S + 1, 1]] as [string, number, number][];

export function planEncodeState(spec: DecoderSpec, N: number, S: number, L: number, threads = 1): RegionPlan[] {
  return encodeShapes(spec, N, S, L, threads).map(([name, r, c]) => ({ name, bytes: r * c * 4 }));
}

export function allocEncodeState(arena: Arena, spec: DecoderSpec, N: number, S: number, L: number, threads = 1): EncodeState {
  const t = allocShapes(arena, encodeShapes(spec, N, S, L, threads));
  return { N, S, L, ...activations(spec, t), att: t.att, offs: t.offs };
}

/**
 * Encode packed sequences (each from position 0) for an embedder: the last hidden states, final-normed,
 * land in s.x, sequence i at rows [offsets[i], offsets[i+1]). Attention stays within a sequence: causal
 * (Qwen3-Embedding) or both ways (EmbeddingGemma), a windowed layer's band as transformers masks it.
 */
export function encode(ops: Ops, spec: DecoderSpec, w: DecoderWeights, s: EncodeState, arena: Arena,
                       ropes: RopeTable[], seqs: ArrayLike<number>[]): number[] {
  const offsets = [0];
  for (const ids of seqs) offsets.push(offsets[offsets.length - 1] + ids.length);
  const N = offsets[seqs.length];
  new Int32Array(arena.memory.buffer, s.offs.ptr, offsets.length).set(offsets);
  embed(ops, spec, w, s.x, seqs.flatMap((ids) => Array.from(ids)));
  ropes.forEach((r, i) => seqs.forEach((ids, j) => {
    const half = s.cos[i].shape[1], at = offsets[j] * half;
    r.angles(0, ids.length, arena.f32(s.cos[i].ptr + at * 4, ids.length * half), arena.f32(s.sin[i].ptr + at * 4, ids.length * half));
  }));
  const attend = (l: number) => {
    const { left, right } = encoderBand(spec, spec.layers[l]);
    ops.encoderAttention(s.attnOut, s.q, s.k, s.v, s.att, s.offs, offsets, spec.nHeads, spec.headDim,
      { scale: spec.attnScale, left, right, nKvHeads: spec.nKvHeads });
  };
  for (let l = 0; l < spec.nLayers; l++) block(ops, spec, w.layers[l], s, N, l, attend);
  ops.rmsnorm(s.x, s.x, w.finalNorm, N, spec.normEps);
  return offsets;
}

/**
 * Keys j that query i sees, as i − left ≤ j ≤ i + right (−1: unbounded). Causal: right 0, and a window
 * looks back window − 1. Bidirectional with a window: transformers 5.18 sees |i − j| ≤ ⌊window / 2⌋
 * (EmbeddingGemma's 512 → 256 each way); the oracle tells this apart from |i − j| < window and from
 * no window at all. (transformers 4.57 stored ⌊window / 2⌋ + 1 in config.json instead: such a file's
 * window is read as written, as 5.18 reads it.)
 */
export function encoderBand(spec: DecoderSpec, kind: LayerKind): { left: number; right: number } {
  if (!spec.bidirectional) return { left: kind.window > 0 ? kind.window - 1 : -1, right: 0 };
  const half = Math.floor(kind.window / 2);
  return kind.window > 0 ? { left: half, right: half } : { left: -1, right: -1 };
}

// The BERT-family encoder (bert, roberta): weight names, run state, and one forward pass over a packed
// batch of sequences. Post-LayerNorm blocks, GELU (erf), bidirectional attention. Never touches file bytes.
import type { BertSpec } from './spec.js';
import type { Arena, RegionPlan, Tensor } from '../runtime/arena.js';
import { rowsFrom, type Ops } from '../runtime/ops.js';

export interface BertLayerWeights {
  wq: Tensor; wk: Tensor; wv: Tensor;  // (dim, dim) attention.self.{query,key,value}
  bq: Tensor; bk: Tensor; bv: Tensor;  // (dim,)
  wo: Tensor; bo: Tensor;              // (dim, dim), (dim,) attention.output.dense
  attnNormW: Tensor; attnNormB: Tensor; // (dim,) attention.output.LayerNorm, after the residual add
  w1: Tensor; b1: Tensor;              // (hiddenDim, dim), (hiddenDim,) intermediate.dense
  w2: Tensor; b2: Tensor;              // (dim, hiddenDim), (dim,) output.dense
  ffnNormW: Tensor; ffnNormB: Tensor;  // (dim,) output.LayerNorm
}

export interface BertWeights {
  wordEmb: Tensor;   // (vocabSize, dim)
  posEmb: Tensor;    // (maxPositions, dim)
  typeEmb: Tensor;   // (typeVocabSize, dim); row 0 is added to every token
  embNormW: Tensor;  // (dim,)
  embNormB: Tensor;  // (dim,)
  layers: BertLayerWeights[];
}

/** HF names relative to the checkpoint prefix (BertModel: none; BertForMaskedLM etc.: "bert.", "roberta."). */
function names(spec: BertSpec): Record<string, number[]> {
  const { dim, hiddenDim, vocabSize, maxPositions, typeVocabSize } = spec;
  const t: Record<string, number[]> = {
    'embeddings.word_embeddings.weight': [vocabSize, dim],
    'embeddings.position_embeddings.weight': [maxPositions, dim],
    'embeddings.token_type_embeddings.weight': [typeVocabSize, dim],
    'embeddings.LayerNorm.weight': [dim],
    'embeddings.LayerNorm.bias': [dim],
  };
  for (let l = 0; l < spec.nLayers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const s of ['query', 'key', 'value']) {
      t[`${p}attention.self.${s}.weight`] = [dim, dim];
      t[`${p}attention.self.${s}.bias`] = [dim];
    }
    Object.assign(t, {
      [`${p}attention.output.dense.weight`]: [dim, dim], [`${p}attention.output.dense.bias`]: [dim],
      [`${p}attention.output.LayerNorm.weight`]: [dim], [`${p}attention.output.LayerNorm.bias`]: [dim],
      [`${p}intermediate.dense.weight`]: [hiddenDim, dim], [`${p}intermediate.dense.bias`]: [hiddenDim],
      [`${p}output.dense.weight`]: [dim, hiddenDim], [`${p}output.dense.bias`]: [dim],
      [`${p}output.LayerNorm.weight`]: [dim], [`${p}output.LayerNorm.bias`]: [dim],
    });
  }
  return t;
}

/**
 * The checkpoint's name prefix: "" when it stores the bare encoder (BertModel, sentence-transformers),
 * else "<model_type>." (a task model's encoder). Other tensors (pooler, MLM head) are never read.
 */
export function checkpointPrefix(spec: BertSpec, has: (hf: string) => boolean): string {
  const p = `${spec.modelType}.`;
  return !has('embeddings.word_embeddings.weight') && has(p + 'embeddings.word_embeddings.weight') ? p : '';
}

/** Every checkpoint tensor the encoder reads: Hugging Face name → shape. */
export function weightTable(spec: BertSpec, prefix = ''): { hf: string; shape: number[] }[] {
  return Object.entries(names(spec)).map(([hf, shape]) => ({ hf: prefix + hf, shape }));
}

/** Bind loaded tensors (by HF name) to the fields the forward pass uses. */
export function bindWeights(spec: BertSpec, get: (hf: string) => Tensor, prefix = ''): BertWeights {
  const g = (hf: string) => get(prefix + hf);
  const layers = Array.from({ length: spec.nLayers }, (_, l): BertLayerWeights => {
    const p = `encoder.layer.${l}.`;
    return {
      wq: g(p + 'attention.self.query.weight'), bq: g(p + 'attention.self.query.bias'),
      wk: g(p + 'attention.self.key.weight'), bk: g(p + 'attention.self.key.bias'),
      wv: g(p + 'attention.self.value.weight'), bv: g(p + 'attention.self.value.bias'),
      wo: g(p + 'attention.output.dense.weight'), bo: g(p + 'attention.output.dense.bias'),
      attnNormW: g(p + 'attention.output.LayerNorm.weight'), attnNormB: g(p + 'attention.output.LayerNorm.bias'),
      w1: g(p + 'intermediate.dense.weight'), b1: g(p + 'intermediate.dense.bias'),
      w2: g(p + 'output.dense.weight'), b2: g(p + 'output.dense.bias'),
      ffnNormW: g(p + 'output.LayerNorm.weight'), ffnNormB: g(p + 'output.LayerNorm.bias'),
    };
  });
  return {
    wordEmb: g('embeddings.word_embeddings.weight'), posEmb: g('embeddings.position_embeddings.weight'),
    typeEmb: g('embeddings.token_type_embeddings.weight'),
    embNormW: g('embeddings.LayerNorm.weight'), embNormB: g('embeddings.LayerNorm.bias'), layers,
  };
}

/** Activations for up to N tokens in up to S sequences of at most L tokens each, for `threads` threads. */
export interface EncoderState {
  N: number; S: number; L: number;
  x: Tensor;        // (N, dim) the residual stream; the last hidden states after forward
  q: Tensor;        // (N, dim)
  k: Tensor;        // (N, dim)
  v: Tensor;        // (N, dim)
  attnOut: Tensor;  // (N, dim) attention output, input of wo
  xb: Tensor;       // (N, dim) a sublayer's output before the residual add
  hb: Tensor;       // (N, hiddenDim) gelu(w1 · x + b1)
  att: Tensor;      // (threads, L·(headDim + 1)) per thread: one query's scores, one head's keys transposed
  offs: Tensor;     // (S + 1,) i32: sequence s is rows [offs[s], offs[s+1]) (the attention mask)
}

function stateShapes(spec: BertSpec, N: number, S: number, L: number, threads: number): [string, number, number][] {
  const { dim, hiddenDim, headDim } = spec;
  return [['x', N, dim], ['q', N, dim], ['k', N, dim], ['v', N, dim], ['attnOut', N, dim], ['xb', N, dim],
    ['hb', N, hiddenDim], ['att', threads, L * (headDim + 1)], ['offs', S + 1, 1]];
}

/** The regions an EncoderState needs, for planning memory before anything is allocated. */
export function planEncoderState(spec: BertSpec, N: number, S: number, L: number, threads = 1): RegionPlan[] {
  return stateShapes(spec, N, S, L, threads).map(([name, r, c]) => ({ name, bytes: r * c * 4 }));
}

export function allocEncoderState(arena: Arena, spec: BertSpec, N: number, S: number, L: number, threads = 1): EncoderState {
  const t: Record<string, Tensor> = {};
  for (const [name, r, c] of stateShapes(spec, N, S, L, threads)) t[name] = arena.tensor(name, r, c === 1 ? undefined : c);
  return { N, S, L, x: t.x, q: t.q, k: t.k, v: t.v, attnOut: t.attnOut, xb: t.xb, hb: t.hb, att: t.att, offs: t.offs };
}

/**
 * Encode the sequences `seqs` (ids, each ≤ spec.seqLen, checked by the caller) packed back to back:
 * leaves the last hidden states in s.x, sequence i at rows [offsets[i], offsets[i+1]). Returns offsets.
 * No padding is stored, so a sequence's output does not depend on the others in the batch.
 */
export function forward(ops: Ops, spec: BertSpec, w: BertWeights, s: EncoderState, arena: Arena,
                        seqs: ArrayLike<number>[]): number[] {
  const { nHeads, headDim, normEps } = spec;
  const offsets = [0];
  for (const ids of seqs) offsets.push(offsets[offsets.length - 1] + ids.length);
  const N = offsets[seqs.length];
  new Int32Array(arena.memory.buffer, s.offs.ptr, offsets.length).set(offsets);

  // embeddings: x = LayerNorm(word[id] + position[offset + t] + type[0])
  ops.embed(s.x, w.wordEmb, seqs.flatMap((ids) => Array.from(ids)));
  const positions = rowsFrom(w.posEmb, spec.positionOffset);
  seqs.forEach((ids, i) => { const x = rowsFrom(s.x, offsets[i]); ops.add(x, x, positions, ids.length); });
  ops.addBias(s.x, { name: `${w.typeEmb.name}[0]`, ptr: w.typeEmb.ptr, shape: [spec.dim] }, N);
  ops.layernorm(s.x, s.x, w.embNormW, w.embNormB, N, normEps);

  for (let l = 0; l < spec.nLayers; l++) {
    const L = w.layers[l];
    // attention: x = LayerNorm(x + wo · attention(wq · x + bq, wk · x + bk, wv · x + bv) + bo)
    ops.matmul(s.q, s.x, L.wq, N); ops.addBias(s.q, L.bq, N);
    ops.matmul(s.k, s.x, L.wk, N); ops.addBias(s.k, L.bk, N);
    ops.matmul(s.v, s.x, L.wv, N); ops.addBias(s.v, L.bv, N);
    ops.encoderAttention(s.attnOut, s.q, s.k, s.v, s.att, s.offs, offsets, nHeads, headDim);
    ops.matmul(s.xb, s.attnOut, L.wo, N); ops.addBias(s.xb, L.bo, N);
    ops.add(s.x, s.x, s.xb, N);
    ops.layernorm(s.x, s.x, L.attnNormW, L.attnNormB, N, normEps);

    // feed-forward: x = LayerNorm(x + w2 · gelu(w1 · x + b1) + b2)
    ops.matmul(s.hb, s.x, L.w1, N); ops.addBias(s.hb, L.b1, N);
    ops.gelu(s.hb, s.hb, N);
    ops.matmul(s.xb, s.hb, L.w2, N); ops.addBias(s.xb, L.b2, N);
    ops.add(s.x, s.x, s.xb, N);
    ops.layernorm(s.x, s.x, L.ffnNormW, L.ffnNormB, N, normEps);
  }
  return offsets;
}

// The BERT-family encoder (bert, roberta): config reader, checkpoint names, run state, and one forward pass
// over a packed batch of sequences. Post-LayerNorm blocks, GELU (erf), bidirectional attention. Never touches file bytes.
import { ConfigError } from '../errors.js';
import type { Arena, RegionPlan, Tensor } from '../runtime/arena.js';
import { encoderAttentionFloats, rowsFrom, type Ops } from '../runtime/ops.js';
import { fieldReader, show, type Json } from './config.js';
import { gather, type FamilyRecord, type WeightEntry } from './family.js';

/** An encoder family: its own graph (below). */
export type EncoderFamily = FamilyRecord<'encoder', BertSpec>;

/** A BERT-family encoder (bert, roberta): post-LayerNorm blocks, GELU, learned absolute positions. */
export interface BertSpec {
  family: 'bert';
  modelType: string;     // config.model_type: "bert" or "roberta"
  dim: number;           // hidden_size
  hiddenDim: number;     // intermediate_size
  nLayers: number;
  nHeads: number;
  headDim: number;       // dim / nHeads
  vocabSize: number;
  typeVocabSize: number; // token type (segment) rows; Tide embeds every token as type 0
  maxPositions: number;  // max_position_embeddings (rows of the position table)
  seqLen: number;        // the longest input: maxPositions less RoBERTa's offset
  positionOffset: number; // first position id: 0 for BERT, pad_token_id + 1 for RoBERTa (create_position_ids_from_input_ids)
  normEps: number;       // layer_norm_eps
}

/** Build an encoder spec from a parsed config.json; `file` names it in errors. */
export function bertSpecFromConfig(config: Json, file = 'config.json'): BertSpec {
  const get = fieldReader(config, file);
  const modelType = get.str('model_type');
  if (modelType !== 'bert' && modelType !== 'roberta') throw new ConfigError(`${file}: model_type ${show(modelType)} is not a BERT-family encoder (bert, roberta)`);
  // "gelu" is the erf form in transformers' ACT2FN; the tanh forms ("gelu_new", ...) differ by up to 1e-3.
  const act = config.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new ConfigError(`${file}: hidden_act ${show(act)} is not supported; supported: gelu`);
  const posType = config.position_embedding_type ?? 'absolute';
  if (posType !== 'absolute') throw new ConfigError(`${file}: position_embedding_type ${show(posType)} is not supported; supported: absolute`);
  const dim = get.int('hidden_size');
  const nHeads = get.int('num_attention_heads');
  if (dim % nHeads !== 0) throw new ConfigError(`${file}: hidden_size ${dim} is not a multiple of num_attention_heads ${nHeads}`);
  const maxPositions = get.int('max_position_embeddings');
  const pad = config.pad_token_id ?? 1;
  if (modelType === 'roberta' && (!Number.isInteger(pad) || (pad as number) < 0)) {
    throw new ConfigError(`${file}: pad_token_id must be a non-negative integer for roberta, got ${show(pad)}`);
  }
  const positionOffset = modelType === 'roberta' ? (pad as number) + 1 : 0;
  if (positionOffset >= maxPositions) {
    throw new ConfigError(`${file}: max_position_embeddings ${maxPositions} leaves no positions after the offset ${positionOffset}`);
  }
  return {
    family: 'bert',
    modelType,
    dim,
    hiddenDim: get.int('intermediate_size'),
    nLayers: get.int('num_hidden_layers'),
    nHeads,
    headDim: dim / nHeads,
    vocabSize: get.int('vocab_size'),
    typeVocabSize: get.int('type_vocab_size', 2),
    maxPositions,
    seqLen: maxPositions - positionOffset,
    positionOffset,
    normEps: get.num('layer_norm_eps', 1e-12),
  };
}

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

/** Checkpoint names relative to the prefix (BertModel: none; BertForMaskedLM etc.: "bert.", "roberta."), and their fields. */
function layout(spec: BertSpec): WeightEntry[] {
  const { dim, hiddenDim, vocabSize, maxPositions, typeVocabSize } = spec;
  const t: WeightEntry[] = [
    { hf: 'embeddings.word_embeddings.weight', shape: [vocabSize, dim], field: 'wordEmb' },
    { hf: 'embeddings.position_embeddings.weight', shape: [maxPositions, dim], field: 'posEmb' },
    { hf: 'embeddings.token_type_embeddings.weight', shape: [typeVocabSize, dim], field: 'typeEmb' },
    { hf: 'embeddings.LayerNorm.weight', shape: [dim], field: 'embNormW' },
    { hf: 'embeddings.LayerNorm.bias', shape: [dim], field: 'embNormB' },
  ];
  for (let layer = 0; layer < spec.nLayers; layer++) {
    const p = `encoder.layer.${layer}.`;
    const add = (hf: string, shape: number[], field: keyof BertLayerWeights) => t.push({ hf: p + hf, shape, field, layer });
    add('attention.self.query.weight', [dim, dim], 'wq'); add('attention.self.query.bias', [dim], 'bq');
    add('attention.self.key.weight', [dim, dim], 'wk'); add('attention.self.key.bias', [dim], 'bk');
    add('attention.self.value.weight', [dim, dim], 'wv'); add('attention.self.value.bias', [dim], 'bv');
    add('attention.output.dense.weight', [dim, dim], 'wo'); add('attention.output.dense.bias', [dim], 'bo');
    add('attention.output.LayerNorm.weight', [dim], 'attnNormW'); add('attention.output.LayerNorm.bias', [dim], 'attnNormB');
    add('intermediate.dense.weight', [hiddenDim, dim], 'w1'); add('intermediate.dense.bias', [hiddenDim], 'b1');
    add('output.dense.weight', [dim, hiddenDim], 'w2'); add('output.dense.bias', [dim], 'b2');
    add('output.LayerNorm.weight', [dim], 'ffnNormW'); add('output.LayerNorm.bias', [dim], 'ffnNormB');
  }
  return t;
}

/** Parameters of the matrices the layout names, from the dims alone: at most the table's (a lower bound for planning). */
export function bertMatrixParameters(spec: BertSpec): number {
  const { dim, hiddenDim, nLayers } = spec;
  return (spec.vocabSize + spec.maxPositions + spec.typeVocabSize) * dim + nLayers * dim * (4 * dim + 2 * hiddenDim);
}

/**
 * The checkpoint's tensors, named with its prefix: "" when it stores the bare encoder (BertModel,
 * sentence-transformers), else "<model_type>." (a task model's encoder). Other tensors (pooler, MLM
 * head) are never read.
 */
function weights(spec: BertSpec, has: (hf: string) => boolean): WeightEntry[] {
  const p = `${spec.modelType}.`;
  const prefix = !has('embeddings.word_embeddings.weight') && has(p + 'embeddings.word_embeddings.weight') ? p : '';
  return layout(spec).map((e) => ({ ...e, hf: prefix + e.hf }));
}

/** Gather the loaded tensors into the fields the forward pass reads. */
export function bindBert(spec: BertSpec, table: WeightEntry[], get: (e: WeightEntry) => Tensor): BertWeights {
  const { top, layers } = gather(table, spec.nLayers, get);
  return { ...(top as unknown as Omit<BertWeights, 'layers'>), layers: layers as unknown as BertLayerWeights[] };
}

/**
 * What a BERT-family checkpoint may hold that the encoder never reads: `embeddings.position_ids`, a buffer
 * older transformers saved (positions are counted here); the pooler (BertModel's dense + tanh on [CLS],
 * which sentence-transformers checkpoints carry but never use: pooling is a module of its own); the
 * pretraining heads of *ForMaskedLM / *ForPreTraining (BERT's `cls.*`, RoBERTa's `lm_head.*`). Not a
 * fine-tuned head (`classifier`, `qa_outputs`): such a checkpoint is a classifier, not an embedder.
 */
const BERT_UNREAD = /(^|\.)embeddings\.position_ids$|^((bert|roberta)\.)?pooler\.|^(cls|lm_head)\./;

export const bert: EncoderFamily = { kind: 'encoder', readSpec: bertSpecFromConfig, weights, unread: BERT_UNREAD };

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
  att: Tensor;      // (threads, L·(headDim + 4)) per thread: four queries' scores, one head's keys transposed
  offs: Tensor;     // (S + 1,) i32: sequence s is rows [offs[s], offs[s+1]) (the attention mask)
}

function stateShapes(spec: BertSpec, N: number, S: number, L: number, threads: number): [string, number, number][] {
  const { dim, hiddenDim, headDim } = spec;
  return [['x', N, dim], ['q', N, dim], ['k', N, dim], ['v', N, dim], ['attnOut', N, dim], ['xb', N, dim],
    ['hb', N, hiddenDim], ['att', threads, encoderAttentionFloats(L, headDim)], ['offs', S + 1, 1]];
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
    ops.matmuls([s.q, s.k, s.v], s.x, [L.wq, L.wk, L.wv], N);
    ops.addBias(s.q, L.bq, N); ops.addBias(s.k, L.bk, N); ops.addBias(s.v, L.bv, N);
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

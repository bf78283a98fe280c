// config.json → ModelSpec. The only file that knows Hugging Face config field names.
import { ConfigError } from '../errors.js';

/** How RoPE frequencies are made (transformers' rope_type). */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** One shape for every decoder family; features are flags (tinygrad's TransformerConfig). */
export interface ModelSpec {
  family: 'llama';
  modelType: string;     // config.model_type, e.g. "llama", "qwen2"
  dim: number;           // hidden_size
  hiddenDim: number;     // intermediate_size (SwiGLU width)
  nLayers: number;
  nHeads: number;
  nKvHeads: number;      // < nHeads: grouped-query attention
  headDim: number;
  qDim: number;          // nHeads * headDim (need not equal dim)
  kvDim: number;         // nKvHeads * headDim
  vocabSize: number;
  seqLen: number;        // max_position_embeddings: the longest context the model was made for
  ropeTheta: number;
  rope: RopeScaling;
  normEps: number;
  qkvBias: boolean;      // qwen2, or llama with attention_bias
  oBias: boolean;        // llama with attention_bias also biases o_proj
  tiedEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
}

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2'] as const;
const SUPPORTED_ROPE = ['default', 'linear', 'llama3'];

type Json = Record<string, unknown>;

/** Build a spec from a parsed config.json; `file` names it in errors. */
export function specFromConfig(config: Json, file = 'config.json'): ModelSpec {
  const get = fieldReader(config, file);
  const modelType = get.str('model_type');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${file}: model_type "${modelType}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${file}: hidden_act "${act}" is not supported; supported: silu`);
  if (config.mlp_bias === true) throw new ConfigError(`${file}: mlp_bias true is not supported`);
  if (config.use_sliding_window === true) throw new ConfigError(`${file}: use_sliding_window true is not supported`);

  const dim = get.int('hidden_size');
  const nHeads = get.int('num_attention_heads');
  const nKvHeads = get.int('num_key_value_heads', nHeads);
  const headDim = get.int('head_dim', Math.floor(dim / nHeads));
  if (nHeads % nKvHeads !== 0) {
    throw new ConfigError(`${file}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`${file}: head_dim ${headDim} must be even for RoPE`);
  const attentionBias = config.attention_bias === true;
  const ropeParams = (config.rope_parameters ?? {}) as Json;
  return {
    family: 'llama',
    modelType,
    dim,
    hiddenDim: get.int('intermediate_size'),
    nLayers: get.int('num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    qDim: nHeads * headDim,
    kvDim: nKvHeads * headDim,
    vocabSize: get.int('vocab_size'),
    seqLen: get.int('max_position_embeddings'),
    // transformers ≥ 5 writes rope_theta inside rope_parameters.
    ropeTheta: fieldReader(ropeParams, `${file} rope_parameters`).num('rope_theta', get.num('rope_theta', 10000)),
    rope: ropeScaling((config.rope_scaling ?? config.rope_parameters ?? null) as Json | null, file),
    normEps: get.num('rms_norm_eps', 1e-6),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: modelType !== 'qwen2' && attentionBias,
    tiedEmbeddings: config.tie_word_embeddings === true,
    bosTokenId: typeof config.bos_token_id === 'number' ? config.bos_token_id : undefined,
    eosTokenIds: tokenIds(config.eos_token_id, file, 'eos_token_id'),
  };
}

function ropeScaling(r: Json | null, file: string): RopeScaling {
  if (r === null) return { type: 'default' };
  const type = String(r.rope_type ?? r.type ?? 'default');
  const get = fieldReader(r, `${file} rope_scaling`);
  switch (type) {
    case 'default': return { type };
    case 'linear': return { type, factor: get.num('factor') };
    case 'llama3': return {
      type,
      factor: get.num('factor'),
      lowFreqFactor: get.num('low_freq_factor'),
      highFreqFactor: get.num('high_freq_factor'),
      originalMaxPositions: get.int('original_max_position_embeddings'),
    };
    default:
      throw new ConfigError(`${file}: rope_scaling type "${type}" is not supported; supported: ${SUPPORTED_ROPE.join(', ')}`);
  }
}

/** eos_token_id may be an int or a list of ints (generation_config.json often lists several). */
export function tokenIds(v: unknown, file: string, field: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0) throw new ConfigError(`${file}: ${field} must be a non-negative integer or a list of them, got ${JSON.stringify(v)}`);
  }
  return list as number[];
}

function fieldReader(obj: Json, file: string) {
  const need = (key: string, fallback: unknown) => {
    const v = obj[key] ?? fallback;
    if (v === undefined) throw new ConfigError(`${file}: missing field ${key}`);
    return v;
  };
  return {
    str(key: string, fallback?: string): string {
      const v = need(key, fallback);
      if (typeof v !== 'string') throw new ConfigError(`${file}: field ${key} must be a string, got ${JSON.stringify(v)}`);
      return v;
    },
    num(key: string, fallback?: number): number {
      const v = need(key, fallback);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${file}: field ${key} must be a positive number, got ${JSON.stringify(v)}`);
      return v;
    },
    int(key: string, fallback?: number): number {
      const v = need(key, fallback);
      if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ConfigError(`${file}: field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
      return v as number;
    },
  };
}

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

export const SUPPORTED_ENCODER_TYPES = ['bert', 'roberta'] as const;

/** Build an encoder spec from a parsed config.json; `file` names it in errors. */
export function bertSpecFromConfig(config: Json, file = 'config.json'): BertSpec {
  const get = fieldReader(config, file);
  const modelType = get.str('model_type');
  if (!(SUPPORTED_ENCODER_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${file}: model_type "${modelType}" is not an encoder Tide supports; supported: ${SUPPORTED_ENCODER_TYPES.join(', ')}`);
  }
  // "gelu" is the erf form in transformers' ACT2FN; the tanh forms ("gelu_new", ...) differ by up to 1e-3.
  const act = config.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new ConfigError(`${file}: hidden_act "${act}" is not supported; supported: gelu`);
  const posType = config.position_embedding_type ?? 'absolute';
  if (posType !== 'absolute') throw new ConfigError(`${file}: position_embedding_type "${posType}" is not supported; supported: absolute`);
  const dim = get.int('hidden_size');
  const nHeads = get.int('num_attention_heads');
  if (dim % nHeads !== 0) throw new ConfigError(`${file}: hidden_size ${dim} is not a multiple of num_attention_heads ${nHeads}`);
  const maxPositions = get.int('max_position_embeddings');
  const pad = config.pad_token_id ?? 1;
  if (modelType === 'roberta' && (!Number.isInteger(pad) || (pad as number) < 0)) {
    throw new ConfigError(`${file}: pad_token_id must be a non-negative integer for roberta, got ${JSON.stringify(pad)}`);
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

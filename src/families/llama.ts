// Llama and the families that are llama with a flag: qwen2 (q/k/v biases), mistral (a sliding window on
// every layer). Also the config reader the other decoder families start from.
import { ConfigError } from '../errors.js';
import { fieldReader, show, tokenIds, type FieldReader, type Json } from './config.js';
import { DECODER_UNREAD, llamaLayout, type DecoderFamily, type DecoderSpec } from './decoder.js';

import { readRope } from './rope.js';

/**
 * The fields every decoder config shares, read as llama reads them: one RoPE for all layers, SwiGLU,
 * plain RMSNorm, attention windows from `layer_types` and `sliding_window`. Families override what differs;
 * `tiedByDefault` is their transformers config class's tie_word_embeddings default.
 */
export function readDecoderSpec(config: Json, file: string, family: string, tiedByDefault = false): { spec: DecoderSpec; get: FieldReader } {
  const get = fieldReader(config, file);
  const modelType = get.str('model_type');
  if (config.mlp_bias === true) throw new ConfigError(`${file}: mlp_bias true is not supported`);
  const dim = get.int('hidden_size');
  const nHeads = get.int('num_attention_heads');
  const nKvHeads = get.int('num_key_value_heads', nHeads);
  if (!get.has('head_dim') && nHeads > dim) throw new ConfigError(`${file}: num_attention_heads ${nHeads} > hidden_size ${dim} and no head_dim`);
  const headDim = get.int('head_dim', Math.floor(dim / nHeads));
  if (nHeads % nKvHeads !== 0) {
    throw new ConfigError(`${file}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`${file}: head_dim ${headDim} must be even for RoPE`);
  const nLayers = get.int('num_hidden_layers');
  const windows = layerWindows(get, nLayers, config.use_sliding_window !== false);
  const attentionBias = get.bool('attention_bias');
  const spec: DecoderSpec = {
    family, modelType, dim, hiddenDim: get.int('intermediate_size'), nLayers, nHeads, nKvHeads, headDim,
    qDim: nHeads * headDim, kvDim: nKvHeads * headDim, vocabSize: get.int('vocab_size'),
    seqLen: get.int('max_position_embeddings'),
    normEps: get.num('rms_norm_eps', 1e-6), normPlusOne: false,
    qkvBias: attentionBias, oBias: attentionBias, qkNorm: false, sandwichNorms: false,
    act: 'silu', embedScale: 1, attnScale: 1 / Math.sqrt(headDim), attnSoftcap: 0, finalSoftcap: 0,
    // transformers ≥ 5 writes rope_theta and the scaling inside rope_parameters; earlier ones rope_scaling.
    ropes: [readRope(get.obj('rope_scaling') ?? get.obj('rope_parameters'), config, headDim, file)],
    layers: windows.map((window) => ({ rope: 0, window })),
    tiedEmbeddings: get.bool('tie_word_embeddings', tiedByDefault),
    bidirectional: false,
    bosTokenId: typeof config.bos_token_id === 'number' ? config.bos_token_id : undefined,
    eosTokenIds: tokenIds(config.eos_token_id, file, 'eos_token_id'),
  };
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${file}: hidden_act ${show(act)} is not supported for ${show(modelType)}; supported: silu`);
  return { spec, get };
}

export const llama: DecoderFamily = {
  kind: 'decoder',
  readSpec: (config, file) => readDecoderSpec(config, file, 'llama').spec,
  unread: DECODER_UNREAD,
  weights: (spec, has) => llamaLayout(spec, has),
};

/** Qwen2 (and DeepSeek-R1-Distill-Qwen): llama with biases on q, k and v, none on o. */
export const qwen2: DecoderFamily = {
  kind: 'decoder',
  readSpec(config, file) {
    const { spec } = readDecoderSpec(config, file, 'qwen2');
    return { ...spec, qkvBias: true, oBias: false };
  },
  unread: DECODER_UNREAD,
  weights: (spec, has) => llamaLayout(spec, has),
};

const LAYER_TYPES = ['full_attention', 'sliding_attention'];

/**
 * Each layer's attention window (0: full). `layer_types` names each layer's kind (transformers ≥ 4.54);
 * without it a `sliding_window` applies to every layer unless `use_sliding_window` is false (Mistral
 * sets the window alone; Qwen2 ships a window with use_sliding_window false).
 */
export function layerWindows(get: FieldReader, nLayers: number, windowed: boolean): number[] {
  const window = get.optInt('sliding_window') ?? 0;
  const types = get.list('layer_types', (x): x is string => typeof x === 'string' && LAYER_TYPES.includes(x), LAYER_TYPES.join(' or '));
  if (!types) return Array.from({ length: nLayers }, () => (windowed ? window : 0));
  if (types.length !== nLayers) throw new ConfigError(`${get.file}: layer_types lists ${types.length} layers, num_hidden_layers is ${nLayers}`);
  if (types.includes('sliding_attention') && !window) throw new ConfigError(`${get.file}: layer_types has sliding_attention layers but sliding_window is not set`);
  return types.map((t) => (t === 'sliding_attention' ? window : 0));
}

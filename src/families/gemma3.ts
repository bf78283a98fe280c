// Gemma 3 (text; also EmbeddingGemma) and Gemma 2's soft caps: embeddings scaled by √hidden, RMSNorm
// with (1 + w), four norms per layer (sandwich), GeGLU with tanh-GELU, q/k norms, scores scaled by
// query_pre_attn_scalar^-½, and sliding/full layers each with a RoPE of its own.
import { ConfigError } from '../errors.js';
import { basePrefix, DECODER_UNREAD, llamaLayout, type DecoderFamily, type DecoderSpec } from './decoder.js';
import type { WeightEntry } from './family.js';
import { fieldReader, show } from './config.js';
import { layerWindows, readDecoderSpec } from './llama.js';
import { readRope } from './rope.js';

export const gemma3: DecoderFamily = {
  kind: 'decoder',
  readSpec(config, file) {
    const act = config.hidden_activation ?? config.hidden_act ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh') throw new ConfigError(`${file}: hidden_activation ${show(act)} is not supported; supported: gelu_pytorch_tanh`);
    const { spec, get } = readDecoderSpec({ ...config, hidden_act: 'silu' }, file, 'gemma3', true);
    const windows = configWindows(config, get, spec.nLayers);
    // transformers ≥ 5: rope_parameters per layer type; earlier: rope_theta (+ rope_scaling) for full
    // layers and rope_local_base_freq for sliding ones.
    const byType = get.obj('rope_parameters');
    const perType = byType && (byType.full_attention !== undefined || byType.sliding_attention !== undefined);
    const typeRope = (kind: string) => readRope(fieldReader(byType ?? {}, `${file} rope_parameters`).obj(kind), config, spec.headDim, file);
    const full = perType ? typeRope('full_attention') : readRope(get.obj('rope_scaling') ?? byType, config, spec.headDim, file);
    const sliding = perType ? typeRope('sliding_attention')
      : { theta: get.num('rope_local_base_freq', 10000), rotDim: spec.headDim, scaling: { type: 'default' as const } };
    const gemma: DecoderSpec = {
      ...spec,
      normPlusOne: true, qkNorm: true, sandwichNorms: true, act: 'gelu_tanh',
      // transformers keeps √hidden as a float32 buffer: the model multiplies by its rounded value.
      embedScale: Math.fround(Math.sqrt(spec.dim)),
      attnScale: 1 / Math.sqrt(get.num('query_pre_attn_scalar', spec.headDim)),
      attnSoftcap: get.optNum('attn_logit_softcapping') ?? 0,
      finalSoftcap: get.optNum('final_logit_softcapping') ?? 0,
      ropes: [full, sliding],
      layers: windows.map((window) => ({ rope: window > 0 ? 1 : 0, window })),
      bidirectional: get.bool('use_bidirectional_attention'),
    };
    return gemma;
  },
  unread: DECODER_UNREAD,
  weights(spec, has) {
    // Gemma names the attention output's norm post_attention_layernorm (llama's MLP norm): rename.
    const table: WeightEntry[] = llamaLayout(spec, has).map((e) =>
      e.field === 'ffnNorm' ? { ...e, hf: e.hf.replace('post_attention_layernorm', 'pre_feedforward_layernorm') } : e);
    for (let layer = 0; layer < spec.nLayers; layer++) {
      const p = `${basePrefix(has)}layers.${layer}.`;
      table.push({ hf: p + 'post_attention_layernorm.weight', shape: [spec.dim], field: 'attnPostNorm', layer },
        { hf: p + 'post_feedforward_layernorm.weight', shape: [spec.dim], field: 'ffnPostNorm', layer });
    }
    return table;
  },
};

/** Sliding or full per layer: layer_types, else every sliding_window_pattern-th layer is full (Gemma 3 before transformers 4.54). */
function configWindows(config: Record<string, unknown>, get: ReturnType<typeof readDecoderSpec>['get'], nLayers: number): number[] {
  if (config.layer_types !== undefined && config.layer_types !== null) return layerWindows(get, nLayers, true);
  const window = get.int('sliding_window');
  const pattern = get.int('sliding_window_pattern', 6);
  return Array.from({ length: nLayers }, (_, l) => ((l + 1) % pattern === 0 ? 0 : window));
}

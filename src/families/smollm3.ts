// SmolLM3: llama without RoPE on every fourth layer (NoPE). `no_rope_layers[l]` is 1 where layer l uses
// RoPE; configs without the list give `no_rope_layer_interval`, as transformers' SmolLM3Config derives it.
import { ConfigError } from '../errors.js';
import { DECODER_UNREAD, llamaLayout, type DecoderFamily } from './decoder.js';
import { readDecoderSpec } from './llama.js';

export const smollm3: DecoderFamily = {
  kind: 'decoder',
  readSpec(config, file) {
    const { spec, get } = readDecoderSpec(config, file, 'smollm3', true);
    const flags = get.list('no_rope_layers', (x): x is number => x === 0 || x === 1, '0 or 1')
      ?? spec.layers.map((_, l) => ((l + 1) % get.int('no_rope_layer_interval', 4) !== 0 ? 1 : 0));
    if (flags.length !== spec.nLayers) throw new ConfigError(`${file}: no_rope_layers lists ${flags.length} layers, num_hidden_layers is ${spec.nLayers}`);
    return { ...spec, layers: spec.layers.map((kind, l) => ({ ...kind, rope: flags[l] ? 0 : -1 })) };
  },
  unread: DECODER_UNREAD,
  weights: (spec, has) => llamaLayout(spec, has),
};

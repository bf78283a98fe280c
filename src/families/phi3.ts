// Phi-3 / Phi-3.5 / Phi-4-mini: llama with fused projections (one qkv_proj, one gate_up_proj, split into
// q, k, v and gate, up at load), partial rotary (`partial_rotary_factor`) and longrope scaling.
import { DECODER_UNREAD, llamaLayout, type DecoderFamily } from './decoder.js';
import type { WeightEntry } from './family.js';
import { readDecoderSpec } from './llama.js';

export const phi3: DecoderFamily = {
  kind: 'decoder',
  readSpec: (config, file) => readDecoderSpec(config, file, 'phi3').spec,
  unread: DECODER_UNREAD,
  weights(spec, has) {
    const { dim, qDim, kvDim, hiddenDim } = spec;
    const fused = (e: WeightEntry): WeightEntry[] => {
      const p = e.hf.replace(/self_attn\.[qkv]_proj\.weight$|mlp\.(gate|up)_proj\.weight$/, '');
      switch (e.field) {
        case 'wq': return [{ ...e, hf: p + 'self_attn.qkv_proj.weight', shape: [qDim + 2 * kvDim, dim], rows: [0, qDim] }];
        case 'wk': return [{ ...e, hf: p + 'self_attn.qkv_proj.weight', shape: [qDim + 2 * kvDim, dim], rows: [qDim, qDim + kvDim] }];
        case 'wv': return [{ ...e, hf: p + 'self_attn.qkv_proj.weight', shape: [qDim + 2 * kvDim, dim], rows: [qDim + kvDim, qDim + 2 * kvDim] }];
        case 'w1': return [{ ...e, hf: p + 'mlp.gate_up_proj.weight', shape: [2 * hiddenDim, dim], rows: [0, hiddenDim] }];
        case 'w3': return [{ ...e, hf: p + 'mlp.gate_up_proj.weight', shape: [2 * hiddenDim, dim], rows: [hiddenDim, 2 * hiddenDim] }];
        default: return [e];
      }
    };
    return llamaLayout(spec, has).flatMap(fused);
  },
};

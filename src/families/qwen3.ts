// Qwen3 (and Qwen3-Embedding): llama with an RMSNorm per head on q and k before RoPE, no biases, and a
// head_dim of its own (128 where hidden_size / heads would give 64 on the 0.6B).
import { DECODER_UNREAD, llamaLayout, type DecoderFamily } from './decoder.js';
import { readDecoderSpec } from './llama.js';

export const qwen3: DecoderFamily = {
  kind: 'decoder',
  readSpec(config, file) {
    const { spec } = readDecoderSpec(config, file, 'qwen3');
    return { ...spec, qkNorm: true };
  },
  unread: DECODER_UNREAD,
  weights: (spec, has) => llamaLayout(spec, has),
};

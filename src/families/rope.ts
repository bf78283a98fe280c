// RoPE angles. Frequencies follow transformers' rope_init_fns (default, linear, llama3);
// angles are computed in float64 and rounded once, like the float64 reference oracles.
import type { ModelSpec } from './spec.js';

/** inv_freq[i] = theta^(-2i / headDim), i < headDim / 2, adjusted for the spec's scaling. */
export function ropeFrequencies(spec: ModelSpec): Float64Array {
  const half = spec.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(spec.ropeTheta, (2 * i) / spec.headDim);
  const r = spec.rope;
  if (r.type === 'linear') for (let i = 0; i < half; i++) inv[i] /= r.factor;
  if (r.type === 'llama3') {
    // transformers _compute_llama3_parameters: long wavelengths are slowed by `factor`,
    // short ones kept, and the band between blended smoothly.
    const lowWavelen = r.originalMaxPositions / r.lowFreqFactor;
    const highWavelen = r.originalMaxPositions / r.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= r.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        inv[i] = (1 - smooth) * inv[i] / r.factor + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** cos, sin (T, headDim / 2) for positions pos0 .. pos0 + T - 1. */
export function ropeAngles(inv: Float64Array, pos0: number, T: number, cos: Float32Array, sin: Float32Array): void {
  const half = inv.length;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = (pos0 + t) * inv[i];
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
}

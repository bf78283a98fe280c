// Float64 reference of rope_f32 (kernels/rope.ts): Hugging Face's rotate-half RoPE, optionally on the first
// rotDim dims of each head only (partial rotary, Phi-3's partial_rotary_factor).

export type Vec = ArrayLike<number>;

/**
 * x (T, nHeads·headDim) with each head's pairs (i, i + rotDim/2), i < rotDim/2, rotated by the angle whose
 * cos and sin are row t of cos, sin (T, rotDim/2); dims from rotDim on are returned as they are.
 */
export function rope(x: Vec, cos: Vec, sin: Vec, nHeads: number, headDim: number, T: number, rotDim = headDim): Float64Array {
  const out = Float64Array.from(x), half = rotDim / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[base + i], b = x[base + i + half], c = cos[t * half + i], s = sin[t * half + i];
        out[base + i] = a * c - b * s;
        out[base + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}

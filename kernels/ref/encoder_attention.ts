// Float64 reference of encoder_attention_f32 (kernels/encoder_attention.ts): attention within each sequence
// of a packed batch, every query seeing the keys of a band around it (the whole sequence by default).
import { softmax, type Vec } from './act.js';

export interface PackedAttention {
  lens: number[]; // sequence s is the next lens[s] rows of q, k, v, out
  nHeads: number; headDim: number;
  nKvHeads?: number; // default nHeads; fewer: query head h reads key/value head h / (nHeads / nKvHeads)
  scale?: number; // default 1/√headDim
  left?: number; right?: number; // key j is visible to query i (within a sequence) iff i − left ≤ j ≤ i + right; negative (default): unlimited
}

/** out, q (Σ lens, nHeads·headDim), k, v (Σ lens, nKvHeads·headDim). Heads outside [h0, h1) keep out's values (NaN by default). */
export function encoderAttention(q: Vec, k: Vec, v: Vec, a: PackedAttention, h0 = 0, h1 = a.nHeads,
                                 out?: Float64Array): Float64Array {
  const { lens, nHeads, headDim, left = -1, right = -1 } = a;
  const scale = a.scale ?? 1 / Math.sqrt(headDim), dim = nHeads * headDim, nKv = a.nKvHeads ?? nHeads, kvDim = nKv * headDim;
  const o = out ?? new Float64Array(lens.reduce((x, y) => x + y, 0) * dim).fill(NaN);
  let r0 = 0;
  for (const len of lens) {
    for (let i = 0; i < len; i++) {
      const lo = left < 0 ? 0 : Math.max(0, i - left), hi = right < 0 ? len - 1 : Math.min(len - 1, i + right);
      for (let h = h0; h < h1; h++) {
        const kh = Math.floor(h / (nHeads / nKv));
        const qo = (r0 + i) * dim + h * headDim, keys = Array.from({ length: hi - lo + 1 }, (_, j) => (r0 + lo + j) * kvDim + kh * headDim);
        const w = softmax(keys.map((ko) => {
          let s = 0;
          for (let j = 0; j < headDim; j++) s += q[qo + j] * k[ko + j];
          return s * scale;
        }));
        for (let j = 0; j < headDim; j++) o[qo + j] = keys.reduce((acc, ko, n) => acc + w[n] * v[ko + j], 0);
      }
    }
    r0 += len;
  }
  return o;
}

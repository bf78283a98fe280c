// Float64 reference of attention_f32 / attention_f16kv (kernels/attention.ts): causal grouped-query attention
// of T query rows over a KV cache, with a score scale, Gemma 2's logit softcap, a sliding window and a ring
// cache. Plain loops and a whole softmax per row: what the kernel's online softmax must equal.
import { softmax, type Vec } from './act.js';

export interface CacheAttention {
  nHeads: number; nKvHeads: number; headDim: number; // query head h reads KV head h / (nHeads / nKvHeads)
  pos0: number; T: number; // query row t is at absolute position pos0 + t
  scale?: number; // score = q·k · scale; default 1/√headDim
  softcap?: number; // 0 (default): off; else score → tanh(score / softcap) · softcap
  window?: number; // 0 (default): keys 0..p; else only the last `window` positions, p − window < j ≤ p
  ringRows?: number; // position j's key and value are cache row j % ringRows; default: row j
}

/** out, q (T, nHeads·headDim); kc, vc (rows, nKvHeads·headDim). Heads outside [h0, h1) keep out's values (NaN by default). */
export function attention(q: Vec, kc: Vec, vc: Vec, a: CacheAttention, h0 = 0, h1 = a.nHeads,
                          out: Float64Array = new Float64Array(a.T * a.nHeads * a.headDim).fill(NaN)): Float64Array {
  const { nHeads, nKvHeads, headDim, pos0, T, softcap = 0, window = 0, ringRows = Infinity } = a;
  const scale = a.scale ?? 1 / Math.sqrt(headDim), kvDim = nKvHeads * headDim, group = nHeads / nKvHeads;
  for (let t = 0; t < T; t++) {
    const p = pos0 + t, first = window > 0 ? Math.max(0, p - window + 1) : 0;
    for (let h = h0; h < h1; h++) {
      const qo = (t * nHeads + h) * headDim, kvo = Math.floor(h / group) * headDim;
      const rows = Array.from({ length: p - first + 1 }, (_, i) => ((first + i) % ringRows) * kvDim + kvo);
      const scores = rows.map((r) => {
        let s = 0;
        for (let j = 0; j < headDim; j++) s += q[qo + j] * kc[r + j];
        s *= scale;
        return softcap ? Math.tanh(s / softcap) * softcap : s;
      });
      const w = softmax(scores);
      for (let j = 0; j < headDim; j++) out[qo + j] = rows.reduce((acc, r, i) => acc + w[i] * vc[r + j], 0);
    }
  }
  return out;
}

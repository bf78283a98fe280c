// Causal self-attention with grouped-query heads over one layer's KV cache.
import { dot_f32, madd } from "./simd";
import { softmax_f32 } from "./act";

/**
 * For query rows t < T at absolute positions pos0 + t, and query heads h in [h0, h1):
 *   out[t, h] = softmax(q[t,h] · K[0..pos0+t]ᵀ / sqrt(headDim)) · V[0..pos0+t]
 * q, out (T, nHeads*headDim); kc, vc (seqLen, nKvHeads*headDim), rows up to pos0+T-1 filled;
 * att: scratch of at least pos0+T floats. Query head h reads KV head h / (nHeads / nKvHeads).
 */
export function attention_f32(out: usize, q: usize, kc: usize, vc: usize, att: usize,
                              nHeads: i32, nKvHeads: i32, headDim: i32, pos0: i32, T: i32,
                              h0: i32, h1: i32): void {
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const kvRowBytes = <usize>kvDim << 2;
  for (let t = 0; t < T; t++) {
    const len = pos0 + t + 1; // causal: attend to positions 0..pos0+t
    for (let h = h0; h < h1; h++) {
      const qh = q + (<usize>((t * nHeads + h) * headDim) << 2);
      const kvOff = <usize>((h / group) * headDim) << 2;
      for (let i = 0; i < len; i++) {
        store<f32>(att + (<usize>i << 2), dot_f32(qh, kc + <usize>i * kvRowBytes + kvOff, headDim) * scale);
      }
      softmax_f32(att, len);
      weighted_sum(out + (<usize>((t * nHeads + h) * headDim) << 2), att, vc + kvOff, kvRowBytes, headDim, len);
    }
  }
}

/** out (n,) = Σ_i a[i] * v_i, where v_i starts at v + i*stride. */
function weighted_sum(out: usize, a: usize, v: usize, stride: usize, n: i32, len: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < len; i++) {
      acc = madd(f32x4.splat(load<f32>(a + (<usize>i << 2))), v128.load(v + <usize>i * stride + (<usize>j << 2)), acc);
    }
    v128.store(out + (<usize>j << 2), acc);
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    for (let i = 0; i < len; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(v + <usize>i * stride + (<usize>j << 2));
    store<f32>(out + (<usize>j << 2), s);
  }
}

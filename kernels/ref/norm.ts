// Float64 references of rmsnorm_f32 (kernels/norm.ts) over rows, and over the heads of rows (Qwen3's q_norm /
// k_norm), which the kernel computes as rows of n = headDim, T·nHeads of them.

export type Vec = ArrayLike<number>;

/** out[t,:] = x[t,:] / sqrt(mean(x[t,:]²) + eps) · w for T rows of n. */
export function rmsnorm(x: Vec, w: Vec, n: number, T: number, eps: number): Float64Array {
  const out = new Float64Array(T * n);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[t * n + j] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) out[t * n + j] = x[t * n + j] * inv * w[j];
  }
  return out;
}

/**
 * Per-head RMSNorm (Qwen3's q_norm / k_norm): each head x[t, h·headDim .. (h+1)·headDim) of x (T, nHeads·headDim)
 * normalised on its own, with the one weight w (headDim,).
 */
export function rmsnormHeads(x: Vec, w: Vec, nHeads: number, headDim: number, T: number, eps: number): Float64Array {
  const out = new Float64Array(T * nHeads * headDim);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nHeads; h++) {
      const head = Array.from({ length: headDim }, (_, j) => x[(t * nHeads + h) * headDim + j]);
      out.set(rmsnorm(head, w, headDim, 1, eps), (t * nHeads + h) * headDim);
    }
  }
  return out;
}

// Float64 reference of rmsnorm_f32 (kernels/norm.ts). Per-head RMSNorm (Qwen3's q_norm / k_norm) is the same
// function with n = headDim over T·nHeads rows.

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

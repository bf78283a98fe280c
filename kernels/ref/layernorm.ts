// Float64 reference of layernorm_f32 (kernels/layernorm.ts), torch.nn.LayerNorm's definition.

export type Vec = ArrayLike<number>;

/** out[t,:] = (x[t,:] − mean) / sqrt(var + eps) · w + b for T rows of n, var the biased (1/n) variance. */
export function layernorm(x: Vec, w: Vec, b: Vec, n: number, T: number, eps: number): Float64Array {
  const out = new Float64Array(T * n);
  for (let t = 0; t < T; t++) {
    let mean = 0, v = 0;
    for (let j = 0; j < n; j++) mean += x[t * n + j] / n;
    for (let j = 0; j < n; j++) v += (x[t * n + j] - mean) ** 2 / n;
    const inv = 1 / Math.sqrt(v + eps);
    for (let j = 0; j < n; j++) out[t * n + j] = (x[t * n + j] - mean) * inv * w[j] + b[j];
  }
  return out;
}

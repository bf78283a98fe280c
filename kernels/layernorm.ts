// LayerNorm over the last dimension of T rows (BERT-family encoders; the decoders use rmsnorm in norm.ts).

/**
 * out[t,:] = (x[t,:] − mean) / sqrt(var + eps) * w + b for rows t in [r0, r1), var the biased (1/n) variance as in
 * torch.nn.LayerNorm. x, out (T, n); w, b (n,). out may alias x.
 */
export function layernorm_f32(out: usize, x: usize, w: usize, b: usize, n: i32, eps: f32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2;
  for (let t = r0; t < r1; t++) {
    const xr = x + <usize>t * rowBytes, outr = out + <usize>t * rowBytes;
    // Two passes in f64: BERT's eps is 1e-12, so a cancelling one-pass variance would have no floor.
    let sum: f64 = 0;
    for (let j = 0; j < n; j++) sum += <f64>load<f32>(xr + (<usize>j << 2));
    const mean = sum / <f64>n;
    let ss: f64 = 0;
    for (let j = 0; j < n; j++) { const d = <f64>load<f32>(xr + (<usize>j << 2)) - mean; ss += d * d; }
    const scale = 1.0 / Math.sqrt(ss / <f64>n + <f64>eps);
    // Centre in f64 too: in f32, x·scale − mean·scale cancels and loses the digits of large-offset rows.
    for (let j = 0; j < n; j++) {
      const o = <usize>j << 2;
      const y = <f32>((<f64>load<f32>(xr + o) - mean) * scale);
      store<f32>(outr + o, y * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

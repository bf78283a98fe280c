// Normalisation over the last dimension of T rows.

/** RMSNorm: out[t,:] = x[t,:] / sqrt(mean(x[t,:]²) + eps) * w. x, out (T, n); w (n,). out may alias x. */
export function rmsnorm_f32(out: usize, x: usize, w: usize, n: i32, T: i32, eps: f32): void {
  const rowBytes = <usize>n << 2;
  for (let t = 0; t < T; t++) {
    const xr = x + <usize>t * rowBytes, outr = out + <usize>t * rowBytes;
    // Sum of squares in f64: n can be thousands and this costs nothing next to the matmuls.
    let ss: f64 = 0;
    for (let j = 0; j < n; j++) { const v = <f64>load<f32>(xr + (<usize>j << 2)); ss += v * v; }
    const scale = <f32>(1.0 / Math.sqrt(ss / <f64>n + <f64>eps));
    const vs = f32x4.splat(scale);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      v128.store(outr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), vs), v128.load(w + o)));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(outr + o, load<f32>(xr + o) * scale * load<f32>(w + o));
    }
  }
}

// Normalisation over the last dimension of T rows.
import { promote_high_f32x4 } from "./simd";

/** RMSNorm: out[t,:] = x[t,:] / sqrt(mean(x[t,:]²) + eps) * w for rows t in [r0, r1). x, out (T, n); w (n,). out may alias x. */
export function rmsnorm_f32(out: usize, x: usize, w: usize, n: i32, eps: f32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2, n4 = n & ~3;
  for (let t = r0; t < r1; t++) {
    const xr = x + <usize>t * rowBytes, outr = out + <usize>t * rowBytes;
    // Sum of squares in f64 (two lanes, then the tail): n can be thousands.
    let s2 = f64x2.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2)), lo = f64x2.promote_low_f32x4(v), hi = promote_high_f32x4(v);
      s2 = f64x2.add(s2, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
    }
    let ss = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    for (let j = n4; j < n; j++) { const v = <f64>load<f32>(xr + (<usize>j << 2)); ss += v * v; }
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

// LayerNorm over the last dimension of T rows (BERT-family encoders; the decoders use rmsnorm in norm.ts).
import { demote2_f64x2, promote_high_f32x4 } from "./simd";

/**
 * out[t,:] = (x[t,:] − mean) / sqrt(var + eps) * w + b for rows t in [r0, r1), var the biased (1/n) variance as in
 * torch.nn.LayerNorm. x, out (T, n); w, b (n,). out may alias x.
 */
export function layernorm_f32(out: usize, x: usize, w: usize, b: usize, n: i32, eps: f32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2, n4 = n & ~3;
  for (let t = r0; t < r1; t++) {
    const xr = x + <usize>t * rowBytes, outr = out + <usize>t * rowBytes;
    // Two passes in f64 (two lanes, then the tail): BERT's eps is 1e-12, so a cancelling one-pass variance would have no floor.
    let s2 = f64x2.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(v), promote_high_f32x4(v)));
    }
    let sum = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    for (let j = n4; j < n; j++) sum += <f64>load<f32>(xr + (<usize>j << 2));
    const mean = sum / <f64>n, m2 = f64x2.splat(mean);
    let q2 = f64x2.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), m2), d1 = f64x2.sub(promote_high_f32x4(v), m2);
      q2 = f64x2.add(q2, f64x2.add(f64x2.mul(d0, d0), f64x2.mul(d1, d1)));
    }
    let ss = f64x2.extract_lane(q2, 0) + f64x2.extract_lane(q2, 1);
    for (let j = n4; j < n; j++) { const d = <f64>load<f32>(xr + (<usize>j << 2)) - mean; ss += d * d; }
    const scale = 1.0 / Math.sqrt(ss / <f64>n + <f64>eps), c2 = f64x2.splat(scale);
    // Centre in f64 too: in f32, x·scale − mean·scale cancels and loses the digits of large-offset rows.
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2, v = v128.load(xr + o);
      const y = demote2_f64x2(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), m2), c2), f64x2.mul(f64x2.sub(promote_high_f32x4(v), m2), c2));
      v128.store(outr + o, f32x4.add(f32x4.mul(y, v128.load(w + o)), v128.load(b + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      const y = <f32>((<f64>load<f32>(xr + o) - mean) * scale);
      store<f32>(outr + o, y * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

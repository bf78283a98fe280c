// Matrix products against weights stored row-major as (d, n): out = x @ W^T.
// Most of the run time is spent here (as in llama2.c's matmul).
import { madd, hsum, dot_f32 } from "./simd";

/** Decode: out[r] = W[r,:] · x for rows r in [r0, r1). x (n,), W (d, n), out (d,). */
export function matvec_f32(out: usize, x: usize, w: usize, n: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2;
  for (let r = r0; r < r1; r++) {
    store<f32>(out + (<usize>r << 2), dot_f32(w + <usize>r * rowBytes, x, n));
  }
}

/**
 * Prefill: out[t, r] = W[r,:] · x[t,:] for t < T and rows r in [r0, r1).
 * x (T, n), W (d, n), out (T, d). Four tokens share each load of a weight vector.
 */
export function matmul_f32(out: usize, x: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2;
  const outRowBytes = <usize>d << 2;
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    const x0 = x + <usize>t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
    const o0 = out + <usize>t * outRowBytes;
    for (let r = r0; r < r1; r++) {
      const wr = w + <usize>r * rowBytes;
      let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        const wv = v128.load(wr + o);
        acc0 = madd(wv, v128.load(x0 + o), acc0);
        acc1 = madd(wv, v128.load(x1 + o), acc1);
        acc2 = madd(wv, v128.load(x2 + o), acc2);
        acc3 = madd(wv, v128.load(x3 + o), acc3);
      }
      let s0 = hsum(acc0), s1 = hsum(acc1), s2 = hsum(acc2), s3 = hsum(acc3);
      for (; j < n; j++) {
        const o = <usize>j << 2;
        const wj = load<f32>(wr + o);
        s0 += wj * load<f32>(x0 + o);
        s1 += wj * load<f32>(x1 + o);
        s2 += wj * load<f32>(x2 + o);
        s3 += wj * load<f32>(x3 + o);
      }
      const oc = o0 + (<usize>r << 2);
      store<f32>(oc, s0);
      store<f32>(oc + outRowBytes, s1);
      store<f32>(oc + 2 * outRowBytes, s2);
      store<f32>(oc + 3 * outRowBytes, s3);
    }
  }
  for (; t < T; t++) {
    matvec_f32(out + <usize>t * outRowBytes, x + <usize>t * rowBytes, w, n, r0, r1);
  }
}

// GELU in its exact erf form, x·Φ(x) = x/2·(1 + erf(x/√2)), as BERT's hidden_act "gelu" (not the tanh form).
import { exp_f32x4 } from "./vexp";

/**
 * erfc(z) for z ≥ 0, four lanes: Numerical Recipes in C (2nd ed., §6.2) erfcc, a Chebyshev fit of
 * erfc·e^{z²} with relative error < 1.2e-7; evaluated in f32, so the exponent's rounding adds up to
 * ~z²·2⁻²⁴ relative. Relative accuracy matters: x·Φ(x) for negative x is x/2·erfc(|x|/√2).
 */
// @ts-ignore: decorator
@inline function erfc_pos_f32x4(z: v128): v128 {
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.5), z)));
  let p = f32x4.splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.00002368));
  const arg = f32x4.add(f32x4.sub(f32x4.mul(p, t), f32x4.mul(z, z)), f32x4.splat(-1.26551223));
  return f32x4.mul(t, exp_f32x4(arg));
}

// @ts-ignore: decorator
@inline function gelu_f32x4(x: v128): v128 {
  const c = erfc_pos_f32x4(f32x4.mul(f32x4.abs(x), f32x4.splat(<f32>Math.SQRT1_2)));
  // 1 + erf(x/√2) is 2 − erfc(|x|/√2) for x ≥ 0 and erfc(|x|/√2) for x < 0.
  const onePlusErf = v128.bitselect(f32x4.sub(f32x4.splat(2), c), c, f32x4.ge(x, f32x4.splat(0)));
  return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), onePlusErf);
}

/** out (n,) = gelu(x (n,)). out may alias x. */
export function gelu_f32(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), gelu_f32x4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(gelu_f32x4(f32x4.splat(load<f32>(x + o))), 0));
  }
}

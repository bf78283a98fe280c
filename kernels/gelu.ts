// GELU in its exact erf form, x·Φ(x) = x/2·(1 + erf(x/√2)), as BERT's hidden_act "gelu", and in its tanh
// approximation (gelu_pytorch_tanh), alone and as Gemma's gated MLP activation.
import { demote2_f64x2, promote_high_f32x4 } from "./simd";
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

/** out[i] = gelu(x[i]) for i in [i0, i1). out may alias x. */
export function gelu_f32(out: usize, x: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(out + (<usize>i << 2), gelu_f32x4(v128.load(x + (<usize>i << 2))));
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(gelu_f32x4(f32x4.splat(load<f32>(x + o))), 0));
  }
}

/**
 * GELU's tanh approximation, 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), as x / (1 + e^{−2u}):
 * 1 + tanh(u) would cancel to nothing for x below about −4. −2u is formed in f64 and e^{−2u} taken as
 * e^{hi}·(1 + lo) for −2u = hi + lo split into f32s: an f32 −2u would be off by up to |2u|·2⁻²⁴, which e^·
 * turns into relative error of the result (5e-6 at x = −5).
 */
// @ts-ignore: decorator
@inline function gelu_tanh_f32x4(x: v128): v128 {
  const y0 = minus2u(f64x2.promote_low_f32x4(x)), y1 = minus2u(promote_high_f32x4(x));
  const hi = demote2_f64x2(y0, y1);
  const lo = demote2_f64x2(f64x2.sub(y0, f64x2.promote_low_f32x4(hi)), f64x2.sub(y1, promote_high_f32x4(hi)));
  const e = f32x4.mul(exp_f32x4(hi), f32x4.add(f32x4.splat(1), lo));
  const g = f32x4.div(x, f32x4.add(f32x4.splat(1), e));
  // Past e^88 (x below about −10) the result is under f32's normal range, but exp_f32x4 clamps: say ±0.
  return v128.bitselect(v128.and(x, i32x4.splat(0x80000000)), g, f32x4.gt(hi, f32x4.splat(88)));
}

/** −2u = x·(c0 + c1·x²) on two f64 lanes, clamped to ±100 (beyond exp_f32x4's range, so hi and lo stay finite). */
// @ts-ignore: decorator
@inline function minus2u(x: v128): v128 {
  const c0 = -2 * Math.sqrt(2 / Math.PI), c1 = c0 * 0.044715;
  const y = f64x2.mul(x, f64x2.add(f64x2.splat(c0), f64x2.mul(f64x2.splat(c1), f64x2.mul(x, x))));
  return f64x2.min(f64x2.max(y, f64x2.splat(-100)), f64x2.splat(100));
}

/** out[i] = gelu_tanh(x[i]) (transformers' gelu_pytorch_tanh) for i in [i0, i1). out may alias x. */
export function gelu_tanh_f32(out: usize, x: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(out + (<usize>i << 2), gelu_tanh_f32x4(v128.load(x + (<usize>i << 2))));
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(gelu_tanh_f32x4(f32x4.splat(load<f32>(x + o))), 0));
  }
}

/** Gemma's gated MLP activation: out[i] = gelu_tanh(gate[i]) · up[i] for i in [i0, i1). out may alias gate. */
export function geglu_tanh_f32(out: usize, gate: usize, up: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(gelu_tanh_f32x4(v128.load(gate + o)), v128.load(up + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(gelu_tanh_f32x4(f32x4.splat(load<f32>(gate + o))), 0) * load<f32>(up + o));
  }
}

// tanh on four f32 lanes (Cephes tanhf): an odd polynomial below |x| = 0.625, where 1 − 2/(e^{2|x|} + 1)
// would lose its leading digits to cancellation, that formula above. Within 2e-7 relative; saturates to ±1
// with no inf/inf (exp_f32x4 clamps its input). Plain mul/add, so both SIMD builds give the same bits.
import { exp_f32x4 } from "./vexp";

// @ts-ignore: decorator
@inline export function tanh_f32x4(x: v128): v128 {
  const a = f32x4.abs(x), one = f32x4.splat(1);
  const e = exp_f32x4(f32x4.add(a, a));
  const large = v128.or(f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one))), v128.and(x, i32x4.splat(0x80000000)));
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  return v128.bitselect(large, small, f32x4.ge(a, f32x4.splat(0.625)));
}

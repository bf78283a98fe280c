// IEEE binary16 → f32, written once for every kernel that reads f16 (KV cache, f16 weights, widening).
// The 15 exponent-and-mantissa bits move up 13 places to f32's fields, the sign to bit 31, and × 2^112
// rebiases the exponent (15 → 127), which also turns f16 subnormals into f32 normals.

/** 2^112: f32's exponent bias minus f16's, as a factor. */
const REBIAS: f32 = 5.192296858534828e33;

/** One f16 (the low 16 bits of h) → f32, subnormals, ±inf and NaN (payload kept) included. */
// @ts-ignore: decorator
@inline export function f16_to_f32(h: u32): f32 {
  const em = (h & 0x7fff) << 13;
  const bits = (h & 0x7c00) == 0x7c00 ? em | 0x7f800000 : reinterpret<u32>(reinterpret<f32>(em) * REBIAS);
  return reinterpret<f32>(bits | ((h & 0x8000) << 16));
}

/** Four f16, each sign-extended in its i32 lane as v128.load16x4_s leaves them, → f32x4. Finite values only. */
// @ts-ignore: decorator
@inline export function f16x4_to_f32x4(v: v128): v128 {
  return rebias(i32x4.shl(v, 13));
}

/**
 * Four f16 in the upper 16 bits of each i32 lane (the lower bits are ignored) → f32x4, for two f16 packed
 * per lane. Finite values only. (The one extra shift this saves per vector is 16% of attention_f16kv.)
 */
// @ts-ignore: decorator
@inline export function f16hi_to_f32x4(v: v128): v128 {
  return rebias(i32x4.shr_s(v, 3));
}

/**
 * f16 bits shifted so the sign is at bit 31 and exponent and mantissa at bits 27..13 → f32x4: the mask
 * clears whatever else the shift left (sign copies, the other half's bits). ±inf and NaN are not special
 * cased, so they come out as numbers ≥ 65536.
 */
// @ts-ignore: decorator
@inline function rebias(v: v128): v128 {
  return f32x4.mul(v128.and(v, i32x4.splat(0x8fffe000)), f32x4.splat(REBIAS));
}

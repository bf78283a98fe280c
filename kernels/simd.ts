// SIMD helpers shared by the kernels. The only place the two builds differ:
// `madd` is a fused (or not, CPU's choice) relaxed multiply-add in the relaxed build.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) +
         f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Lanes 2 and 3 of an f32x4 as f64x2 (f64x2.promote_low_f32x4 gives lanes 0 and 1). */
// @ts-ignore: decorator
@inline export function promote_high_f32x4(v: v128): v128 {
  return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
}

/** Two f64x2 rounded to one f32x4: a's lanes, then b's. */
// @ts-ignore: decorator
@inline export function demote2_f64x2(a: v128, b: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 2);
}

/** Dot product of two f32 vectors of n elements; 4 independent accumulators hide add latency. */
// @ts-ignore: decorator
@inline export function dot_f32(a: usize, b: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const o = <usize>j << 2;
    acc0 = madd(v128.load(a + o), v128.load(b + o), acc0);
    acc1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), acc1);
    acc2 = madd(v128.load(a + o, 32), v128.load(b + o, 32), acc2);
    acc3 = madd(v128.load(a + o, 48), v128.load(b + o, 48), acc3);
  }
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    acc0 = madd(v128.load(a + o), v128.load(b + o), acc0);
  }
  let sum = hsum(f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3)));
  for (; j < n; j++) sum += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return sum;
}

/**
 * Wasm has no prefetch instruction: load one byte of each 64-byte line of [p, p + bytes) so those lines
 * are on their way from memory while the caller computes on earlier ones (an out-of-order core keeps a
 * dozen misses in flight). Returns their XOR so the loads are not dead; callers fold it into `sink`.
 */
// @ts-ignore: decorator
@inline export function touch(p: usize, bytes: usize): i32 {
  let x: i32 = 0;
  for (let o: usize = 0; o < bytes; o += 64) x ^= <i32>load<u8>(p + o);
  return x;
}

/** Where touch()'s results go: one global per instance, never read. */
export let sink: i32 = 0;

// Block-quantized weights (ggml's Q8_0 and Q4_0: blocks of 32 along a row, one f32 scale each) and
// their matrix products, with activations quantized once per matmul (once per group of weights that read
// them, in the one-token gemv). Rows whose length is not a multiple of 32 are zero-padded to whole
// blocks (nb = ceil(n / 32)) in weights and activations alike.
//
// Layouts for a (d, n) weight: q8 = [d·nb·32 i8 quants][d·nb f32 scales]; q4 = [d·nb·16 bytes][d·nb f32],
// byte j of a q4 block holding element j in its low nibble and j + 16 in its high one (Q4_0), value q − 8.
// Activations: for q4, quantize_act_q8 → [T·nb·32 i8][T·nb f32 scales][T·nb i32 block sums]; for q8,
// quantize_act_q16 → [T·nb·32 i16][T·nb f32 scales]. q8 weights get 16-bit activations because 8-bit ones
// more than double q8's error (stories260K: mean KL vs f32 6.3e-4 with i8 activations, 2.7e-4 with i16) while i8×i16 costs the baseline
// dot_i16x8_s path nothing extra; q4's error is its weights', so it keeps i8 activations and the relaxed
// build's i8 dot.
import { madd, hsum } from "./simd";

const Q8: i32 = 0, Q4: i32 = 1;

// @ts-ignore: decorator
@inline function blocks(n: i32): i32 { return (n + 31) >> 5; }

/** Round half away from zero, as ggml's roundf. */
// @ts-ignore: decorator
@inline function roundAway(v: f32): i32 { return <i32>(v < 0 ? v - 0.5 : v + 0.5); }

/** Quantize n floats at src (zero past n) into one q8 block at q; returns the scale amax / 127. */
// @ts-ignore: decorator
@inline function quantizeBlock8(q: usize, src: usize, n: i32): f32 {
  let amax: f32 = 0;
  for (let j = 0; j < n; j++) amax = Mathf.max(amax, Mathf.abs(load<f32>(src + (<usize>j << 2))));
  const scale = amax / 127, inv: f32 = amax > 0 ? 127 / amax : 0;
  for (let j = 0; j < 32; j++) store<i8>(q + j, j < n ? <i8>roundAway(load<f32>(src + (<usize>j << 2)) * inv) : 0);
  return scale;
}

/** Rows [r0, r1) of a row-major f32 (d, n) matrix at src (row r0 first) → q8 weight w. */
export function quantize_q8(w: usize, src: usize, n: i32, d: i32, r0: i32, r1: i32): void {
  const nb = blocks(n);
  const scales = w + <usize>d * <usize>nb * 32;
  for (let r = r0; r < r1; r++) {
    const s = src + (<usize>(r - r0) * <usize>n << 2);
    for (let b = 0; b < nb; b++) {
      const i = <usize>r * <usize>nb + b;
      store<f32>(scales + (i << 2), quantizeBlock8(w + (i << 5), s + (<usize>b << 7), min(32, n - (b << 5))));
    }
  }
}

/** Rows [r0, r1) → q4 weight w, as ggml's quantize_row_q4_0: scale = (signed max-|x| value) / −8. */
export function quantize_q4(w: usize, src: usize, n: i32, d: i32, r0: i32, r1: i32): void {
  const nb = blocks(n);
  const scales = w + <usize>d * <usize>nb * 16;
  for (let r = r0; r < r1; r++) {
    for (let b = 0; b < nb; b++) {
      const s = src + (<usize>(r - r0) * <usize>n << 2) + (<usize>b << 7), len = min(32, n - (b << 5));
      let amax: f32 = 0, max: f32 = 0;
      for (let j = 0; j < len; j++) {
        const v = load<f32>(s + (<usize>j << 2));
        if (Mathf.abs(v) > amax) { amax = Mathf.abs(v); max = v; }
      }
      const scale = max / -8, inv: f32 = scale != 0 ? 1 / scale : 0;
      const i = <usize>r * <usize>nb + b;
      for (let j = 0; j < 16; j++) {
        const lo = j < len ? min(15, <i32>(load<f32>(s + (<usize>j << 2)) * inv + 8.5)) : 8;
        const hi = j + 16 < len ? min(15, <i32>(load<f32>(s + (<usize>(j + 16) << 2)) * inv + 8.5)) : 8;
        store<u8>(w + (i << 4) + j, <u8>(lo | (hi << 4)));
      }
      store<f32>(scales + (i << 2), scale);
    }
  }
}

/** max |x| over the 32 floats at src: as integers, since non-negative floats order as their bits do (f32x4.max is slower). */
// @ts-ignore: decorator
@inline function absMax32(src: usize): f32 {
  const abs = i32x4.splat(0x7fffffff);
  let m = v128.and(v128.load(src), abs);
  for (let i: usize = 16; i < 128; i += 16) m = i32x4.max_s(m, v128.and(v128.load(src + i), abs));
  m = i32x4.max_s(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
  return f32x4.extract_lane(i32x4.max_s(m, i32x4.shuffle(m, m, 1, 0, 3, 2)), 0);
}

/**
 * roundAway(x · inv) of the 4 floats at src as i32x4: the scalar path's f32 ops, lane by lane, so the same
 * values. |x · inv| ≤ qmax + 0.5 is far inside i32, where the relaxed truncation is exact.
 */
// @ts-ignore: decorator
@inline function roundAway4(src: usize, inv: v128): v128 {
  const t = f32x4.mul(v128.load(src), inv);
  const r = f32x4.add(t, v128.or(v128.and(t, i32x4.splat(0x80000000)), f32x4.splat(0.5)));
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_trunc_f32x4_s(r);
  return i32x4.trunc_sat_f32x4_s(r);
}

/** 8 quants of src (the 8 floats at src, times inv) as i16x8. */
// @ts-ignore: decorator
@inline function roundAway8(src: usize, inv: v128): v128 {
  return i16x8.narrow_i32x4_s(roundAway4(src, inv), roundAway4(src + 16, inv));
}

/** xq = q8 blocks of T rows of x (T, n), with each block's scale and sum of quants (ggml wdata). Whole blocks in SIMD. */
export function quantize_act_q8(xq: usize, x: usize, T: i32, n: i32): void {
  const nb = blocks(n);
  const scales = xq + <usize>T * <usize>nb * 32, sums = scales + (<usize>T * <usize>nb << 2);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const i = <usize>t * <usize>nb + b, q = xq + (i << 5), src = x + (<usize>t * <usize>n << 2) + (<usize>b << 7);
      if ((b << 5) + 32 <= n) {
        const amax = absMax32(src), inv = f32x4.splat(amax > 0 ? 127 / amax : 0);
        const q0 = roundAway8(src, inv), q1 = roundAway8(src + 32, inv), q2 = roundAway8(src + 64, inv), q3 = roundAway8(src + 96, inv);
        v128.store(q, i8x16.narrow_i16x8_s(q0, q1));
        v128.store(q, i8x16.narrow_i16x8_s(q2, q3), 16);
        const s4 = i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.add(q0, q1)), i32x4.extadd_pairwise_i16x8_s(i16x8.add(q2, q3)));
        store<f32>(scales + (i << 2), amax / 127);
        store<i32>(sums + (i << 2), i32x4.extract_lane(s4, 0) + i32x4.extract_lane(s4, 1) + i32x4.extract_lane(s4, 2) + i32x4.extract_lane(s4, 3));
        continue;
      }
      store<f32>(scales + (i << 2), quantizeBlock8(q, src, n - (b << 5)));
      let sum = 0;
      for (let j = 0; j < 32; j++) sum += <i32>load<i8>(q + j);
      store<i32>(sums + (i << 2), sum);
    }
  }
}

/** xq = 16-bit blocks of T rows of x (T, n): scale amax / 32767 per block of 32 (zero past n). Whole blocks in SIMD. */
export function quantize_act_q16(xq: usize, x: usize, T: i32, n: i32): void {
  const nb = blocks(n);
  const scales = xq + <usize>T * <usize>nb * 64;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const i = <usize>t * <usize>nb + b, q = xq + (i << 6), src = x + (<usize>t * <usize>n << 2) + (<usize>b << 7);
      const len = min(32, n - (b << 5));
      let amax: f32 = 0;
      if (len == 32) {
        amax = absMax32(src);
        const inv = f32x4.splat(amax > 0 ? 32767 / amax : 0);
        for (let j: usize = 0; j < 4; j++) v128.store(q + (j << 4), roundAway8(src + (j << 5), inv));
      } else {
        for (let j = 0; j < len; j++) amax = Mathf.max(amax, Mathf.abs(load<f32>(src + (<usize>j << 2))));
        const inv: f32 = amax > 0 ? 32767 / amax : 0;
        for (let j = 0; j < 32; j++) store<i16>(q + (<usize>j << 1), j < len ? <i16>roundAway(load<f32>(src + (<usize>j << 2)) * inv) : 0);
      }
      store<f32>(scales + (i << 2), amax / 32767);
    }
  }
}

/** Bytes of one activation block: i16 quants for q8 weights, i8 for q4. */
// @ts-ignore: decorator
@inline function actBlockBytes(kind: i32): usize { return kind == Q8 ? 64 : 32; }

/**
 * i32x4 partial sums of one block: Σ w_j·x_j over 32 quants.
 * q8: i8 weights widened to i16 against i16 activations, i32x4.dot_i16x8_s (|sum| ≤ 32·127·32767 < 2^27).
 * q4 baseline: nibbles − 8 and i8 activations, both widened to i16, i32x4.dot_i16x8_s.
 * q4 relaxed: the nibbles 0..15 are i16x8.relaxed_dot_i8x16_i7x16_s's non-negative i7 operand as they are;
 * the caller subtracts 8·Σx.
 * The i16x8 relaxed dot is widened pairwise rather than using i32x4.relaxed_dot_i8x16_i7x16_add_s:
 * Node 20's V8 (11.3) returns twice the dot and drops the accumulator for that one (probed on this machine).
 */
// @ts-ignore: decorator
@inline function blockDot(wb: usize, xb: usize, kind: i32): v128 {
  if (kind == Q8) return blockDotQ8(wb, v128.load(xb), v128.load(xb, 16), v128.load(xb, 32), v128.load(xb, 48));
  return blockDotQ4(wb, xq4(xb, 0), xq4(xb, 1), xq4(xb, 2), xq4(xb, 3));
}

/** Part i of a q4 activation block as blockDotQ4 takes it: i16x8 quarters (baseline), i8x16 halves (relaxed). */
// @ts-ignore: decorator
@inline function xq4(xb: usize, i: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i < 2 ? v128.load(xb + (<usize>i << 4)) : i32x4.splat(0);
  const v = v128.load(xb + (<usize>(i >> 1) << 4));
  return (i & 1) == 0 ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_high_i8x16_s(v);
}

/** q4 block dot against activation parts from xq4 (loaded once for 4 rows). */
// @ts-ignore: decorator
@inline function blockDotQ4(wb: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const raw = v128.load(wb);
  const lo = v128.and(raw, i8x16.splat(0x0f)), hi = i8x16.shr_u(raw, 4);
  // |pair sums| ≤ 2·15·127, so the two halves add in i16 before one widening.
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi)));
  }
  const l = i8x16.sub(lo, i8x16.splat(8)), h = i8x16.sub(hi, i8x16.splat(8));
  let a = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(l), x0);
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(l), x1));
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(h), x2));
  return i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(h), x3));
}

/** q8 block dot against activations already loaded (x0..x3: 32 i16), so 4 rows share the loads. */
// @ts-ignore: decorator
@inline function blockDotQ8(wb: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const w0 = v128.load(wb), w1 = v128.load(wb, 16);
  let a = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w0), x0);
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w0), x1));
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w1), x2));
  return i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w1), x3));
}

/** Whether the kernel must correct for q4's unsigned nibbles (relaxed build) with 8·Σx per block. */
// @ts-ignore: decorator
@inline function unsignedQ4(kind: i32): bool { return ASC_FEATURE_RELAXED_SIMD && kind == Q4; }

/**
 * One weight row · one activation row: Σ_b scale_w·scale_x·blockDot, two blocks per step into two
 * accumulators (the decode GEMV runs this on each row in turn).
 */
// @ts-ignore: decorator
@inline function rowDot(wr: usize, ws: usize, xr: usize, xs: usize, xsum: usize, nb: i32, kind: i32): f32 {
  const bb: usize = kind == Q8 ? 32 : 16, xb = actBlockBytes(kind);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let corr: f32 = 0;
  let b = 0;
  for (; b + 2 <= nb; b += 2) {
    const so = <usize>b << 2, w0 = wr + <usize>b * bb, x0 = xr + <usize>b * xb;
    const f0 = load<f32>(ws + so) * load<f32>(xs + so), f1 = load<f32>(ws + so, 4) * load<f32>(xs + so, 4);
    a0 = madd(f32x4.convert_i32x4_s(blockDot(w0, x0, kind)), f32x4.splat(f0), a0);
    a1 = madd(f32x4.convert_i32x4_s(blockDot(w0 + bb, x0 + xb, kind)), f32x4.splat(f1), a1);
    if (unsignedQ4(kind)) corr += f0 * <f32>load<i32>(xsum + so) + f1 * <f32>load<i32>(xsum + so, 4);
  }
  if (b < nb) {
    const so = <usize>b << 2, f = load<f32>(ws + so) * load<f32>(xs + so);
    a0 = madd(f32x4.convert_i32x4_s(blockDot(wr + <usize>b * bb, xr + <usize>b * xb, kind)), f32x4.splat(f), a0);
    if (unsignedQ4(kind)) corr += f * <f32>load<i32>(xsum + so);
  }
  return hsum(f32x4.add(a0, a1)) - 8 * corr;
}

/** Four weight rows · one activation row, sharing each activation block load (several tokens: each 4-row group is reused from L1). */
// @ts-ignore: decorator
@inline function rowDot4(o: usize, wr: usize, rowBytes: usize, ws: usize, xr: usize, xs: usize, xsum: usize, nb: i32, kind: i32): void {
  const bb: usize = kind == Q8 ? 32 : 16, sb = <usize>nb << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let c0: f32 = 0, c1: f32 = 0, c2: f32 = 0, c3: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const xb = xr + <usize>b * actBlockBytes(kind), wb = wr + <usize>b * bb, so = <usize>b << 2;
    const dx = load<f32>(xs + so);
    const f0 = load<f32>(ws + so) * dx, f1 = load<f32>(ws + sb + so) * dx;
    const f2 = load<f32>(ws + 2 * sb + so) * dx, f3 = load<f32>(ws + 3 * sb + so) * dx;
    let d0: v128, d1: v128, d2: v128, d3: v128;
    if (kind == Q8) {
      const x0 = v128.load(xb), x1 = v128.load(xb, 16), x2 = v128.load(xb, 32), x3 = v128.load(xb, 48);
      d0 = blockDotQ8(wb, x0, x1, x2, x3); d1 = blockDotQ8(wb + rowBytes, x0, x1, x2, x3);
      d2 = blockDotQ8(wb + 2 * rowBytes, x0, x1, x2, x3); d3 = blockDotQ8(wb + 3 * rowBytes, x0, x1, x2, x3);
    } else {
      const x0 = xq4(xb, 0), x1 = xq4(xb, 1), x2 = xq4(xb, 2), x3 = xq4(xb, 3);
      d0 = blockDotQ4(wb, x0, x1, x2, x3); d1 = blockDotQ4(wb + rowBytes, x0, x1, x2, x3);
      d2 = blockDotQ4(wb + 2 * rowBytes, x0, x1, x2, x3); d3 = blockDotQ4(wb + 3 * rowBytes, x0, x1, x2, x3);
    }
    a0 = madd(f32x4.convert_i32x4_s(d0), f32x4.splat(f0), a0);
    a1 = madd(f32x4.convert_i32x4_s(d1), f32x4.splat(f1), a1);
    a2 = madd(f32x4.convert_i32x4_s(d2), f32x4.splat(f2), a2);
    a3 = madd(f32x4.convert_i32x4_s(d3), f32x4.splat(f3), a3);
    if (unsignedQ4(kind)) {
      const sx = <f32>load<i32>(xsum + so);
      c0 += f0 * sx; c1 += f1 * sx; c2 += f2 * sx; c3 += f3 * sx;
    }
  }
  store<f32>(o, hsum(a0) - 8 * c0);
  store<f32>(o, hsum(a1) - 8 * c1, 4);
  store<f32>(o, hsum(a2) - 8 * c2, 8);
  store<f32>(o, hsum(a3) - 8 * c3, 12);
}

/**
 * out[r] = W[r,:] · x for r in [r0, r1) (nothing when r1 ≤ r0): one token, one row at a time. Reading 4 rows
 * side by side ran 1.6× slower on this machine (all SmolLM2-135M q8 weights, one thread, weights from
 * memory; 1.15× with one layer's weights in cache).
 */
// @ts-ignore: decorator
@inline function gemvRows(out: usize, xq: usize, w: usize, n: i32, d: i32, r0: i32, r1: i32, kind: i32): void {
  const nb = blocks(n), sb = <usize>nb << 2;
  const rowBytes = <usize>nb * (kind == Q8 ? 32 : 16), wScales = w + <usize>d * rowBytes;
  const xScales = xq + <usize>nb * actBlockBytes(kind), xSums = xScales + sb;
  for (let r = r0; r < r1; r++) {
    store<f32>(out + (<usize>r << 2), rowDot(w + <usize>r * rowBytes, wScales + <usize>r * sb, xq, xScales, xSums, nb, kind));
  }
}

/**
 * out[t, r] = W[r,:] · x[t,:] for t < T, r in [r0, r1), with xq = quantize_act_q16/_q8(x). One token: each
 * row in turn. Several: rows 4 at a time, and every token runs against those 4 rows while they are in L1,
 * so weights stream from memory once.
 */
// @ts-ignore: decorator
@inline function matmulBlocks(out: usize, xq: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32, kind: i32): void {
  const nb = blocks(n);
  const rowBytes = <usize>nb * (kind == Q8 ? 32 : 16);
  const wScales = w + <usize>d * rowBytes;
  const xRowBytes = <usize>nb * actBlockBytes(kind);
  const xScales = xq + <usize>T * xRowBytes, xSums = xScales + (<usize>T * <usize>nb << 2);
  const outRowBytes = <usize>d << 2, xsRowBytes = <usize>nb << 2;
  if (T == 1) {
    gemvRows(out, xq, w, n, d, r0, r1, kind);
    return;
  }
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const wr = w + <usize>r * rowBytes, ws = wScales + <usize>r * xsRowBytes;
    for (let t = 0; t < T; t++) {
      const xo = <usize>t * xsRowBytes;
      rowDot4(out + <usize>t * outRowBytes + (<usize>r << 2), wr, rowBytes, ws, xq + <usize>t * xRowBytes,
        xScales + xo, xSums + xo, nb, kind);
    }
  }
  for (; r < r1; r++) {
    const wr = w + <usize>r * rowBytes, ws = wScales + <usize>r * xsRowBytes;
    for (let t = 0; t < T; t++) {
      const xo = <usize>t * xsRowBytes;
      store<f32>(out + <usize>t * outRowBytes + (<usize>r << 2),
        rowDot(wr, ws, xq + <usize>t * xRowBytes, xScales + xo, xSums + xo, nb, kind));
    }
  }
}

/** out (T, d) = x @ Wᵀ for a q8 W; xq from quantize_act_q16(x, T, n); rows [r0, r1) only. */
export function matmul_q8(out: usize, xq: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  matmulBlocks(out, xq, w, T, n, d, r0, r1, Q8);
}

/** out (T, d) = x @ Wᵀ for a q4 W; xq from quantize_act_q8(x, T, n); rows [r0, r1) only. */
export function matmul_q4(out: usize, xq: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  matmulBlocks(out, xq, w, T, n, d, r0, r1, Q4);
}

/**
 * One token through up to three weights (d_i, n) that read the same xq (q/k/v, gate/up; an unused one has
 * d_i = 0): rows [r0, r1) of their rows stacked (d0 + d1 + d2), row r of weight i into out_i, so one pool
 * job covers them all.
 */
// @ts-ignore: decorator
@inline function gemvStacked(o0: usize, o1: usize, o2: usize, xq: usize, w0: usize, w1: usize, w2: usize,
                             n: i32, d0: i32, d1: i32, d2: i32, r0: i32, r1: i32, kind: i32): void {
  gemvRows(o0, xq, w0, n, d0, r0, min(r1, d0), kind);
  gemvRows(o1, xq, w1, n, d1, max(r0 - d0, 0), min(r1 - d0, d1), kind);
  gemvRows(o2, xq, w2, n, d2, max(r0 - d0 - d1, 0), min(r1 - d0 - d1, d2), kind);
}

/** gemvStacked for q8 weights; xq from quantize_act_q16(x, 1, n). */
export function gemv_q8(o0: usize, o1: usize, o2: usize, xq: usize, w0: usize, w1: usize, w2: usize,
                        n: i32, d0: i32, d1: i32, d2: i32, r0: i32, r1: i32): void {
  gemvStacked(o0, o1, o2, xq, w0, w1, w2, n, d0, d1, d2, r0, r1, Q8);
}

/** gemvStacked for q4 weights; xq from quantize_act_q8(x, 1, n). */
export function gemv_q4(o0: usize, o1: usize, o2: usize, xq: usize, w0: usize, w1: usize, w2: usize,
                        n: i32, d0: i32, d1: i32, d2: i32, r0: i32, r1: i32): void {
  gemvStacked(o0, o1, o2, xq, w0, w1, w2, n, d0, d1, d2, r0, r1, Q4);
}

/** out (dim,) = row id of a q8 table (vocab, dim), dequantized. */
export function embed_q8(out: usize, w: usize, id: i32, dim: i32, vocab: i32): void {
  const nb = blocks(dim);
  const q = w + <usize>id * <usize>nb * 32, scales = w + <usize>vocab * <usize>nb * 32 + (<usize>id * <usize>nb << 2);
  for (let j = 0; j < dim; j++) {
    store<f32>(out + (<usize>j << 2), <f32>load<i8>(q + j) * load<f32>(scales + (<usize>(j >> 5) << 2)));
  }
}

/** out (dim,) = row id of a q4 table (vocab, dim), dequantized. */
export function embed_q4(out: usize, w: usize, id: i32, dim: i32, vocab: i32): void {
  const nb = blocks(dim);
  const q = w + <usize>id * <usize>nb * 16, scales = w + <usize>vocab * <usize>nb * 16 + (<usize>id * <usize>nb << 2);
  for (let j = 0; j < dim; j++) {
    const byte = <i32>load<u8>(q + <usize>((j >> 5) << 4) + (j & 15));
    const v = (j & 16) != 0 ? byte >> 4 : byte & 15;
    store<f32>(out + (<usize>j << 2), <f32>(v - 8) * load<f32>(scales + (<usize>(j >> 5) << 2)));
  }
}

// Block-quantized weights (ggml's Q8_0 and Q4_0: blocks of 32 along a row, one f32 scale each) and
// their matrix products, with activations quantized once per matmul. Rows whose length is not a
// multiple of 32 are zero-padded to whole blocks (nb = ceil(n / 32)) in weights and activations alike.
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

/** xq = q8 blocks of T rows of x (T, n), with each block's scale and sum of quants (ggml wdata). */
export function quantize_act_q8(xq: usize, x: usize, T: i32, n: i32): void {
  const nb = blocks(n);
  const scales = xq + <usize>T * <usize>nb * 32, sums = scales + (<usize>T * <usize>nb << 2);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const i = <usize>t * <usize>nb + b, q = xq + (i << 5);
      store<f32>(scales + (i << 2), quantizeBlock8(q, x + (<usize>t * <usize>n << 2) + (<usize>b << 7), min(32, n - (b << 5))));
      let sum = 0;
      for (let j = 0; j < 32; j++) sum += <i32>load<i8>(q + j);
      store<i32>(sums + (i << 2), sum);
    }
  }
}

/** xq = 16-bit blocks of T rows of x (T, n): scale amax / 32767 per block of 32 (zero past n). */
export function quantize_act_q16(xq: usize, x: usize, T: i32, n: i32): void {
  const nb = blocks(n);
  const scales = xq + <usize>T * <usize>nb * 64;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const i = <usize>t * <usize>nb + b, q = xq + (i << 6), src = x + (<usize>t * <usize>n << 2) + (<usize>b << 7);
      const len = min(32, n - (b << 5));
      let amax: f32 = 0;
      for (let j = 0; j < len; j++) amax = Mathf.max(amax, Mathf.abs(load<f32>(src + (<usize>j << 2))));
      const inv: f32 = amax > 0 ? 32767 / amax : 0;
      for (let j = 0; j < 32; j++) store<i16>(q + (<usize>j << 1), j < len ? <i16>roundAway(load<f32>(src + (<usize>j << 2)) * inv) : 0);
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

/** One weight row · one activation row: Σ_b scale_w·scale_x·blockDot. */
// @ts-ignore: decorator
@inline function rowDot(wr: usize, ws: usize, xr: usize, xs: usize, xsum: usize, nb: i32, kind: i32): f32 {
  const bb: usize = kind == Q8 ? 32 : 16;
  let acc = f32x4.splat(0);
  let corr: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const f = load<f32>(ws + (<usize>b << 2)) * load<f32>(xs + (<usize>b << 2));
    acc = madd(f32x4.convert_i32x4_s(blockDot(wr + <usize>b * bb, xr + <usize>b * actBlockBytes(kind), kind)), f32x4.splat(f), acc);
    if (unsignedQ4(kind)) corr += f * <f32>load<i32>(xsum + (<usize>b << 2));
  }
  return hsum(acc) - 8 * corr;
}

/** Four weight rows · one activation row, sharing each activation block load (the decode GEMV's 4 rows per pass). */
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
 * out[t, r] = W[r,:] · x[t,:] for t < T, r in [r0, r1), with xq = quantize_act_q8(x). Rows go 4 at a time
 * and every token runs against those 4 rows while they are in L1, so weights stream from memory once.
 */
// @ts-ignore: decorator
@inline function matmulBlocks(out: usize, xq: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32, kind: i32): void {
  const nb = blocks(n);
  const rowBytes = <usize>nb * (kind == Q8 ? 32 : 16);
  const wScales = w + <usize>d * rowBytes;
  const xRowBytes = <usize>nb * actBlockBytes(kind);
  const xScales = xq + <usize>T * xRowBytes, xSums = xScales + (<usize>T * <usize>nb << 2);
  const outRowBytes = <usize>d << 2, xsRowBytes = <usize>nb << 2;
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

// Prefill (T > 1) products against q8/q4 weights (layouts in quant.ts) with integer dot products: each
// 8-row panel is rearranged once into per-thread scratch, k-pairs of 8 rows side by side (q8: as i8, widened
// to i16 in the tile; q4: as i16, or as unsigned nibbles for the relaxed i8 dot), and 4 tokens at a time run
// against it, so one weight load and one activation splat feed 8 rows × 2 k per dot.
//
// Measured: SmolLM2-135M gate/up (n 576, d 1536), T 128, 1 thread, GFLOP/s by CPU time, activation
// quantization included, rounds interleaved (the machine was loaded: compare within a row).
//   build     f32 panels  matmul_q8  matmul_q4  qgemm_q8  qgemm_q4  (b) q8  (b) q4
//   relaxed   43.5        33.9       37.3       59.7      63.8      40.2    47.2
//   baseline  40.5        33.0       24.9       61.3      52.4      37.0    39.1
// (b), from an earlier run where f32 panels measured 43.0-45.4 / 40.6: unpack each panel to f32 and run
// panel.ts's 4×8 f32 tile on it. It is f32 work again, so no faster than f32 panels. Tiles of 2 and 3 tokens
// ran slower than 4 (46.4, 54.6 vs 57.0), and so did unrolling the k-pair loop by 4 (38.4). From T = 4
// qgemm beats matmul_q8 (1.1×; at T = 3 0.7×), hence Ops' QGEMM_MIN_T.
import { madd, sink, touch } from "./simd";
import { store8, transpose4 } from "./panel";

const Q8: i32 = 0, Q4: i32 = 1;
/** Tokens per tile: in the k loop, 8 i32 accumulators (2 per token) + 2 weight vectors + 1 splat fit x64's 16 registers. */
const NT: i32 = 4;
/** A baseline q4 block: 16 k-pairs × 8 rows (rows 0-3, then 4-7) × 2 i16 = 512 bytes, then the 8 rows' scales. */
const PAIR16: usize = 32, BLOCK16: usize = 16 * PAIR16 + 32;
/** A q8 block (16 k-pairs × 8 rows × 2 i8) or a relaxed q4 block (× 2 unsigned nibbles): 256 bytes, then scales. */
const PAIR8: usize = 16, BLOCK8: usize = 16 * PAIR8 + 32;

// @ts-ignore: decorator
@inline function blocks(n: i32): i32 { return (n + 31) >> 5; }

/** Row r clamped into [r0, r1): a panel's rows outside the range are computed from a valid row, never stored. */
// @ts-ignore: decorator
@inline function clampRow(r: i32, r0: i32, r1: i32): usize { return <usize>(r < r0 ? r0 : r >= r1 ? r1 - 1 : r); }

/** Quants 8q..8q+7 of one q4 row's block at p, as i16 (nibble − 8). */
// @ts-ignore: decorator
@inline function part(p: usize, q: i32): v128 {
  const raw = v128.load(p);
  const v = i8x16.sub(q < 2 ? v128.and(raw, i8x16.splat(15)) : i8x16.shr_u(raw, 4), i8x16.splat(8));
  return (q & 1) == 0 ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_high_i8x16_s(v);
}

/** Copy the 4 rows' block-b scales into sv (4 f32). */
// @ts-ignore: decorator
@inline function scales4(sv: usize, scales: usize, nb: i32, b: i32, i0: usize, i1: usize, i2: usize, i3: usize): void {
  const so = scales + (<usize>b << 2), sr = <usize>nb << 2;
  store<f32>(sv, load<f32>(so + i0 * sr), 0);
  store<f32>(sv, load<f32>(so + i1 * sr), 4);
  store<f32>(sv, load<f32>(so + i2 * sr), 8);
  store<f32>(sv, load<f32>(so + i3 * sr), 12);
}

/**
 * Widen rows rb..rb+7 of a q4 w into s as i16 (the baseline build): k-pair j of block b at s + b·BLOCK16 +
 * j·PAIR16, one i32 lane per row, so i32x4.dot_i16x8_s against a splatted activation pair gives 4 rows' 2-term sums.
 */
// @ts-ignore: decorator
@inline function widenI16(s: usize, w: usize, nb: i32, d: i32, rb: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>nb << 4, scales = w + <usize>d * rowBytes;
  for (let h = 0; h < 2; h++) {
    const i0 = clampRow(rb + 4 * h, r0, r1), i1 = clampRow(rb + 4 * h + 1, r0, r1);
    const i2 = clampRow(rb + 4 * h + 2, r0, r1), i3 = clampRow(rb + 4 * h + 3, r0, r1);
    for (let b = 0; b < nb; b++) {
      const o = s + <usize>b * BLOCK16 + (<usize>h << 4), bo = <usize>b << 4;
      const p0 = w + i0 * rowBytes + bo, p1 = w + i1 * rowBytes + bo, p2 = w + i2 * rowBytes + bo, p3 = w + i3 * rowBytes + bo;
      // Each i16x8 part holds 4 k-pairs of one row; the 4×4 transpose of i32 lanes makes them per-pair columns.
      for (let q = 0; q < 4; q++) {
        transpose4(o + <usize>q * 4 * PAIR16, part(p0, q), part(p1, q), part(p2, q), part(p3, q));
      }
      scales4(o + 16 * PAIR16, scales, nb, b, i0, i1, i2, i3);
    }
  }
}

/** 4 rows × 8 u16 lanes (nibble pairs) → pair j's 4 u16 side by side at o + j·PAIR8 (8 bytes). */
// @ts-ignore: decorator
@inline function pairs4(o: usize, a: v128, b: v128, c: v128, d: v128): void {
  const ab0 = i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), ab1 = i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
  const cd0 = i16x8.shuffle(c, d, 0, 8, 1, 9, 2, 10, 3, 11), cd1 = i16x8.shuffle(c, d, 4, 12, 5, 13, 6, 14, 7, 15);
  const e0 = i32x4.shuffle(ab0, cd0, 0, 4, 1, 5), e1 = i32x4.shuffle(ab0, cd0, 2, 6, 3, 7);
  const e2 = i32x4.shuffle(ab1, cd1, 0, 4, 1, 5), e3 = i32x4.shuffle(ab1, cd1, 2, 6, 3, 7);
  v128.store64_lane(o, e0, 0); v128.store64_lane(o, e0, 1, 16);
  v128.store64_lane(o, e1, 0, 32); v128.store64_lane(o, e1, 1, 48);
  v128.store64_lane(o, e2, 0, 64); v128.store64_lane(o, e2, 1, 80);
  v128.store64_lane(o, e3, 0, 96); v128.store64_lane(o, e3, 1, 112);
}

/**
 * Rearrange rows rb..rb+7 of w into s as byte pairs: k-pair j of block b at s + b·BLOCK8 + j·PAIR8, rows 0-3
 * then 4-7, 2 bytes a row. q8: its i8 quants, so one load and two extends give tileI16 its two i16 pair
 * vectors (half the bytes and shuffles of an i16 panel: at a batched decode's 8 tokens the widening was a
 * third of the time). q4 (relaxed build): unsigned nibbles, the relaxed i8 dot's i7 operand.
 */
// @ts-ignore: decorator
@inline function widen8(s: usize, w: usize, nb: i32, d: i32, rb: i32, r0: i32, r1: i32, kind: i32): void {
  const bb: usize = kind == Q8 ? 32 : 16, rowBytes = <usize>nb * bb, scales = w + <usize>d * rowBytes, m = i8x16.splat(15);
  for (let h = 0; h < 2; h++) {
    const i0 = clampRow(rb + 4 * h, r0, r1), i1 = clampRow(rb + 4 * h + 1, r0, r1);
    const i2 = clampRow(rb + 4 * h + 2, r0, r1), i3 = clampRow(rb + 4 * h + 3, r0, r1);
    for (let b = 0; b < nb; b++) {
      const o = s + <usize>b * BLOCK8, oh = o + (<usize>h << 3), bo = <usize>b * bb;
      const p0 = w + i0 * rowBytes + bo, p1 = w + i1 * rowBytes + bo, p2 = w + i2 * rowBytes + bo, p3 = w + i3 * rowBytes + bo;
      const v0 = v128.load(p0), v1 = v128.load(p1), v2 = v128.load(p2), v3 = v128.load(p3);
      if (kind == Q8) {
        // k 0..15 (pairs 0-7), then k 16..31 (pairs 8-15).
        pairs4(oh, v0, v1, v2, v3);
        pairs4(oh + 8 * PAIR8, v128.load(p0, 16), v128.load(p1, 16), v128.load(p2, 16), v128.load(p3, 16));
      } else {
        // Low nibbles are k 0..15 (pairs 0-7), high nibbles k 16..31 (pairs 8-15).
        pairs4(oh, v128.and(v0, m), v128.and(v1, m), v128.and(v2, m), v128.and(v3, m));
        pairs4(oh + 8 * PAIR8, i8x16.shr_u(v0, 4), i8x16.shr_u(v1, 4), i8x16.shr_u(v2, 4), i8x16.shr_u(v3, 4));
      }
      scales4(o + 16 * PAIR8 + (<usize>h << 4), scales, nb, b, i0, i1, i2, i3);
    }
  }
}

/** a + the 4 rows' 2-term dots of an i16 weight pair vector w with the activation pair splat x. */
// @ts-ignore: decorator
@inline function dot2(a: v128, w: v128, x: v128): v128 { return i32x4.add(a, i32x4.dot_i16x8_s(w, x)); }

/** One token's activation pair at x, splatted to every i32 lane as i16 (act8: from i8 activations). */
// @ts-ignore: decorator
@inline function xpair(x: usize, act8: bool): v128 {
  return act8 ? i16x8.extend_low_i8x16_s(v128.load16_splat(x)) : v128.load32_splat(x);
}

/** c + the 8 rows' block sums (a: rows 0-3 or 4-7, i32) × weight scales sv × the token's block scale. */
// @ts-ignore: decorator
@inline function scaleAdd(c: v128, a: v128, sv: v128, xs: usize): v128 {
  return madd(f32x4.convert_i32x4_s(a), f32x4.mul(sv, f32x4.splat(load<f32>(xs))), c);
}

/**
 * nt (1..NT) tokens at x (rows xRowBytes apart, block scales at xs, xsRowBytes apart) against the i16
 * panel s: out rows o.., rows rb..rb+7 kept in [r0, r1). act8: activations are quantize_act_q8's i8.
 */
// @ts-ignore: decorator
@inline function tileI16(o: usize, outRowBytes: usize, x: usize, xRowBytes: usize, xs: usize, xsRowBytes: usize,
                         s: usize, nb: i32, rb: i32, r0: i32, r1: i32, nt: i32, act8: bool, panel8: bool): void {
  const xStep: usize = act8 ? 2 : 4, pair: usize = panel8 ? PAIR8 : PAIR16, block: usize = panel8 ? BLOCK8 : BLOCK16;
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0), c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0), c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const pb = s + <usize>b * block;
    let x0 = x + <usize>b * 16 * xStep, x1 = x0 + xRowBytes, x2 = x1 + xRowBytes, x3 = x2 + xRowBytes;
    let a0l = i32x4.splat(0), a0h = i32x4.splat(0), a1l = i32x4.splat(0), a1h = i32x4.splat(0);
    let a2l = i32x4.splat(0), a2h = i32x4.splat(0), a3l = i32x4.splat(0), a3h = i32x4.splat(0);
    // |sum| ≤ 32·127·32767 < 2^31 per block; pointer steps rather than indices: V8 does not hoist the address math.
    for (let p = pb, pe = pb + 16 * pair; p < pe; p += pair) {
      let wl: v128, wh: v128;
      if (panel8) { const w8 = v128.load(p); wl = i16x8.extend_low_i8x16_s(w8); wh = i16x8.extend_high_i8x16_s(w8); }
      else { wl = v128.load(p); wh = v128.load(p, 16); }
      let xk = xpair(x0, act8);
      a0l = dot2(a0l, wl, xk); a0h = dot2(a0h, wh, xk);
      if (nt > 1) { xk = xpair(x1, act8); a1l = dot2(a1l, wl, xk); a1h = dot2(a1h, wh, xk); }
      if (nt > 2) { xk = xpair(x2, act8); a2l = dot2(a2l, wl, xk); a2h = dot2(a2h, wh, xk); }
      if (nt > 3) { xk = xpair(x3, act8); a3l = dot2(a3l, wl, xk); a3h = dot2(a3h, wh, xk); }
      x0 += xStep; x1 += xStep; x2 += xStep; x3 += xStep;
    }
    const sl = v128.load(pb + 16 * pair), sh = v128.load(pb + 16 * pair, 16), xb = xs + (<usize>b << 2);
    c0l = scaleAdd(c0l, a0l, sl, xb); c0h = scaleAdd(c0h, a0h, sh, xb);
    if (nt > 1) { c1l = scaleAdd(c1l, a1l, sl, xb + xsRowBytes); c1h = scaleAdd(c1h, a1h, sh, xb + xsRowBytes); }
    if (nt > 2) { c2l = scaleAdd(c2l, a2l, sl, xb + 2 * xsRowBytes); c2h = scaleAdd(c2h, a2h, sh, xb + 2 * xsRowBytes); }
    if (nt > 3) { c3l = scaleAdd(c3l, a3l, sl, xb + 3 * xsRowBytes); c3h = scaleAdd(c3h, a3h, sh, xb + 3 * xsRowBytes); }
  }
  store8(o, rb, c0l, c0h, r0, r1);
  if (nt > 1) store8(o + outRowBytes, rb, c1l, c1h, r0, r1);
  if (nt > 2) store8(o + 2 * outRowBytes, rb, c2l, c2h, r0, r1);
  if (nt > 3) store8(o + 3 * outRowBytes, rb, c3l, c3h, r0, r1);
}

/** a + 8 rows' 2-term dots of unsigned nibble pairs w with the i8 activation pair at x (relaxed build only). */
// @ts-ignore: decorator
@inline function dotU(a: v128, w: v128, x: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load16_splat(x), w));
  return a;
}

/** acc (rows 0-3 | 4-7 as lo/hi) += the i16 half-block sums a, widened. */
// @ts-ignore: decorator
@inline function widenAdd(acc: v128, a: v128, hi: bool): v128 {
  return i32x4.add(acc, hi ? i32x4.extend_high_i16x8_s(a) : i32x4.extend_low_i16x8_s(a));
}

/** c + (a − 8·Σx) × weight scales × the token's block scale: the nibbles' zero point 8, taken out once. */
// @ts-ignore: decorator
@inline function scaleAddU(c: v128, a: v128, sv: v128, xs: usize, xsum: usize): v128 {
  return scaleAdd(c, i32x4.sub(a, i32x4.splat(load<i32>(xsum) << 3)), sv, xs);
}

/**
 * tileI16 for the relaxed q4 panel (widen8) and quantize_act_q8's i8 activations (block sums at xsum):
 * i16x8.relaxed_dot_i8x16_i7x16_s gives 8 rows' 2-term sums in i16 lanes; half a block (8 pairs) sums to
 * at most 8·2·15·127 < 2^15 in i16, then is widened.
 */
// @ts-ignore: decorator
@inline function tileU8(o: usize, outRowBytes: usize, x: usize, xRowBytes: usize, xs: usize, xsum: usize, xsRowBytes: usize,
                        s: usize, nb: i32, rb: i32, r0: i32, r1: i32, nt: i32): void {
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0), c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0), c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const pb = s + <usize>b * BLOCK8;
    let x0 = x + (<usize>b << 5), x1 = x0 + xRowBytes, x2 = x1 + xRowBytes, x3 = x2 + xRowBytes;
    let i0l = i32x4.splat(0), i0h = i32x4.splat(0), i1l = i32x4.splat(0), i1h = i32x4.splat(0);
    let i2l = i32x4.splat(0), i2h = i32x4.splat(0), i3l = i32x4.splat(0), i3h = i32x4.splat(0);
    for (let half = 0; half < 2; half++) {
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
      const ph = pb + <usize>half * 8 * PAIR8;
      for (let p = ph, pe = ph + 8 * PAIR8; p < pe; p += PAIR8) {
        const wv = v128.load(p);
        a0 = dotU(a0, wv, x0);
        if (nt > 1) a1 = dotU(a1, wv, x1);
        if (nt > 2) a2 = dotU(a2, wv, x2);
        if (nt > 3) a3 = dotU(a3, wv, x3);
        x0 += 2; x1 += 2; x2 += 2; x3 += 2;
      }
      i0l = widenAdd(i0l, a0, false); i0h = widenAdd(i0h, a0, true);
      if (nt > 1) { i1l = widenAdd(i1l, a1, false); i1h = widenAdd(i1h, a1, true); }
      if (nt > 2) { i2l = widenAdd(i2l, a2, false); i2h = widenAdd(i2h, a2, true); }
      if (nt > 3) { i3l = widenAdd(i3l, a3, false); i3h = widenAdd(i3h, a3, true); }
    }
    const sl = v128.load(pb, 16 * PAIR8), sh = v128.load(pb, 16 * PAIR8 + 16);
    const xb = xs + (<usize>b << 2), zb = xsum + (<usize>b << 2);
    c0l = scaleAddU(c0l, i0l, sl, xb, zb); c0h = scaleAddU(c0h, i0h, sh, xb, zb);
    if (nt > 1) { c1l = scaleAddU(c1l, i1l, sl, xb + xsRowBytes, zb + xsRowBytes); c1h = scaleAddU(c1h, i1h, sh, xb + xsRowBytes, zb + xsRowBytes); }
    if (nt > 2) { c2l = scaleAddU(c2l, i2l, sl, xb + 2 * xsRowBytes, zb + 2 * xsRowBytes); c2h = scaleAddU(c2h, i2h, sh, xb + 2 * xsRowBytes, zb + 2 * xsRowBytes); }
    if (nt > 3) { c3l = scaleAddU(c3l, i3l, sl, xb + 3 * xsRowBytes, zb + 3 * xsRowBytes); c3h = scaleAddU(c3h, i3h, sh, xb + 3 * xsRowBytes, zb + 3 * xsRowBytes); }
  }
  store8(o, rb, c0l, c0h, r0, r1);
  if (nt > 1) store8(o + outRowBytes, rb, c1l, c1h, r0, r1);
  if (nt > 2) store8(o + 2 * outRowBytes, rb, c2l, c2h, r0, r1);
  if (nt > 3) store8(o + 3 * outRowBytes, rb, c3l, c3h, r0, r1);
}

/** Whether q4 runs on the relaxed i8 dot (unsigned nibbles) rather than widened to i16. */
// @ts-ignore: decorator
@inline function relaxedQ4(kind: i32): bool { return ASC_FEATURE_RELAXED_SIMD && kind == Q4; }

/** nt tokens from t against the widened panel at s. */
// @ts-ignore: decorator
@inline function tile(out: usize, xq: usize, s: usize, t: i32, T: i32, nb: i32, d: i32, rb: i32, r0: i32, r1: i32, nt: i32, kind: i32): void {
  const xRowBytes = <usize>nb * (kind == Q8 ? 64 : 32), xsRowBytes = <usize>nb << 2, outRowBytes = <usize>d << 2;
  const xs = xq + <usize>T * xRowBytes + <usize>t * xsRowBytes, o = out + <usize>t * outRowBytes, x = xq + <usize>t * xRowBytes;
  if (relaxedQ4(kind)) {
    tileU8(o, outRowBytes, x, xRowBytes, xs, xs + <usize>T * xsRowBytes, xsRowBytes, s, nb, rb, r0, r1, nt);
  } else {
    tileI16(o, outRowBytes, x, xRowBytes, xs, xsRowBytes, s, nb, rb, r0, r1, nt, kind == Q4, kind == Q8);
  }
}

/**
 * out[t, r] = W[r,:] · x[t,:] for t < T, rows r in [r0, r1); xq as matmul_q8/_q4 take it. Panels are the
 * outer loop: each is read from memory and widened once, then reused from L1 by every token.
 */
// @ts-ignore: decorator
@inline function gemm(out: usize, xq: usize, w: usize, s: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32, kind: i32): void {
  const nb = blocks(n), rowBytes = <usize>nb * (kind == Q8 ? 32 : 16), scales = w + <usize>d * rowBytes, sb = <usize>nb << 2;
  let touched: i32 = 0;
  for (let p = r0 >> 3; p < (r1 + 7) >> 3; p++) {
    const rb = p << 3, next = min(rb + 8, r1), ahead = min(rb + 16, r1) - next;
    // The next panel's rows and scales, fetched while this one is widened and used: the widening's 4-row
    // interleaved reads left the stream to demand misses. With the weights from memory (96 MB of SmolLM2
    // gate/up shapes cycled, 1 thread) it ran 1.1-1.7× faster at 1-32 tokens; touching two panels ahead,
    // no faster. (The GEMVs read rows in order, which the hardware prefetcher follows: touching ahead there ran slower.)
    if (ahead > 0) touched ^= touch(w + <usize>next * rowBytes, <usize>ahead * rowBytes) ^ touch(scales + <usize>next * sb, <usize>ahead * sb);
    if (kind == Q8 || relaxedQ4(kind)) widen8(s, w, nb, d, rb, r0, r1, kind);
    else widenI16(s, w, nb, d, rb, r0, r1);
    let t = 0;
    for (; t + NT <= T; t += NT) tile(out, xq, s, t, T, nb, d, rb, r0, r1, NT, kind);
    for (; t < T; t++) tile(out, xq, s, t, T, nb, d, rb, r0, r1, 1, kind);
  }
  sink ^= touched;
}

/** out (T, d) = x @ Wᵀ for a q8 W; xq = quantize_act_q16(x, T, n); s: scratch of ceil(n / 32)·544 bytes; rows [r0, r1). */
export function qgemm_q8(out: usize, xq: usize, w: usize, s: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  gemm(out, xq, w, s, T, n, d, r0, r1, Q8);
}

/** out (T, d) = x @ Wᵀ for a q4 W; xq = quantize_act_q8(x, T, n); s: scratch of ceil(n / 32)·544 bytes; rows [r0, r1). */
export function qgemm_q4(out: usize, xq: usize, w: usize, s: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  gemm(out, xq, w, s, T, n, d, r0, r1, Q4);
}

// Matrix products out = x @ Wᵀ against float weights packed once at load into panels of 8 rows
// (XNNPACK's packed GEMM weights): panel p holds rows 8p..8p+7 and, for each column k, their 8 values
// side by side. f32, bf16 and f16 weights; 16-bit ones stay 16-bit, widened in registers (f16 prefill: each
// panel once into scratch, gemm_f16p8).
import { madd } from "./simd";
import { f16_to_f32, f16hi_to_f32x4 } from "./f16";

const F32: i32 = 0, BF16: i32 = 1, F16: i32 = 2;

// A 16-bit panel column stores rows in the order 0,4,1,5,2,6,3,7, so each i32 lane holds rows (i, i+4):
// shifting the lane up widens rows 0-3 and masking it widens rows 4-7, with no shuffles.
// @ts-ignore: decorator
@inline function colBytes(kind: i32): usize { return kind == F32 ? 32 : 16; }

/** Rows 0-3 of the panel column at p, as f32x4. */
// @ts-ignore: decorator
@inline function wlo(p: usize, kind: i32): v128 {
  if (kind == F32) return v128.load(p);
  if (kind == BF16) return i32x4.shl(v128.load(p), 16);
  return f16hi_to_f32x4(i32x4.shl(v128.load(p), 16));
}

/** Rows 4-7 of the panel column at p, as f32x4. */
// @ts-ignore: decorator
@inline function whi(p: usize, kind: i32): v128 {
  if (kind == F32) return v128.load(p, 16);
  if (kind == BF16) return v128.and(v128.load(p), i32x4.splat(0xffff0000));
  return f16hi_to_f32x4(v128.load(p));
}

/** Store the panel's 8 results (rows rb..rb+7) into the out row o, only for rows in [r0, r1). */
// @ts-ignore: decorator
@inline export function store8(o: usize, rb: i32, lo: v128, hi: v128, r0: i32, r1: i32): void {
  const p = o + (<usize>rb << 2);
  if (rb >= r0 && rb + 8 <= r1) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
    return;
  }
  if (rb + 0 >= r0 && rb + 0 < r1) store<f32>(p, f32x4.extract_lane(lo, 0), 0);
  if (rb + 1 >= r0 && rb + 1 < r1) store<f32>(p, f32x4.extract_lane(lo, 1), 4);
  if (rb + 2 >= r0 && rb + 2 < r1) store<f32>(p, f32x4.extract_lane(lo, 2), 8);
  if (rb + 3 >= r0 && rb + 3 < r1) store<f32>(p, f32x4.extract_lane(lo, 3), 12);
  if (rb + 4 >= r0 && rb + 4 < r1) store<f32>(p, f32x4.extract_lane(hi, 0), 16);
  if (rb + 5 >= r0 && rb + 5 < r1) store<f32>(p, f32x4.extract_lane(hi, 1), 20);
  if (rb + 6 >= r0 && rb + 6 < r1) store<f32>(p, f32x4.extract_lane(hi, 2), 24);
  if (rb + 7 >= r0 && rb + 7 < r1) store<f32>(p, f32x4.extract_lane(hi, 3), 28);
}

/**
 * One token against one panel (decode GEMV), weights streamed once: 4 columns per step, x loaded as one
 * vector and its lanes broadcast in registers, 4 accumulators.
 */
// @ts-ignore: decorator
@inline function gemv1x8(o: usize, x: usize, wp: usize, n: i32, rb: i32, r0: i32, r1: i32, kind: i32): void {
  const cs = colBytes(kind);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const p = wp + <usize>k * cs, xv = v128.load(x + (<usize>k << 2));
    let xk = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
    a0 = madd(wlo(p, kind), xk, a0); b0 = madd(whi(p, kind), xk, b0);
    xk = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
    a1 = madd(wlo(p + cs, kind), xk, a1); b1 = madd(whi(p + cs, kind), xk, b1);
    xk = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
    a0 = madd(wlo(p + 2 * cs, kind), xk, a0); b0 = madd(whi(p + 2 * cs, kind), xk, b0);
    xk = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
    a1 = madd(wlo(p + 3 * cs, kind), xk, a1); b1 = madd(whi(p + 3 * cs, kind), xk, b1);
  }
  for (; k < n; k++) {
    const p = wp + <usize>k * cs, xk = v128.load32_splat(x + (<usize>k << 2));
    a0 = madd(wlo(p, kind), xk, a0); b0 = madd(whi(p, kind), xk, b0);
  }
  store8(o, rb, f32x4.add(a0, a1), f32x4.add(b0, b1), r0, r1);
}

/**
 * Four tokens against one panel: the 4×8 register tile, 8 f32x4 accumulators, one weight load per 4
 * tokens. Pointers step through the panel and the 4 token rows: V8 does not hoist the address math of
 * indexed loads (base + k·colBytes, x + k·4 per row), and stepping ran 1.05-1.18× faster (f32, T 128-512,
 * SmolLM2 and MiniLM shapes, one thread, both modules); 5×8 and 6×8 tiles ran at 0.46-0.79× (spills).
 */
// @ts-ignore: decorator
@inline function gemm4x8(o: usize, outRowBytes: usize, x: usize, xRowBytes: usize, wp: usize, n: i32,
                         rb: i32, r0: i32, r1: i32, kind: i32): void {
  const cs = colBytes(kind);
  let x0 = x, x1 = x + xRowBytes, x2 = x1 + xRowBytes, x3 = x2 + xRowBytes;
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0), c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0), c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  for (let p = wp, pe = wp + <usize>n * cs; p < pe; p += cs) {
    const wl = wlo(p, kind), wh = whi(p, kind);
    let s = v128.load32_splat(x0);
    c0l = madd(wl, s, c0l); c0h = madd(wh, s, c0h);
    s = v128.load32_splat(x1);
    c1l = madd(wl, s, c1l); c1h = madd(wh, s, c1h);
    s = v128.load32_splat(x2);
    c2l = madd(wl, s, c2l); c2h = madd(wh, s, c2h);
    s = v128.load32_splat(x3);
    c3l = madd(wl, s, c3l); c3h = madd(wh, s, c3h);
    x0 += 4; x1 += 4; x2 += 4; x3 += 4;
  }
  store8(o, rb, c0l, c0h, r0, r1);
  store8(o + outRowBytes, rb, c1l, c1h, r0, r1);
  store8(o + 2 * outRowBytes, rb, c2l, c2h, r0, r1);
  store8(o + 3 * outRowBytes, rb, c3l, c3h, r0, r1);
}

/** Tokens 0..T-1 against the panel at wp (rows rb..rb+7): 4×8 tiles, then one token at a time. */
// @ts-ignore: decorator
@inline function panelTokens(out: usize, x: usize, wp: usize, T: i32, n: i32, d: i32, rb: i32, r0: i32, r1: i32, kind: i32): void {
  const xRowBytes = <usize>n << 2, outRowBytes = <usize>d << 2;
  let t = 0;
  // f16 runs no tile: prefill widens its panels first (gemm_f16p8), so its 4×8 tile would be dead code.
  if (kind != F16) {
    for (; t + 4 <= T; t += 4) {
      gemm4x8(out + <usize>t * outRowBytes, outRowBytes, x + <usize>t * xRowBytes, xRowBytes, wp, n, rb, r0, r1, kind);
    }
  }
  for (; t < T; t++) gemv1x8(out + <usize>t * outRowBytes, x + <usize>t * xRowBytes, wp, n, rb, r0, r1, kind);
}

/**
 * out[t, r] = W[r,:] · x[t,:] for t < T and rows r in [r0, r1). x (T, n), out (T, d), W packed (d, n).
 * Panels are the outer loop, so each panel is read from memory once and reused from cache by every token.
 */
// @ts-ignore: decorator
@inline function matmulPanels(out: usize, x: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32, kind: i32): void {
  if (r0 >= r1) return;
  const panelBytes = <usize>n * colBytes(kind);
  for (let p = r0 >> 3; p < (r1 + 7) >> 3; p++) panelTokens(out, x, w + <usize>p * panelBytes, T, n, d, p << 3, r0, r1, kind);
}

/** out (T, d) = x (T, n) @ Wᵀ, W f32 packed by pack_f32p8; rows [r0, r1) only. */
export function matmul_f32p8(out: usize, x: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  matmulPanels(out, x, w, T, n, d, r0, r1, F32);
}

/** out (T, d) = x (T, n) @ Wᵀ, W bf16 packed by pack_u16p8; rows [r0, r1) only. */
export function matmul_bf16p8(out: usize, x: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  matmulPanels(out, x, w, T, n, d, r0, r1, BF16);
}

/** out (T, d) = x (T, n) @ Wᵀ, W f16 packed by pack_u16p8; rows [r0, r1) only. One token at a time: decode. */
export function matmul_f16p8(out: usize, x: usize, w: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  matmulPanels(out, x, w, T, n, d, r0, r1, F16);
}

/**
 * matmul_f16p8 for prefill: each panel is widened once into s (n·32 bytes of per-thread scratch) as an
 * f32 panel, and every token runs f32's 4×8 tile against it from cache. Widening in registers instead
 * costs 7 ops per 8 weights (shifts, mask, rebias multiply: f16.ts) against bf16's 2; it ran at 0.57×
 * f32, and its 4×8 tile spilled (hence a 4×4 one). Widened once, f16 prefill runs at f32's speed.
 */
export function gemm_f16p8(out: usize, x: usize, w: usize, s: usize, T: i32, n: i32, d: i32, r0: i32, r1: i32): void {
  if (r0 >= r1) return;
  const panelBytes = <usize>n << 4;
  for (let p = r0 >> 3; p < (r1 + 7) >> 3; p++) {
    const wp = w + <usize>p * panelBytes;
    for (let k = 0; k < n; k++) {
      const c = wp + (<usize>k << 4), o = s + (<usize>k << 5);
      v128.store(o, wlo(c, F16));
      v128.store(o, whi(c, F16), 16);
    }
    panelTokens(out, x, s, T, n, d, p << 3, r0, r1, F32);
  }
}

/** 4×4 transpose of rows a..d (4 columns each) stored as columns at o, o + 32, o + 64, o + 96. */
// @ts-ignore: decorator
@inline export function transpose4(o: usize, a: v128, b: v128, c: v128, d: v128): void {
  const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7), cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(o, i64x2.shuffle(ab0, cd0, 0, 2));
  v128.store(o, i64x2.shuffle(ab0, cd0, 1, 3), 32);
  v128.store(o, i64x2.shuffle(ab1, cd1, 0, 2), 64);
  v128.store(o, i64x2.shuffle(ab1, cd1, 1, 3), 96);
}

/** A whole panel: 8 rows at s (rowBytes apart) → dst, 4 columns at a time by two 4×4 transposes. */
// @ts-ignore: decorator
@inline function packPanelF32(dst: usize, s: usize, rowBytes: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const c = s + (<usize>k << 2), o = dst + (<usize>k << 5);
    transpose4(o, v128.load(c), v128.load(c + rowBytes), v128.load(c + 2 * rowBytes), v128.load(c + 3 * rowBytes));
    const c4 = c + 4 * rowBytes;
    transpose4(o + 16, v128.load(c4), v128.load(c4 + rowBytes), v128.load(c4 + 2 * rowBytes), v128.load(c4 + 3 * rowBytes));
  }
  for (; k < n; k++) {
    for (let l = 0; l < 8; l++) store<f32>(dst + (<usize>k << 5) + (<usize>l << 2), load<f32>(s + <usize>l * rowBytes + (<usize>k << 2)));
  }
}

/**
 * Pack rows [r0, r1) of a row-major f32 (d, n) matrix, given at src (row r0 first), into w's panels,
 * panel by panel and column by column so the writes are sequential. The call that packs the last row
 * also zeroes the last panel's padding rows d .. 8·ceil(d/8).
 */
export function pack_f32p8(w: usize, src: usize, n: i32, d: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 2, panelBytes = <usize>n << 5;
  const pEnd = r1 == d ? (d + 7) >> 3 : (r1 + 7) >> 3;
  for (let p = r0 >> 3; p < pEnd; p++) {
    const dst = w + <usize>p * panelBytes;
    if ((p << 3) >= r0 && (p << 3) + 8 <= r1) {
      packPanelF32(dst, src + <usize>((p << 3) - r0) * rowBytes, rowBytes, n);
      continue;
    }
    for (let k = 0; k < n; k++) {
      const col = src + (<usize>k << 2), o = dst + (<usize>k << 5);
      for (let l = 0; l < 8; l++) {
        const r = (p << 3) + l;
        if (r >= r0 && r < r1) store<f32>(o + (<usize>l << 2), load<f32>(col + <usize>(r - r0) * rowBytes));
        else if (r >= d) store<f32>(o + (<usize>l << 2), 0);
      }
    }
  }
}

/** Where row r's 16-bit value sits within a panel column (order 0,4,1,5,2,6,3,7). */
// @ts-ignore: decorator
@inline function lane16(r: i32): usize { return <usize>(((r & 3) << 1) | ((r >> 2) & 1)) << 1; }

/** pack_f32p8 for 16-bit (bf16 or f16) rows: the bits are moved, never converted. */
export function pack_u16p8(w: usize, src: usize, n: i32, d: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>n << 1, panelBytes = <usize>n << 4;
  const pEnd = r1 == d ? (d + 7) >> 3 : (r1 + 7) >> 3;
  for (let p = r0 >> 3; p < pEnd; p++) {
    const dst = w + <usize>p * panelBytes;
    if ((p << 3) >= r0 && (p << 3) + 8 <= r1) {
      const s0 = src + <usize>((p << 3) - r0) * rowBytes;
      for (let k = 0; k < n; k++) {
        const c = s0 + (<usize>k << 1), o = dst + (<usize>k << 4);
        store<u32>(o, <u32>load<u16>(c) | (<u32>load<u16>(c + 4 * rowBytes) << 16));
        store<u32>(o + 4, <u32>load<u16>(c + rowBytes) | (<u32>load<u16>(c + 5 * rowBytes) << 16));
        store<u32>(o + 8, <u32>load<u16>(c + 2 * rowBytes) | (<u32>load<u16>(c + 6 * rowBytes) << 16));
        store<u32>(o + 12, <u32>load<u16>(c + 3 * rowBytes) | (<u32>load<u16>(c + 7 * rowBytes) << 16));
      }
      continue;
    }
    for (let k = 0; k < n; k++) {
      const col = src + (<usize>k << 1), o = dst + (<usize>k << 4);
      for (let l = 0; l < 8; l++) {
        const r = (p << 3) + l;
        if (r >= r0 && r < r1) store<u16>(o + lane16(l), load<u16>(col + <usize>(r - r0) * rowBytes));
        else if (r >= d) store<u16>(o + lane16(l), 0);
      }
    }
  }
}

/** out (dim,) = row id of a packed f32 table (vocab, dim): the lookup for embeddings tied to the classifier. */
export function embed_f32p8(out: usize, w: usize, id: i32, dim: i32): void {
  const src = w + <usize>(id >> 3) * (<usize>dim << 5) + (<usize>(id & 7) << 2);
  for (let k = 0; k < dim; k++) store<f32>(out + (<usize>k << 2), load<f32>(src + (<usize>k << 5)));
}

/** embed_f32p8 for a packed bf16 table. */
export function embed_bf16p8(out: usize, w: usize, id: i32, dim: i32): void {
  const src = w + <usize>(id >> 3) * (<usize>dim << 4) + lane16(id & 7);
  for (let k = 0; k < dim; k++) store<u32>(out + (<usize>k << 2), <u32>load<u16>(src + (<usize>k << 4)) << 16);
}

/** embed_f32p8 for a packed f16 table. */
export function embed_f16p8(out: usize, w: usize, id: i32, dim: i32): void {
  const src = w + <usize>(id >> 3) * (<usize>dim << 4) + lane16(id & 7);
  for (let k = 0; k < dim; k++) store<f32>(out + (<usize>k << 2), f16_to_f32(load<u16>(src + (<usize>k << 4))));
}

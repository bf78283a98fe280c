// Causal self-attention with grouped-query heads over one layer's KV cache (f32 or f16), computed
// flash-style: scores for a block of cache rows at a time with a running max and sum (online
// softmax), so no score row or T×T matrix is ever materialised. Optional sliding window, logit
// softcap and ring-buffer cache (Gemma, Mistral). Also the f16 cache writer.
import { madd, hsum } from "./simd";
import { f16_to_f32, f16x4_to_f32x4 } from "./f16";
import { softcap_f32x4 } from "./act";
import { exp_f32x4 } from "./vexp";

const F32: i32 = 0, F16: i32 = 1;
/** Cache rows scored per block: the att scratch holds this many floats. */
const BLOCK: i32 = 32;

/** 4 cache values at p as f32x4. */
// @ts-ignore: decorator
@inline function kv4(p: usize, kind: i32): v128 {
  if (kind == F32) return v128.load(p);
  return f16x4_to_f32x4(v128.load16x4_s(p));
}

// @ts-ignore: decorator
@inline function kv1(p: usize, kind: i32): f32 {
  if (kind == F32) return load<f32>(p);
  return f16_to_f32(load<u16>(p));
}

/** q (n f32) · one cache row (n values of kind); 4 accumulators, so the multiply-adds do not wait on each other. */
// @ts-ignore: decorator
@inline function dotKv(q: usize, k: usize, n: i32, kind: i32): f32 {
  const sh: usize = kind == F32 ? 2 : 1;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const qj = q + (<usize>j << 2), kj = k + (<usize>j << sh);
    a0 = madd(v128.load(qj), kv4(kj, kind), a0);
    a1 = madd(v128.load(qj, 16), kv4(kj + (<usize>4 << sh), kind), a1);
    a2 = madd(v128.load(qj, 32), kv4(kj + (<usize>8 << sh), kind), a2);
    a3 = madd(v128.load(qj, 48), kv4(kj + (<usize>12 << sh), kind), a3);
  }
  for (; j + 4 <= n; j += 4) a0 = madd(v128.load(q + (<usize>j << 2)), kv4(k + (<usize>j << sh), kind), a0);
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; j < n; j++) s += load<f32>(q + (<usize>j << 2)) * kv1(k + (<usize>j << sh), kind);
  return s;
}

/**
 * q (n f32) · 4 consecutive cache rows (stride bytes apart), as 4 lanes: one accumulator per row, summed
 * across by a 4×4 transpose-add, not a horizontal sum per row (which cost as much as the row's dot).
 */
// @ts-ignore: decorator
@inline function dot4Kv(q: usize, k: usize, stride: usize, n: i32, kind: i32): v128 {
  const sh: usize = kind == F32 ? 2 : 1;
  const k1 = k + stride, k2 = k1 + stride, k3 = k2 + stride;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const qv = v128.load(q + (<usize>j << 2)), o = <usize>j << sh;
    a0 = madd(qv, kv4(k + o, kind), a0); a1 = madd(qv, kv4(k1 + o, kind), a1);
    a2 = madd(qv, kv4(k2 + o, kind), a2); a3 = madd(qv, kv4(k3 + o, kind), a3);
  }
  const x = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 2, 6), i32x4.shuffle(a0, a1, 1, 5, 3, 7));
  const y = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 2, 6), i32x4.shuffle(a2, a3, 1, 5, 3, 7));
  let r = f32x4.add(i32x4.shuffle(x, y, 0, 1, 4, 5), i32x4.shuffle(x, y, 2, 3, 6, 7));
  for (; j < n; j++) {
    const qj = f32x4.splat(load<f32>(q + (<usize>j << 2))), o = <usize>j << sh;
    r = madd(qj, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(kv1(k + o, kind)), 1, kv1(k1 + o, kind)), 2, kv1(k2 + o, kind)), 3, kv1(k3 + o, kind)), r);
  }
  return r;
}

/**
 * o (n,) = o·c + Σ_i p[i]·v_i for i < len, v_i at v + i·stride; o is not read on the first block. 16 columns
 * at a time: 4 independent sums over the rows (one sum's multiply-adds each wait on the last).
 */
// @ts-ignore: decorator
@inline function accumulate(o: usize, first: bool, c: f32, p: usize, v: usize, stride: usize, n: i32, len: i32, kind: i32): void {
  const sh: usize = kind == F32 ? 2 : 1;
  const cv = f32x4.splat(c);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const oj = o + (<usize>j << 2), vj = v + (<usize>j << sh);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    if (!first) {
      a0 = f32x4.mul(v128.load(oj), cv); a1 = f32x4.mul(v128.load(oj, 16), cv);
      a2 = f32x4.mul(v128.load(oj, 32), cv); a3 = f32x4.mul(v128.load(oj, 48), cv);
    }
    for (let i = 0; i < len; i++) {
      const pi = v128.load32_splat(p + (<usize>i << 2)), vi = vj + <usize>i * stride;
      a0 = madd(pi, kv4(vi, kind), a0);
      a1 = madd(pi, kv4(vi + (<usize>4 << sh), kind), a1);
      a2 = madd(pi, kv4(vi + (<usize>8 << sh), kind), a2);
      a3 = madd(pi, kv4(vi + (<usize>12 << sh), kind), a3);
    }
    v128.store(oj, a0); v128.store(oj, a1, 16); v128.store(oj, a2, 32); v128.store(oj, a3, 48);
  }
  for (; j + 4 <= n; j += 4) {
    let acc = first ? f32x4.splat(0) : f32x4.mul(v128.load(o + (<usize>j << 2)), cv);
    for (let i = 0; i < len; i++) {
      acc = madd(v128.load32_splat(p + (<usize>i << 2)), kv4(v + <usize>i * stride + (<usize>j << sh), kind), acc);
    }
    v128.store(o + (<usize>j << 2), acc);
  }
  for (; j < n; j++) {
    let s: f32 = first ? 0 : load<f32>(o + (<usize>j << 2)) * c;
    for (let i = 0; i < len; i++) s += load<f32>(p + (<usize>i << 2)) * kv1(v + <usize>i * stride + (<usize>j << sh), kind);
    store<f32>(o + (<usize>j << 2), s);
  }
}

/**
 * One query head over the len keys from the one at cache row row0 on, which wrap from row ringRows − 1 to
 * row 0: out = softmax(cap(q·Kᵀ·scale))·V, a block of rows at a time. A block never crosses the ring's end,
 * so its rows are consecutive (in the plain layout ringRows ≥ row0 + len and no block is cut).
 */
// @ts-ignore: decorator
@inline function attendHead(o: usize, qh: usize, k: usize, v: usize, stride: usize, att: usize, headDim: i32,
                            row0: i32, len: i32, ringRows: i32, scale: f32, softcap: f32, kind: i32): void {
  let m = -Infinity as f32, l: f32 = 0;
  let row = row0;
  for (let done = 0; done < len;) {
    const nb = min(BLOCK, min(len - done, ringRows - row));
    const kb = k + <usize>row * stride;
    const sv = f32x4.splat(scale);
    let bmv = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= nb; i += 4) {
      const s4 = f32x4.mul(dot4Kv(qh, kb + <usize>i * stride, stride, headDim, kind), sv);
      v128.store(att + (<usize>i << 2), s4);
      bmv = f32x4.max(bmv, s4);
    }
    let bm = Mathf.max(Mathf.max(f32x4.extract_lane(bmv, 0), f32x4.extract_lane(bmv, 1)),
                       Mathf.max(f32x4.extract_lane(bmv, 2), f32x4.extract_lane(bmv, 3)));
    for (; i < nb; i++) {
      const s = dotKv(qh, kb + <usize>i * stride, headDim, kind) * scale;
      store<f32>(att + (<usize>i << 2), s);
      bm = Mathf.max(bm, s);
    }
    if (softcap != 0) bm = capScores(att, nb, softcap);
    // A new running max rescales what was summed so far by e^(m_old − m_new); the first block has nothing.
    const mNew = Mathf.max(m, bm);
    const c: f32 = done == 0 ? 0 : Mathf.exp(m - mNew);
    m = mNew;
    // e^(s − m) four scores at a time (the scalar exp per cache row was most of a long prefill's attention).
    const mv = f32x4.splat(m);
    let ev = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= nb; i += 4) {
      const e = exp_f32x4(f32x4.sub(v128.load(att + (<usize>i << 2)), mv));
      v128.store(att + (<usize>i << 2), e);
      ev = f32x4.add(ev, e);
    }
    let bl = hsum(ev);
    for (; i < nb; i++) {
      const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(att + (<usize>i << 2)) - m)), 0);
      store<f32>(att + (<usize>i << 2), e);
      bl += e;
    }
    l = l * c + bl;
    accumulate(o, done == 0, c, att, v + <usize>row * stride, stride, headDim, nb, kind);
    done += nb;
    row += nb;
    if (row == ringRows) row = 0;
  }
  const inv = f32x4.splat(1 / l);
  let j = 0;
  for (; j + 4 <= headDim; j += 4) v128.store(o + (<usize>j << 2), f32x4.mul(v128.load(o + (<usize>j << 2)), inv));
  for (; j < headDim; j++) store<f32>(o + (<usize>j << 2), load<f32>(o + (<usize>j << 2)) / l);
}

/** In place: s = tanh(s / cap)·cap for the n scores at att (Gemma 2's attn_logit_softcapping); returns their max. */
// @ts-ignore: decorator
@inline function capScores(att: usize, n: i32, cap: f32): f32 {
  const c = f32x4.splat(cap);
  let vmax = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const s = softcap_f32x4(v128.load(att + (<usize>i << 2)), c);
    v128.store(att + (<usize>i << 2), s);
    vmax = f32x4.max(vmax, s);
  }
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
                      Mathf.max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; i < n; i++) {
    const s = f32x4.extract_lane(softcap_f32x4(v128.load32_splat(att + (<usize>i << 2)), c), 0);
    store<f32>(att + (<usize>i << 2), s);
    max = Mathf.max(max, s);
  }
  return max;
}

// @ts-ignore: decorator
@inline function attention(out: usize, q: usize, kc: usize, vc: usize, att: usize, nHeads: i32, nKvHeads: i32,
                           headDim: i32, pos0: i32, T: i32, scale: f32, softcap: f32, window: i32, ringRows: i32,
                           h0: i32, h1: i32, kind: i32): void {
  const group = nHeads / nKvHeads;
  const sh: usize = kind == F32 ? 2 : 1;
  const stride = <usize>(nKvHeads * headDim) << sh;
  for (let t = 0; t < T; t++) {
    const p = pos0 + t, first = window > 0 ? max(0, p - window + 1) : 0;
    for (let h = h0; h < h1; h++) {
      const off = <usize>((t * nHeads + h) * headDim) << 2, kvOff = <usize>((h / group) * headDim) << sh;
      attendHead(out + off, q + off, kc + kvOff, vc + kvOff, stride, att, headDim, first % ringRows, p - first + 1,
        ringRows, scale, softcap, kind);
    }
  }
}

/**
 * For query rows t < T at absolute positions p = pos0 + t, and query heads h in [h0, h1):
 *   out[t, h] = softmax(cap(q[t,h] · K[j]ᵀ · scale)) · V[j] over positions j in [first, p],
 * first = 0, or max(0, p − window + 1) when window > 0 (a sliding window of the last `window` positions);
 * cap(s) = s, or tanh(s / softcap)·softcap when softcap > 0. Position j's key and value are cache row
 * j % ringRows: a ring of ringRows rows (≥ window + T − 1, so no row this call reads was overwritten by it),
 * or the plain layout when ringRows ≥ pos0 + T.
 * q, out (T, nHeads*headDim); kc, vc (ringRows, nKvHeads*headDim) f32; att: scratch of 32 floats.
 * Query head h reads KV head h / (nHeads / nKvHeads).
 */
export function attention_f32(out: usize, q: usize, kc: usize, vc: usize, att: usize,
                              nHeads: i32, nKvHeads: i32, headDim: i32, pos0: i32, T: i32,
                              scale: f32, softcap: f32, window: i32, ringRows: i32, h0: i32, h1: i32): void {
  attention(out, q, kc, vc, att, nHeads, nKvHeads, headDim, pos0, T, scale, softcap, window, ringRows, h0, h1, F32);
}

/** attention_f32 over an f16 cache (written by store_f16). */
export function attention_f16kv(out: usize, q: usize, kc: usize, vc: usize, att: usize,
                                nHeads: i32, nKvHeads: i32, headDim: i32, pos0: i32, T: i32,
                                scale: f32, softcap: f32, window: i32, ringRows: i32, h0: i32, h1: i32): void {
  attention(out, q, kc, vc, att, nHeads, nKvHeads, headDim, pos0, T, scale, softcap, window, ringRows, h0, h1, F16);
}

/**
 * out (n,) f16 = x (n,) f32, rounded to nearest even; overflow → ±inf, NaN stays NaN
 * (Fabian Giesen's float_to_half_fast3_rtne).
 */
export function store_f16(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let f = reinterpret<u32>(load<f32>(x + (<usize>i << 2)));
    const sign = f & 0x80000000;
    f ^= sign;
    let o: u32;
    if (f >= 0x47800000) {
      o = f > 0x7f800000 ? 0x7e00 : 0x7c00;
    } else if (f < 0x38800000) {
      // Subnormal or zero: adding 0.5 lets the FPU round the mantissa into place.
      o = reinterpret<u32>(reinterpret<f32>(f) + reinterpret<f32>(0x3f000000)) - 0x3f000000;
    } else {
      const odd = (f >> 13) & 1;
      o = (f + 0xc8000fff + odd) >> 13;
    }
    store<u16>(out + (<usize>i << 1), <u16>(o | (sign >> 16)));
  }
}

/** out (n,) = x (n,): the f32 cache writer. */
export function copy_f32(out: usize, x: usize, n: i32): void {
  memory.copy(out, x, <usize>n << 2);
}

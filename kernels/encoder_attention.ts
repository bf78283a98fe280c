// Self-attention for encoders over a packed batch: sequences lie back to back in the rows of q, k, v, and
// each row attends to the rows of its own sequence in a band around it (all of them by default; causal and
// sliding-window masks for decoders used as embedders) and to no other.
// The row offsets are the attention mask in compact form: padding is never stored, so it cannot leak.
import { madd } from "./simd";
import { exp_f32x4 } from "./vexp";

/**
 * For sequences s < nSeq occupying rows [offs[s], offs[s+1]), query rows in them and heads h in [h0, h1):
 *   out[i, h] = softmax(q[i,h] · K[j, kh]ᵀ · scale) · V[j, kh] over the rows j of i's sequence with
 *   i − left ≤ j ≤ i + right (a negative left or right: no limit on that side; right = 0 is causal), where
 *   kh = h / (nHeads / nKvHeads) is the key/value head that query head h shares (grouped-query attention).
 * q, out (N, nHeads*headDim) and k, v (N, nKvHeads*headDim) with N = offs[nSeq]; offs (nSeq + 1,) i32,
 * non-decreasing, offs[0] = 0;
 * att: scratch of at least L·(headDim + QT) floats, L the longest sequence: QT rows of scores, then
 * the sequence's keys for one head transposed, (headDim, len), so scores come four keys per lane op.
 * Without a band, QT queries go together: each pass over a head's keys and values (twice L1 at 256 rows)
 * serves QT rows, not one (the real MiniLM's attention ran at 12 GFLOP/s a thread, bound by L2).
 */
export function encoder_attention_f32(out: usize, q: usize, k: usize, v: usize, att: usize, offs: usize,
                                      nSeq: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, left: i32,
                                      right: i32, h0: i32, h1: i32): void {
  const rowBytes = <usize>(nHeads * headDim) << 2, kvRowBytes = <usize>(nKvHeads * headDim) << 2;
  const group = nHeads / nKvHeads;
  for (let s = 0; s < nSeq; s++) {
    const r0 = load<i32>(offs + (<usize>s << 2)), len = load<i32>(offs + (<usize>(s + 1) << 2)) - r0;
    const ks = k + <usize>r0 * kvRowBytes, vs = v + <usize>r0 * kvRowBytes;
    const kt = att + (<usize>(QT * len) << 2), ktRow = <usize>len << 2;
    let transposed = -1; // the kv head whose keys kt holds: query heads of one group share them
    for (let h = h0; h < h1; h++) {
      const kh = h / group, ho = <usize>(h * headDim) << 2, kvo = <usize>(kh * headDim) << 2;
      if (kh != transposed) { transpose_head(kt, ks + kvo, kvRowBytes, headDim, len); transposed = kh; }
      let i = 0;
      if (left < 0 && right < 0) {
        for (; i + QT <= len; i += QT) {
          const t = <usize>(r0 + i) * rowBytes + ho;
          scores4(att, q + t, rowBytes, kt, ktRow, headDim, len, scale);
          for (let r = 0; r < QT; r++) softmax_f32x4(att + (<usize>(r * len) << 2), len);
          weighted_rows4(out + t, rowBytes, att, ktRow, vs + kvo, kvRowBytes, headDim, len);
        }
      }
      for (; i < len; i++) {
        const lo = left < 0 ? 0 : max(0, i - left), n = (right < 0 ? len : min(len, i + right + 1)) - lo;
        const t = <usize>(r0 + i) * rowBytes + ho;
        scores(att, q + t, kt + (<usize>lo << 2), ktRow, headDim, n, scale);
        softmax_f32x4(att, n);
        weighted_rows(out + t, att, vs + <usize>lo * kvRowBytes + kvo, kvRowBytes, headDim, n);
      }
    }
  }
}

/** Queries per pass over a head's keys and values when no band limits them. */
const QT: i32 = 4;

/**
 * scores for QT queries (rows qRowBytes apart from qh) against all len keys: score row r at att + r·ktRow.
 * 8 keys a pass: 8 accumulators (4 queries × 2 vectors), 2 key loads and 4 splats per multiply-add round.
 */
function scores4(att: usize, qh: usize, qRowBytes: usize, kt: usize, ktRow: usize, headDim: i32, len: i32, scale: f32): void {
  const vs = f32x4.splat(scale);
  const q1 = qh + qRowBytes, q2 = q1 + qRowBytes, q3 = q2 + qRowBytes;
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    let a0 = f32x4.splat(0), b0 = f32x4.splat(0), a1 = f32x4.splat(0), b1 = f32x4.splat(0);
    let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0);
    let kj = kt + (<usize>i << 2);
    for (let j = 0; j < headDim; j++, kj += ktRow) {
      const k0 = v128.load(kj), k1 = v128.load(kj, 16), jo = <usize>j << 2;
      let x = f32x4.splat(load<f32>(qh + jo)); a0 = madd(x, k0, a0); b0 = madd(x, k1, b0);
      x = f32x4.splat(load<f32>(q1 + jo)); a1 = madd(x, k0, a1); b1 = madd(x, k1, b1);
      x = f32x4.splat(load<f32>(q2 + jo)); a2 = madd(x, k0, a2); b2 = madd(x, k1, b2);
      x = f32x4.splat(load<f32>(q3 + jo)); a3 = madd(x, k0, a3); b3 = madd(x, k1, b3);
    }
    const o = att + (<usize>i << 2);
    v128.store(o, f32x4.mul(a0, vs)); v128.store(o, f32x4.mul(b0, vs), 16);
    v128.store(o + ktRow, f32x4.mul(a1, vs)); v128.store(o + ktRow, f32x4.mul(b1, vs), 16);
    v128.store(o + 2 * ktRow, f32x4.mul(a2, vs)); v128.store(o + 2 * ktRow, f32x4.mul(b2, vs), 16);
    v128.store(o + 3 * ktRow, f32x4.mul(a3, vs)); v128.store(o + 3 * ktRow, f32x4.mul(b3, vs), 16);
  }
  // The last len % 8 keys, one query at a time.
  if (i < len) for (let r = 0; r < QT; r++) scores(att + <usize>r * ktRow + (<usize>i << 2), qh + <usize>r * qRowBytes, kt + (<usize>i << 2), ktRow, headDim, len - i, scale);
}

/**
 * out rows r < QT (outRowBytes apart) = Σ_i a_r[i] · v_i, a_r at a + r·aRow: 8 columns a pass over the
 * keys, so each value row is loaded once for four queries.
 */
function weighted_rows4(out: usize, outRowBytes: usize, a: usize, aRow: usize, v: usize, stride: usize, n: i32, len: i32): void {
  const a1 = a + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    let c0 = f32x4.splat(0), d0 = f32x4.splat(0), c1 = f32x4.splat(0), d1 = f32x4.splat(0);
    let c2 = f32x4.splat(0), d2 = f32x4.splat(0), c3 = f32x4.splat(0), d3 = f32x4.splat(0);
    let vi = v + (<usize>j << 2);
    for (let i = 0; i < len; i++, vi += stride) {
      const v0 = v128.load(vi), v1 = v128.load(vi, 16), io = <usize>i << 2;
      let x = f32x4.splat(load<f32>(a + io)); c0 = madd(x, v0, c0); d0 = madd(x, v1, d0);
      x = f32x4.splat(load<f32>(a1 + io)); c1 = madd(x, v0, c1); d1 = madd(x, v1, d1);
      x = f32x4.splat(load<f32>(a2 + io)); c2 = madd(x, v0, c2); d2 = madd(x, v1, d2);
      x = f32x4.splat(load<f32>(a3 + io)); c3 = madd(x, v0, c3); d3 = madd(x, v1, d3);
    }
    const o = out + (<usize>j << 2);
    v128.store(o, c0); v128.store(o, d0, 16);
    v128.store(o + outRowBytes, c1); v128.store(o + outRowBytes, d1, 16);
    v128.store(o + 2 * outRowBytes, c2); v128.store(o + 2 * outRowBytes, d2, 16);
    v128.store(o + 3 * outRowBytes, c3); v128.store(o + 3 * outRowBytes, d3, 16);
  }
  // The last n % 8 columns, one query at a time.
  if (j < n) for (let r = 0; r < QT; r++) weighted_rows(out + <usize>r * outRowBytes + (<usize>j << 2), a + <usize>r * aRow, v + (<usize>j << 2), stride, n - j, len);
}

/** kt (headDim, len) = the headDim columns starting at k, over len rows of rowBytes each. */
function transpose_head(kt: usize, k: usize, rowBytes: usize, headDim: i32, len: i32): void {
  for (let i = 0; i < len; i++) {
    const kr = k + <usize>i * rowBytes;
    for (let j = 0; j < headDim; j++) store<f32>(kt + (<usize>(j * len + i) << 2), load<f32>(kr + (<usize>j << 2)));
  }
}

/** att[i] = (qh · key i) * scale for keys i < len, column i of kt (headDim rows of ktRow bytes): 16 keys per pass over qh. */
function scores(att: usize, qh: usize, kt: usize, ktRow: usize, headDim: i32, len: i32, scale: f32): void {
  const vs = f32x4.splat(scale);
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let kj = kt + (<usize>i << 2);
    for (let j = 0; j < headDim; j++, kj += ktRow) {
      const qj = f32x4.splat(load<f32>(qh + (<usize>j << 2)));
      a0 = madd(qj, v128.load(kj), a0);
      a1 = madd(qj, v128.load(kj, 16), a1);
      a2 = madd(qj, v128.load(kj, 32), a2);
      a3 = madd(qj, v128.load(kj, 48), a3);
    }
    const o = att + (<usize>i << 2);
    v128.store(o, f32x4.mul(a0, vs));
    v128.store(o, f32x4.mul(a1, vs), 16);
    v128.store(o, f32x4.mul(a2, vs), 32);
    v128.store(o, f32x4.mul(a3, vs), 48);
  }
  for (; i + 4 <= len; i += 4) {
    let a0 = f32x4.splat(0);
    let kj = kt + (<usize>i << 2);
    for (let j = 0; j < headDim; j++, kj += ktRow) a0 = madd(f32x4.splat(load<f32>(qh + (<usize>j << 2))), v128.load(kj), a0);
    v128.store(att + (<usize>i << 2), f32x4.mul(a0, vs));
  }
  for (; i < len; i++) {
    let a: f32 = 0;
    for (let j = 0; j < headDim; j++) a += load<f32>(qh + (<usize>j << 2)) * load<f32>(kt + <usize>j * ktRow + (<usize>i << 2));
    store<f32>(att + (<usize>i << 2), a * scale);
  }
}

/**
 * out (n,) = Σ_i a[i] · v_i, v_i at v + i·stride: 16 columns per pass over the keys, so each weight is
 * splat once per four multiply-adds (attention.ts's accumulate splats it for every four columns).
 */
function weighted_rows(out: usize, a: usize, v: usize, stride: usize, n: i32, len: i32): void {
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
    let vi = v + (<usize>j << 2);
    for (let i = 0; i < len; i++, vi += stride) {
      const ai = f32x4.splat(load<f32>(a + (<usize>i << 2)));
      c0 = madd(ai, v128.load(vi), c0);
      c1 = madd(ai, v128.load(vi, 16), c1);
      c2 = madd(ai, v128.load(vi, 32), c2);
      c3 = madd(ai, v128.load(vi, 48), c3);
    }
    const o = out + (<usize>j << 2);
    v128.store(o, c0); v128.store(o, c1, 16); v128.store(o, c2, 32); v128.store(o, c3, 48);
  }
  for (; j + 4 <= n; j += 4) {
    let c0 = f32x4.splat(0);
    let vi = v + (<usize>j << 2);
    for (let i = 0; i < len; i++, vi += stride) c0 = madd(f32x4.splat(load<f32>(a + (<usize>i << 2))), v128.load(vi), c0);
    v128.store(out + (<usize>j << 2), c0);
  }
  for (; j < n; j++) {
    let c: f32 = 0;
    for (let i = 0; i < len; i++) c += load<f32>(a + (<usize>i << 2)) * load<f32>(v + <usize>i * stride + (<usize>j << 2));
    store<f32>(out + (<usize>j << 2), c);
  }
}

/**
 * In place: x = softmax(x) over n elements, as act.ts's softmax_f32 but with e^x four lanes at a time
 * (vexp.ts): an encoder takes one exp per query, key and head, as many as its GELUs.
 */
function softmax_f32x4(x: usize, n: i32): void {
  let vmax = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) vmax = f32x4.max(vmax, v128.load(x + (<usize>i << 2)));
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
                      Mathf.max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; i < n; i++) max = Mathf.max(max, load<f32>(x + (<usize>i << 2)));
  const vm = f32x4.splat(max);
  let vsum = f32x4.splat(0);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const e = exp_f32x4(f32x4.sub(v128.load(x + (<usize>i << 2)), vm));
    v128.store(x + (<usize>i << 2), e);
    vsum = f32x4.add(vsum, e);
  }
  let sum = f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1) + f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3);
  for (; i < n; i++) {
    const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(x + (<usize>i << 2)) - max)), 0);
    store<f32>(x + (<usize>i << 2), e);
    sum += e;
  }
  const inv = f32x4.splat(1 / sum);
  i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), inv));
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) / sum);
}

// attention_f32 against a float64 causal GQA loop: query head h reads KV head floor(h / (nHeads / nKvHeads)),
// row t (position pos0 + t) attends to cache rows 0..pos0+t. Heads outside [h0, h1) must stay NaN.
import { test } from 'uvu';
import { assertClose, floats, harness, PLACEMENTS, rng, untouched, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// Outputs are convex combinations of values in [-1, 1]. Error sources: f32 scores (~sqrt(headDim) ulps),
// expf (1 ulp), an f32 sum of up to ~40 weights and the f32 weighted sum: the worst seen is ~1.5e-7. 2e-6
// keeps a margin above that; reading one row too many or too few, the wrong KV head or the wrong scale moves
// outputs by ~1e-2 or more.
const ATTN_TOL: Tol = { rtol: 2e-6, atol: 2e-6 };

interface Shape { nHeads: number; nKvHeads: number; headDim: number; pos0: number; T: number }

/** out (T, nHeads·headDim), NaN for heads outside [h0, h1). kc, vc (rows, nKvHeads·headDim). */
function refAttention(q: Float32Array, kc: Float32Array, vc: Float32Array, s: Shape, h0: number, h1: number) {
  const { nHeads, nKvHeads, headDim, pos0, T } = s;
  const kvDim = nKvHeads * headDim, group = nHeads / nKvHeads, scale = 1 / Math.sqrt(headDim);
  const out = untouched(T * nHeads * headDim);
  for (let t = 0; t < T; t++) {
    for (let hd = h0; hd < h1; hd++) {
      const qo = (t * nHeads + hd) * headDim, kvo = Math.floor(hd / group) * headDim;
      const len = pos0 + t + 1;
      const p = new Float64Array(len);
      for (let i = 0; i < len; i++) {
        for (let j = 0; j < headDim; j++) p[i] += q[qo + j] * kc[i * kvDim + kvo + j];
        p[i] *= scale;
      }
      const max = Math.max(...p);
      let sum = 0;
      for (let i = 0; i < len; i++) sum += (p[i] = Math.exp(p[i] - max));
      for (let j = 0; j < headDim; j++) {
        let acc = 0;
        for (let i = 0; i < len; i++) acc += (p[i] / sum) * vc[i * kvDim + kvo + j];
        out[qo + j] = acc;
      }
    }
  }
  return out;
}

function check(s: Shape, h0: number, h1: number, seed: number): void {
  const { nHeads, nKvHeads, headDim, pos0, T } = s;
  const rand = rng(seed);
  const kvDim = nKvHeads * headDim, filled = pos0 + T, rows = filled + 2;
  // q scaled up so scores spread (softmax far from uniform); cache rows past pos0+T-1 are unwritten (NaN).
  const qs = floats(rand, T * nHeads * headDim, -3, 3);
  const ks = floats(rand, rows * kvDim), vs = floats(rand, rows * kvDim);
  ks.fill(NaN, filled * kvDim);
  vs.fill(NaN, filled * kvDim);
  const ref = refAttention(qs, ks, vs, s, h0, h1);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const q = h.f32('q', qs), kc = h.f32('kc', ks), vc = h.f32('vc', vs);
    const att = h.f32('att', filled), out = h.f32('out', T * nHeads * headDim);
    const what = `attention_f32 nHeads=${nHeads} nKvHeads=${nKvHeads} headDim=${headDim} pos0=${pos0} T=${T} heads [${h0},${h1})`;
    h.call(what, [out, att], () =>
      k.attention_f32(out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, nHeads, nKvHeads, headDim, pos0, T, h0, h1));
    assertClose(h.label(what), h.read(out), ref, ATTN_TOL, headDim);
  }
}

test('attention_f32: head sizes × GQA groups × positions × head ranges', () => {
  let seed = 1;
  for (const headDim of [6, 8, 10, 64]) {
    for (const group of [1, 2, 4]) {
      const nKvHeads = 2, nHeads = 2 * group;
      for (const [pos0, T] of [[0, 1], [0, 3], [5, 1], [5, 4], [33, 3]]) {
        const s = { nHeads, nKvHeads, headDim, pos0, T };
        check(s, 0, nHeads, seed++);
        check(s, 1, nHeads - 1 || 1, seed++); // partial: skips the first and last head (an empty range when nHeads = 2)
        check(s, 1, nHeads, seed++);
      }
    }
  }
});

test('attention_f32: one KV head shared by 3 and by 5 query heads', () => {
  check({ nHeads: 3, nKvHeads: 1, headDim: 10, pos0: 2, T: 5 }, 0, 3, 101);
  check({ nHeads: 5, nKvHeads: 1, headDim: 6, pos0: 9, T: 9 }, 2, 4, 102);
});

test('attention_f32: the first token attends only to itself', () => {
  // softmax over one score is exactly 1, so out = v row 0 whatever q and k are.
  const s = { nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 0, T: 1 };
  const rand = rng(9);
  const qs = floats(rand, 32, -50, 50), ks = floats(rand, 16), vs = floats(rand, 16);
  h.reset('aligned');
  const q = h.f32('q', qs), kc = h.f32('kc', ks), vc = h.f32('vc', vs);
  const att = h.f32('att', 1), out = h.f32('out', 32);
  k.attention_f32(out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, 4, 2, 8, 0, 1, 0, 4);
  const want = Float64Array.from([...vs.subarray(0, 8), ...vs.subarray(0, 8), ...vs.subarray(8), ...vs.subarray(8)]);
  assertClose(h.label('attention_f32 pos0=0 T=1'), h.read(out), want, { rtol: 0, atol: 0 });
});

test.run();

// softmax_f32, swiglu_f32, add_f32, add_rows_f32, softcap_f32 and scale_f32 against float64 loops (kernels/ref/act.ts),
// every tail of n, aliasing as documented.
import { test } from 'uvu';
import { add, addRows, scale, softcap, softmax, swiglu } from '../../kernels/ref/act.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

const NS = [1, 3, 4, 5, 7, 31, 32, 33, 67, 257];

// softmax: expf is within 1 ulp, but the f32 sum of n terms can drift by up to ~n/2 ulps of the total, and
// every output inherits that relative error. 1e-7·(4 + n) covers it (≤ 2.6e-5 at n = 257); a term missed
// from the sum (typically ~1/n of it, ≥ 4e-3) or an element skipped by the normalise loop is far outside.
const softmaxTol = (n: number): Tol => ({ rtol: 1e-7 * (4 + n), atol: 1e-30 });
// swiglu: exp_f32x4 (2 ulp) plus an add, a divide and a multiply, each rounded once: under 5 ulps ≈ 3e-7.
// atol covers gates so negative that f32 silu underflows to 0 where f64 gives ~1e-42.
const SWIGLU_TOL: Tol = { rtol: 5e-7, atol: 1e-30 };
// add: one f32 add is correctly rounded, so the kernel must equal fround(a + b) exactly.
const EXACT: Tol = { rtol: 0, atol: 0 };

function checkSoftmax(xs: Float32Array, what: string): void {
  const ref = softmax(xs);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs);
    h.call(what, [x], () => k.softmax_f32(x.ptr, xs.length));
    assertClose(h.label(what), h.read(x), ref, softmaxTol(xs.length));
  }
}

test('softmax_f32: every tail of n', () => {
  for (const n of NS) checkSoftmax(floats(rng(n), n, -5, 5), `softmax_f32 n=${n}`);
});

test('softmax_f32: subtracts the max (inputs near 100 overflow expf otherwise)', () => {
  for (const n of [3, 33]) checkSoftmax(floats(rng(n), n, 95, 105), `softmax_f32 n=${n} inputs in [95, 105)`);
});

function checkSwiglu(gs: Float32Array, us: Float32Array, aliasGate: boolean, what: string): void {
  const ref = swiglu(gs, us);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const gate = h.f32('gate', gs), up = h.f32('up', us), out = aliasGate ? gate : h.f32('out', gs.length);
    h.call(what, [out], () => k.swiglu_f32(out.ptr, gate.ptr, up.ptr, 0, gs.length));
    assertClose(h.label(what), h.read(out), ref, SWIGLU_TOL);
  }
}

test('swiglu_f32: every tail of n, and out = gate', () => {
  for (const n of NS) {
    const rand = rng(n);
    const gs = floats(rand, n, -8, 8), us = floats(rand, n, -2, 2);
    checkSwiglu(gs, us, false, `swiglu_f32 n=${n}`);
    checkSwiglu(gs, us, true, `swiglu_f32 n=${n} out = gate`);
  }
});

test('swiglu_f32: saturating gates', () => {
  const gs = Float32Array.of(-100, -20, -1e-3, 0, 1e-3, 20, 100), us = Float32Array.of(1, -2, 3, 4, -5, 6, -7);
  checkSwiglu(gs, us, false, 'swiglu_f32 gates ±100, ±20, ±1e-3, 0');
});

test('swiglu_f32: a range [i0, i1) writes those elements only (how the pool splits it)', () => {
  const n = 64, rand = rng(n), gs = floats(rand, n, -8, 8), us = floats(rand, n, -2, 2), ref = swiglu(gs, us);
  for (const [i0, i1] of [[0, 16], [16, 64], [5, 38]]) {
    h.reset(PLACEMENTS[0]);
    const gate = h.f32('gate', gs), up = h.f32('up', us), out = h.f32('out', gs.map(() => -1));
    const what = `swiglu_f32 [${i0}, ${i1}) of ${n}`;
    h.call(what, [out], () => k.swiglu_f32(out.ptr, gate.ptr, up.ptr, i0, i1));
    assertClose(h.label(what), h.read(out), ref.map((r, i) => (i >= i0 && i < i1 ? r : -1)), SWIGLU_TOL);
  }
});

function checkAdd(n: number, alias: 'none' | 'a' | 'b'): void {
  const rand = rng(n);
  const as = floats(rand, n, -10, 10), bs = floats(rand, n, -1, 1);
  const ref = add(as, bs);
  const what = `add_f32 n=${n}${alias === 'none' ? '' : ` out = ${alias}`}`;
  for (const p of PLACEMENTS) {
    h.reset(p);
    const a = h.f32('a', as), b = h.f32('b', bs), out = alias === 'a' ? a : alias === 'b' ? b : h.f32('out', n);
    h.call(what, [out], () => k.add_f32(out.ptr, a.ptr, b.ptr, n));
    assertClose(h.label(what), h.read(out), ref, EXACT);
  }
}

test('add_f32: every tail of n, out separate or aliasing a or b', () => {
  for (const n of NS) for (const alias of ['none', 'a', 'b'] as const) checkAdd(n, alias);
});

test('add_rows_f32: bias added to each of T rows', () => {
  for (const n of NS) {
    for (const T of [1, 3, 4]) {
      const rand = rng(10 * n + T);
      const xs = floats(rand, T * n, -10, 10), bs = floats(rand, n);
      const ref = addRows(xs, bs, n);
      const what = `add_rows_f32 n=${n} T=${T}`;
      for (const p of PLACEMENTS) {
        h.reset(p);
        const x = h.f32('x', xs), b = h.f32('b', bs);
        h.call(what, [x], () => k.add_rows_f32(x.ptr, b.ptr, n, T));
        assertClose(h.label(what), h.read(x), ref, EXACT, n);
      }
    }
  }
});

// softcap: x / cap and × cap round once each and tanh_f32x4 is within ~2e-7 (Cephes tanhf), whose condition
// number is ≤ 1: worst seen 1.8e-7. tanh of x / cap computed as 1 − 2/(e^{2x/cap} + 1) alone is 1e-3 off near 0.
const SOFTCAP_TOL: Tol = { rtol: 1e-6, atol: 0 };

function checkSoftcap(xs: Float32Array, cap: number, what: string): void {
  const ref = softcap(xs, Math.fround(cap));
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs);
    h.call(what, [x], () => k.softcap_f32(x.ptr, xs.length, cap));
    assertClose(h.label(what), h.read(x), ref, SOFTCAP_TOL);
  }
}

test('softcap_f32: every tail of n, caps 30 and 50 (Gemma 2\'s final and attention caps)', () => {
  for (const n of NS) for (const cap of [30, 50]) checkSoftcap(floats(rng(n + cap), n, -200, 200), cap, `softcap_f32 n=${n} cap=${cap}`);
});

test('softcap_f32: near zero, across the polynomial/exp switch, and saturated (±1e30, ±3.4e38: ±cap, no NaN)', () => {
  checkSoftcap(new Float32Array(4001).map((_, i) => (i - 2000) * 1e-3), 1, 'softcap_f32 sweep [-2, 2] cap=1');
  checkSoftcap(Float32Array.of(0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 0.6249, 0.625, -0.6251, 1e30, -1e30, 3.4e38, -3.4e38), 2.5, 'softcap_f32 extremes cap=2.5');
});

test('scale_f32: every tail of n, exactly fround(x · s)', () => {
  for (const n of NS) {
    const xs = floats(rng(n), n, -10, 10), s = 0.0883883461356163; // 1/√128 as an f32 crosses the ABI
    const ref = Float64Array.from(scale(xs, Math.fround(s)), Math.fround);
    for (const p of PLACEMENTS) {
      h.reset(p);
      const x = h.f32('x', xs);
      h.call(`scale_f32 n=${n}`, [x], () => k.scale_f32(x.ptr, n, s));
      assertClose(h.label(`scale_f32 n=${n}`), h.read(x), ref, EXACT);
    }
  }
});

test.run();

// rmsnorm_f32 against a float64 loop over T rows, every tail of n, and in place (out = x).
import { test } from 'uvu';
import { rmsnorm, rmsnormHeads } from '../../kernels/ref/norm.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// The kernel sums squares in f64, rounds the scale to f32, then does two f32 multiplies per element:
// at most ~3 half-ulps (1.8e-7) of relative error. A wrong mean (n vs n-1), a dropped eps or a missed
// tail element is off by far more than 1e-6.
const NORM_TOL: Tol = { rtol: 1e-6, atol: 0 };

const NS = [1, 3, 4, 5, 7, 31, 32, 33, 67, 257];

function check(n: number, T: number, eps: number, inPlace: boolean, seed: number, scale = 3): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n, -scale, scale), ws = floats(rand, n, -2, 2);
  // eps crosses the ABI as an f32, so the reference uses the same rounded value.
  const ref = rmsnorm(xs, ws, n, T, Math.fround(eps));
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs), w = h.f32('w', ws), out = inPlace ? x : h.f32('out', T * n);
    const what = `rmsnorm_f32 n=${n} T=${T} eps=${eps}${inPlace ? ' in place' : ''}`;
    h.call(what, [out], () => k.rmsnorm_f32(out.ptr, x.ptr, w.ptr, n, eps, 0, T));
    assertClose(h.label(what), h.read(out), ref, NORM_TOL, n);
  }
}

test('rmsnorm_f32: every tail of n, T = 1 and 3', () => {
  for (const n of NS) for (const T of [1, 3]) check(n, T, 1e-5, false, 10 * n + T);
});

test('rmsnorm_f32: in place', () => {
  for (const n of [5, 33, 257]) check(n, 2, 1e-6, true, n);
});

test('rmsnorm_f32: eps matters for tiny rows', () => {
  // With |x| ~ 1e-3, mean(x²) ~ 3e-7 is comparable to eps, so dropping or misplacing eps fails.
  for (const n of [4, 7]) check(n, 2, 1e-6, false, 77 + n, 1e-3);
});

test('rmsnorm_f32 with n = headDim over T·nHeads rows normalises each head of a (T, nHeads·headDim) tensor (Qwen3 q_norm/k_norm)', () => {
  for (const [nHeads, headDim, T] of [[2, 4, 1], [3, 5, 2], [16, 128, 3], [8, 64, 2]]) {
    const rand = rng(nHeads * headDim + T);
    // Heads of very different sizes, so one norm over a whole row would be far off for the small ones.
    const xs = Float32Array.from({ length: T * nHeads * headDim }, (_, i) => (rand() * 2 - 1) * 10 ** ((Math.floor(i / headDim) % 3) - 1));
    const ws = floats(rand, headDim, -2, 2), ref = rmsnormHeads(xs, ws, nHeads, headDim, T, Math.fround(1e-6));
    for (const p of PLACEMENTS) {
      h.reset(p);
      const x = h.f32('x', xs), w = h.f32('w', ws), out = h.f32('out', xs.length);
      const what = `rmsnorm_f32 per head nHeads=${nHeads} headDim=${headDim} T=${T}`;
      h.call(what, [out], () => k.rmsnorm_f32(out.ptr, x.ptr, w.ptr, headDim, 1e-6, 0, T * nHeads));
      assertClose(h.label(what), h.read(out), ref, NORM_TOL, headDim);
    }
  }
});


test('rmsnorm_f32: a row range [r0, r1) writes those rows only (how the pool splits it)', () => {
  const n = 33, T = 5, rand = rng(77), xs = floats(rand, T * n, -3, 3), ws = floats(rand, n, -2, 2);
  const ref = rmsnorm(xs, ws, n, T, Math.fround(1e-6));
  for (const [r0, r1] of [[0, 2], [2, 5], [1, 4]]) {
    h.reset(PLACEMENTS[0]);
    const x = h.f32('x', xs), w = h.f32('w', ws), out = h.f32('out', xs.map(() => -1)), what = `rmsnorm_f32 rows [${r0}, ${r1}) of ${T}`;
    h.call(what, [out], () => k.rmsnorm_f32(out.ptr, x.ptr, w.ptr, n, 1e-6, r0, r1));
    assertClose(h.label(what), h.read(out), ref.map((v, i) => (i >= r0 * n && i < r1 * n ? v : -1)), NORM_TOL, n);
  }
});

test.run();

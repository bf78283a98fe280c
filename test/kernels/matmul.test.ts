// matvec_f32 and matmul_f32 against float64 loops: every tail of n, the 4-token tile's T tails, and
// partial row ranges whose untouched rows must stay NaN.
import { test } from 'uvu';
import { matmul } from '../../kernels/ref/matmul.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// A dot product of n terms in [-1, 1] summed in f32 (16 partial sums, then a scalar tail; fused or not in
// the relaxed build) drifts from the exact sum by about sqrt(n) roundings of its partial sums. The worst
// seen is ~1/6 of 1e-6·sqrt(n) (≤ 1.6e-5 at n = 257), while a dropped or doubled term (|w·x| ≈ 0.25 on
// average) is thousands of times larger.
const dotTol = (n: number): Tol => ({ rtol: 1e-6 * Math.sqrt(n), atol: 1e-6 * Math.sqrt(n) });

const NS = [1, 3, 4, 5, 7, 31, 32, 33, 67, 257];
const TS = [1, 3, 4, 5, 9];

/** Full, partial (r0 > 0 and r1 < d) and empty row ranges over d rows. */
function rowRanges(d: number): [number, number][] {
  const ranges: [number, number][] = [[0, d], [Math.min(1, d), Math.min(1, d)]];
  if (d >= 3) ranges.push([1, d - 1]);
  if (d >= 7) ranges.push([d - 5, d - 2]);
  return ranges;
}

function checkMatvec(n: number, d: number, seed: number): void {
  const rand = rng(seed);
  const xs = floats(rand, n), ws = floats(rand, d * n);
  for (const p of PLACEMENTS) {
    for (const [r0, r1] of rowRanges(d)) {
      h.reset(p);
      const x = h.f32('x', xs), w = h.f32('w', ws), out = h.f32('out', d);
      const what = `matvec_f32 n=${n} d=${d} rows [${r0},${r1})`;
      h.call(what, [out], () => k.matvec_f32(out.ptr, x.ptr, w.ptr, n, r0, r1));
      assertClose(h.label(what), h.read(out), matmul(xs, ws, 1, n, d, r0, r1), dotTol(n));
    }
  }
}

function checkMatmul(T: number, n: number, d: number, seed: number): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n), ws = floats(rand, d * n);
  for (const p of PLACEMENTS) {
    for (const [r0, r1] of rowRanges(d)) {
      h.reset(p);
      const x = h.f32('x', xs), w = h.f32('w', ws), out = h.f32('out', T * d);
      const what = `matmul_f32 T=${T} n=${n} d=${d} rows [${r0},${r1})`;
      h.call(what, [out], () => k.matmul_f32(out.ptr, x.ptr, w.ptr, T, n, d, r0, r1));
      assertClose(h.label(what), h.read(out), matmul(xs, ws, T, n, d, r0, r1), dotTol(n), d);
    }
  }
}

test('matvec_f32: every tail of n, row counts 1, 5, 33', () => {
  for (const n of NS) for (const d of [1, 5, 33]) checkMatvec(n, d, 1000 * n + d);
});

test('matvec_f32: 257 x 257', () => {
  checkMatvec(257, 257, 7);
});

test('matmul_f32: every tail of n and of the 4-token tile', () => {
  for (const n of NS) for (const T of TS) checkMatmul(T, n, 7, 100 * n + T);
});

test('matmul_f32: larger shapes', () => {
  checkMatmul(9, 257, 67, 11);
  checkMatmul(5, 33, 257, 12);
  checkMatmul(4, 1, 3, 13);
});

test('matmul_f32 with T = 1 equals matvec_f32', () => {
  const rand = rng(5);
  const n = 67, d = 31;
  const xs = floats(rand, n), ws = floats(rand, d * n);
  h.reset('unaligned');
  const x = h.f32('x', xs), w = h.f32('w', ws), a = h.f32('a', d), b = h.f32('b', d);
  k.matvec_f32(a.ptr, x.ptr, w.ptr, n, 0, d);
  k.matmul_f32(b.ptr, x.ptr, w.ptr, 1, n, d, 0, d);
  assertClose(h.label(`matmul_f32 T=1 n=${n} d=${d} vs matvec_f32`), h.read(b), Float64Array.from(h.read(a)), { rtol: 0, atol: 0 });
});

test.run();

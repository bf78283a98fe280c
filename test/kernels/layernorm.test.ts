// layernorm_f32 against a float64 loop over T rows, every tail of n, in place, and BERT's eps = 1e-12.
import { test } from 'uvu';
import { layernorm } from '../../kernels/ref/layernorm.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// Stats are f64; the kernel rounds scale and shift to f32 and does three f32 multiply-adds per element:
// a few ulps of the output's magnitude. Outputs are O(1) (gain and bias in [-2, 2]), so atol 1e-6 covers
// it; a biased/unbiased variance mix-up (n vs n-1), a dropped bias or a missed tail is off by ≥ 1e-3.
const LN_TOL: Tol = { rtol: 1e-6, atol: 1e-6 };

const NS = [1, 3, 4, 5, 7, 31, 32, 33, 67, 257, 384];

function check(n: number, T: number, eps: number, inPlace: boolean, seed: number, offset = 0): void {
  const rand = rng(seed);
  // offset shifts every row: a one-pass variance would lose digits, the two-pass one must not.
  const xs = floats(rand, T * n, offset - 3, offset + 3), ws = floats(rand, n, -2, 2), bs = floats(rand, n, -2, 2);
  const ref = layernorm(xs, ws, bs, n, T, Math.fround(eps));
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs), w = h.f32('w', ws), b = h.f32('b', bs), out = inPlace ? x : h.f32('out', T * n);
    const what = `layernorm_f32 n=${n} T=${T} eps=${eps}${inPlace ? ' in place' : ''}${offset ? ` offset ${offset}` : ''}`;
    h.call(what, [out], () => k.layernorm_f32(out.ptr, x.ptr, w.ptr, b.ptr, n, eps, 0, T));
    // n = 1: x − mean is exactly 0, so the output is the bias whatever the scale.
    assertClose(h.label(what), h.read(out), ref, LN_TOL, n);
  }
}

test('layernorm_f32: every tail of n, T = 1 and 3, BERT eps 1e-12', () => {
  for (const n of NS) for (const T of [1, 3]) check(n, T, 1e-12, false, 10 * n + T);
});

test('layernorm_f32: in place, and eps 1e-5', () => {
  for (const n of [5, 33, 257]) check(n, 2, 1e-5, true, n);
});

test('layernorm_f32: rows with a large common offset (variance must be two-pass)', () => {
  for (const n of [7, 64]) check(n, 2, 1e-12, false, 99 + n, 1000);
});

test.run();

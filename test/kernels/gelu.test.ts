// gelu_f32 (erf form) against x/2·(1 + erf(x/√2)) with erf evaluated in float64 by series and continued fraction.
import { test } from 'uvu';
import { erfcCf, erfPos, gelu } from '../../kernels/ref/gelu.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// The kernel's erfc fit has relative error < 1.2e-7 (Numerical Recipes' erfcc), but it is evaluated in f32:
// the exponent −z² − 1.27 + … carries ~|z²|·2⁻²⁴ of rounding, which e^· turns into relative error (measured
// over [-10, 10]: 1.4e-6 at x = −3.67 where |gelu| = 4e-4, 8.6e-6 in the far tail). rtol 1e-6 + atol 1e-9
// covers it everywhere (|gelu(x)| < 1e-3 wherever rtol alone would not). The tanh approximation of GELU
// differs from the erf form by up to ~4e-4 (at |x| ≈ 2), and dropping the 1/√2 by far more.
const GELU_TOL: Tol = { rtol: 1e-6, atol: 1e-9 };

function check(xs: Float32Array, what: string, inPlace = false): void {
  const ref = gelu(xs);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs), out = inPlace ? x : h.f32('out', xs.length);
    h.call(what, [out], () => k.gelu_f32(out.ptr, x.ptr, xs.length));
    assertClose(h.label(what), h.read(out), ref, GELU_TOL);
  }
}

test('gelu_f32: the reference erf is right (erf(1), erf(0.5), erfc(3), erfc(5) to 1e-15)', () => {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b));
  if (!close(erfPos(1), 0.8427007929497149) || !close(erfPos(0.5), 0.5204998778130465)) throw new Error('erf series');
  if (!close(erfcCf(3) / 2.209049699858544e-5, 1) || !close(erfcCf(5) / 1.5374597944280349e-12, 1)) throw new Error('erfc cf');
});

test('gelu_f32: n = 1 .. 257 over [-6, 6]', () => {
  for (const n of [1, 3, 4, 5, 31, 32, 33, 257]) check(floats(rng(n), n, -6, 6), `gelu_f32 n=${n}`);
});

test('gelu_f32: a dense sweep over [-10, 10], zero, and in place', () => {
  const xs = new Float32Array(4001).map((_, i) => -10 + i * 0.005);
  xs[2000] = 0;
  check(xs, 'gelu_f32 sweep [-10, 10]');
  check(floats(rng(7), 65, -4, 4), 'gelu_f32 in place', true);
});

test.run();

// gelu_f32 (erf form) against x/2·(1 + erf(x/√2)) with erf evaluated in float64 by series and continued fraction;
// gelu_tanh_f32 and geglu_tanh_f32 against transformers' gelu_pytorch_tanh in float64 (kernels/ref/gelu.ts).
import { test } from 'uvu';
import { erfcCf, erfPos, geglu, gelu, geluTanh } from '../../kernels/ref/gelu.js';
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
    h.call(what, [out], () => k.gelu_f32(out.ptr, x.ptr, 0, xs.length));
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

// gelu_tanh: tanh(u) as a sigmoid of 2u formed in f64, then e^· (2 ulp), an add and a divide: worst seen 1.9e-7
// relative over [-20, 20]. atol covers x below about −10, where the result is under 1e-37 and is flushed to 0.
// The erf form differs by up to ~4e-4, and 1 + tanh(u) computed in f32 is 100% off below x ≈ −5.
const GELU_TANH_TOL: Tol = { rtol: 1e-6, atol: 1e-30 };

test('gelu_f32 and gelu_tanh_f32: a range [i0, i1) writes those elements only (how the pool splits them)', () => {
  const n = 64, xs = floats(rng(9), n, -6, 6);
  for (const [name, ref] of [['gelu_f32', gelu(xs)], ['gelu_tanh_f32', geluTanh(xs)]] as const) {
    for (const [i0, i1] of [[0, 16], [16, 64], [5, 38]]) {
      h.reset(PLACEMENTS[0]);
      const x = h.f32('x', xs), out = h.f32('out', xs.map(() => -1)), what = `${name} [${i0}, ${i1}) of ${n}`;
      h.call(what, [out], () => k[name](out.ptr, x.ptr, i0, i1));
      assertClose(h.label(what), h.read(out), ref.map((r, i) => (i >= i0 && i < i1 ? r : -1)), GELU_TOL);
    }
  }
});

function checkTanh(xs: Float32Array, what: string, inPlace = false): void {
  const ref = geluTanh(xs);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const x = h.f32('x', xs), out = inPlace ? x : h.f32('out', xs.length);
    h.call(what, [out], () => k.gelu_tanh_f32(out.ptr, x.ptr, 0, xs.length));
    assertClose(h.label(what), h.read(out), ref, GELU_TANH_TOL);
  }
}

test('gelu_tanh_f32: every tail of n, a dense sweep over [-20, 20], and in place', () => {
  for (const n of [1, 3, 4, 5, 31, 32, 33, 257]) checkTanh(floats(rng(n), n, -6, 6), `gelu_tanh_f32 n=${n}`);
  checkTanh(new Float32Array(8001).map((_, i) => -20 + i * 0.005), 'gelu_tanh_f32 sweep [-20, 20]');
  checkTanh(floats(rng(8), 65, -4, 4), 'gelu_tanh_f32 in place', true);
});

test('gelu_tanh_f32: zero, tiny and huge inputs (x, ±0, no NaN, no inf)', () => {
  checkTanh(Float32Array.of(0, -0, 1e-30, -1e-30, 1e-10, -1e-10, 10, -10, -10.1, 100, -100, 1e10, -1e10, 3.4e38, -3.4e38),
    'gelu_tanh_f32 extremes');
});

test('geglu_tanh_f32: every tail of n, out separate and out = gate', () => {
  for (const n of [1, 3, 4, 5, 31, 32, 33, 257]) {
    const rand = rng(100 + n);
    const gs = floats(rand, n, -8, 8), us = floats(rand, n, -2, 2), ref = geglu(gs, us);
    for (const alias of [false, true]) {
      for (const p of PLACEMENTS) {
        h.reset(p);
        const gate = h.f32('gate', gs), up = h.f32('up', us), out = alias ? gate : h.f32('out', n);
        const what = `geglu_tanh_f32 n=${n}${alias ? ' out = gate' : ''}`;
        h.call(what, [out], () => k.geglu_tanh_f32(out.ptr, gate.ptr, up.ptr, 0, n));
        // One more f32 multiply than gelu_tanh.
        assertClose(h.label(what), h.read(out), ref, GELU_TANH_TOL);
      }
    }
  }
});

test.run();

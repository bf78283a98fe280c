// encoder_attention_f32 against a float64 bidirectional loop over a packed batch: each row attends to every
// row of its own sequence (before and after it) and to nothing outside it. Heads outside [h0, h1) stay NaN.
import { test } from 'uvu';
import { encoderAttention } from '../../kernels/ref/encoder_attention.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// As for the causal kernel (attention.test.ts): convex combinations of values in [-1, 1] with f32 scores,
// expf and f32 sums over ≤ 40 keys give a few 1e-7. Attending across a sequence boundary, dropping the
// last key (a causal or off-by-one mask) or the wrong scale moves outputs by ~1e-2.
const ATTN_TOL: Tol = { rtol: 1e-5, atol: 1e-5 };

interface Shape { lens: number[]; nHeads: number; headDim: number }

function check(s: Shape, h0: number, h1: number, seed: number): void {
  const { lens, nHeads, headDim } = s;
  const rand = rng(seed);
  const dim = nHeads * headDim, N = lens.reduce((a, b) => a + b, 0);
  // q scaled up so scores spread (softmax far from uniform).
  const qs = floats(rand, N * dim, -3, 3), ks = floats(rand, N * dim), vs = floats(rand, N * dim);
  const ref = encoderAttention(qs, ks, vs, s, h0, h1);
  const offsets = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const q = h.f32('q', qs), kb = h.f32('k', ks), vb = h.f32('v', vs);
    const att = h.f32('att', Math.max(1, ...lens) * (headDim + 1)), out = h.f32('out', N * dim);
    const offs = h.alloc('offs', 4 * offsets.length);
    new Int32Array(h.memory.buffer, offs.ptr, offsets.length).set(offsets);
    const what = `encoder_attention_f32 lens=[${lens}] nHeads=${nHeads} headDim=${headDim} heads [${h0},${h1})`;
    h.call(what, [out, att], () =>
      k.encoder_attention_f32(out.ptr, q.ptr, kb.ptr, vb.ptr, att.ptr, offs.ptr, lens.length, nHeads, headDim, h0, h1));
    assertClose(h.label(what), h.read(out), ref, ATTN_TOL, dim);
  }
}

test('encoder_attention_f32: one sequence, every tail of headDim', () => {
  for (const headDim of [1, 3, 4, 5, 8, 31, 32, 33]) check({ lens: [6], nHeads: 2, headDim }, 0, 2, headDim);
});

test('encoder_attention_f32: packed batches keep sequences apart (lengths 1, 7, 12, 3, 40)', () => {
  check({ lens: [7, 12], nHeads: 4, headDim: 16 }, 0, 4, 1);
  check({ lens: [1, 7, 3, 40, 12], nHeads: 3, headDim: 8 }, 0, 3, 2);
});

test('encoder_attention_f32: a head range writes only its heads; empty sequences write nothing', () => {
  check({ lens: [5, 9], nHeads: 4, headDim: 8 }, 1, 3, 3);
  check({ lens: [4, 0, 6], nHeads: 2, headDim: 4 }, 0, 2, 4);
  check({ lens: [3], nHeads: 2, headDim: 4 }, 1, 1, 5);
});

test.run();

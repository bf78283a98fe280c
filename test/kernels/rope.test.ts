// rope_f32 against a float64 rotate-half loop (kernels/ref/rope.ts): pairs (i, i + rotDim/2) in each head, one angle
// row per token; rotDim = headDim, or fewer (partial rotary) with the other dims untouched.
import { test } from 'uvu';
import { rope } from '../../kernels/ref/rope.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// Each output is a·c ∓ b·s in f32 with |a|, |b| ≤ 1: three roundings of magnitude ≤ 1, so under 2e-7
// absolute. A swapped sign, a wrong pair (interleaved 2i, 2i+1) or a wrong angle row is off by ~0.1–1.
const ROPE_TOL: Tol = { rtol: 1e-6, atol: 1e-6 };

/** cos, sin (T, rotDim/2) for positions pos[t], frequencies theta^(-2i/rotDim) as in HF Llama (and Phi-3's partial rotary). */
function angles(pos: number[], rotDim: number, theta = 10000): { cos: Float32Array; sin: Float32Array } {
  const half = rotDim / 2;
  const cos = new Float32Array(pos.length * half), sin = new Float32Array(pos.length * half);
  pos.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const a = p * theta ** (-2 * i / rotDim);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  });
  return { cos, sin };
}

test('rope_f32: head sizes 2, 6, 8, 10, 64; 1 and 3 heads; T = 1, 3, 4', () => {
  for (const headDim of [2, 6, 8, 10, 64]) {
    for (const nHeads of [1, 3]) {
      for (const T of [1, 3, 4]) {
        const rand = rng(1000 * headDim + 10 * nHeads + T);
        const pos = Array.from({ length: T }, () => Math.floor(rand() * 500));
        const { cos, sin } = angles(pos, headDim);
        const xs = floats(rand, T * nHeads * headDim);
        const ref = rope(xs, cos, sin, nHeads, headDim, T);
        for (const p of PLACEMENTS) {
          h.reset(p);
          const x = h.f32('x', xs), c = h.f32('cos', cos), s = h.f32('sin', sin);
          const what = `rope_f32 headDim=${headDim} nHeads=${nHeads} T=${T} pos=[${pos}]`;
          h.call(what, [x], () => k.rope_f32(x.ptr, c.ptr, s.ptr, nHeads, headDim, headDim, T));
          assertClose(h.label(what), h.read(x), ref, ROPE_TOL, headDim);
        }
      }
    }
  }
});

test('rope_f32: position 0 is the identity', () => {
  const headDim = 10, nHeads = 2;
  const xs = floats(rng(3), nHeads * headDim);
  const { cos, sin } = angles([0], headDim);
  h.reset('unaligned');
  const x = h.f32('x', xs), c = h.f32('cos', cos), s = h.f32('sin', sin);
  k.rope_f32(x.ptr, c.ptr, s.ptr, nHeads, headDim, headDim, 1);
  assertClose(h.label('rope_f32 pos=0'), h.read(x), Float64Array.from(xs), { rtol: 0, atol: 0 });
});

test('rope_f32: partial rotary (rotDim < headDim) rotates the first rotDim dims and leaves the rest bit for bit', () => {
  for (const [headDim, rotDim] of [[8, 2], [10, 4], [32, 8], [64, 16], [96, 32], [80, 40], [6, 6]]) {
    for (const T of [1, 3]) {
      const nHeads = 3, rand = rng(100 * headDim + rotDim + T);
      const pos = Array.from({ length: T }, () => Math.floor(rand() * 500));
      const { cos, sin } = angles(pos, rotDim);
      const xs = floats(rand, T * nHeads * headDim);
      const ref = rope(xs, cos, sin, nHeads, headDim, T, rotDim);
      for (const p of PLACEMENTS) {
        h.reset(p);
        const x = h.f32('x', xs), c = h.f32('cos', cos), s = h.f32('sin', sin);
        const what = `rope_f32 headDim=${headDim} rotDim=${rotDim} T=${T}`;
        h.call(what, [x], () => k.rope_f32(x.ptr, c.ptr, s.ptr, nHeads, headDim, rotDim, T));
        const got = h.read(x);
        assertClose(h.label(what), got, ref, ROPE_TOL, headDim);
        for (let i = 0; i < xs.length; i++) {
          if (i % headDim >= rotDim && !Object.is(got[i], xs[i])) throw new Error(`${h.label(what)}: index ${i} (dim ${i % headDim} ≥ rotDim) changed`);
        }
      }
    }
  }
});

test.run();

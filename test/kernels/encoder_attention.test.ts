// encoder_attention_f32 against a float64 loop over a packed batch (kernels/ref/encoder_attention.ts): each row
// attends to the rows of its own sequence in its band (all of them by default) and to nothing outside it.
// Heads outside [h0, h1) stay NaN.
import { test } from 'uvu';
import { encoderAttention, type PackedAttention } from '../../kernels/ref/encoder_attention.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// As for the causal kernel (attention.test.ts): convex combinations of values in [-1, 1] with f32 scores,
// expf and f32 sums over ≤ 40 keys give a few 1e-7. Attending across a sequence boundary, dropping the
// last key (a causal or off-by-one mask) or the wrong scale moves outputs by ~1e-2.
const ATTN_TOL: Tol = { rtol: 1e-5, atol: 1e-5 };

function check(s: PackedAttention, h0: number, h1: number, seed: number): void {
  const { lens, nHeads, headDim, left = -1, right = -1, nKvHeads = nHeads } = s;
  const scale = s.scale ?? 1 / Math.sqrt(headDim);
  const rand = rng(seed);
  const dim = nHeads * headDim, kvDim = nKvHeads * headDim, N = lens.reduce((a, b) => a + b, 0);
  // q scaled up so scores spread (softmax far from uniform).
  const qs = floats(rand, N * dim, -3, 3), ks = floats(rand, N * kvDim), vs = floats(rand, N * kvDim);
  const ref = encoderAttention(qs, ks, vs, { ...s, scale: Math.fround(scale) }, h0, h1); // scale crosses the ABI as f32
  const offsets = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const q = h.f32('q', qs), kb = h.f32('k', ks), vb = h.f32('v', vs);
    const att = h.f32('att', Math.max(1, ...lens) * (headDim + 4)), out = h.f32('out', N * dim);
    const offs = h.alloc('offs', 4 * offsets.length);
    new Int32Array(h.memory.buffer, offs.ptr, offsets.length).set(offsets);
    const what = `encoder_attention_f32 lens=[${lens}] nHeads=${nHeads}/${nKvHeads} headDim=${headDim} scale=${scale} band [${left}, ${right}] heads [${h0},${h1})`;
    h.call(what, [out, att], () =>
      k.encoder_attention_f32(out.ptr, q.ptr, kb.ptr, vb.ptr, att.ptr, offs.ptr, lens.length, nHeads, nKvHeads, headDim, scale, left, right, h0, h1));
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

test('encoder_attention_f32: bands — causal, left only, both sides, wider and narrower than the sequences, self only', () => {
  let seed = 10;
  for (const [left, right] of [[-1, 0], [2, -1], [0, 3], [3, 3], [1, 0], [0, 0], [50, 50], [16, 16], [17, 0]]) {
    check({ lens: [7, 1, 40, 12], nHeads: 2, headDim: 5, left, right }, 0, 2, seed++);
  }
  check({ lens: [33, 20], nHeads: 3, headDim: 32, left: 9, right: 4 }, 1, 3, seed++);
});

test('encoder_attention_f32: grouped-query heads (Qwen3-Embedding 16/8, EmbeddingGemma 3/1), a group split across head ranges', () => {
  check({ lens: [9, 4, 17], nHeads: 4, nKvHeads: 2, headDim: 8 }, 0, 4, 40);
  check({ lens: [12, 5], nHeads: 3, nKvHeads: 1, headDim: 32, left: 7, right: 7 }, 0, 3, 41);
  check({ lens: [6, 11], nHeads: 8, nKvHeads: 2, headDim: 4, right: 0 }, 3, 6, 42);
});

test('encoder_attention_f32: a score scale other than 1/√headDim', () => {
  check({ lens: [9, 4], nHeads: 2, headDim: 8, scale: 0.05 }, 0, 2, 30);
  check({ lens: [9, 4], nHeads: 2, headDim: 8, scale: 1, left: 2, right: 0 }, 0, 2, 31);
});

test.run();

// qgemm_q8 / _q4 (prefill against q8/q4 weights) against a float64 loop over the dequantized weights and
// activations as quantize_q8/_q4 and quantize_act_q16/_q8 made them: tails of n (zero-padded blocks), of the
// 8-row panel and of the 4-token tile, row ranges cut as threads cut them, NaN-poisoned outputs, junk scratch.
import { test } from 'uvu';
import { blockCols, matmul, weightValues } from '../../kernels/ref/matmul.js';
import { blocks, blockValues, readBlocks } from '../../kernels/ref/quant.js';
import { assertClose, floats, harness, PLACEMENTS, rng, untouched, type Buf } from './harness.js';

const h = await harness();
const { k } = h;

type Q = 'q8' | 'q4';
/** Scratch bytes for one call (Ops.qgemmScratchBytes): a widened 8-row panel, 544 bytes per block. */
const scratchBytes = (n: number) => blocks(n) * 544;
const bytesOf = (b: Buf) => h.bytes().slice(b.ptr, b.ptr + b.bytes);

/** Activations as qgemm takes them (q8: quantize_act_q16, q4: quantize_act_q8) and their values quant × scale. */
function activations(q: Q, xs: Float32Array, T: number, n: number): { xq: Buf; vals: Float64Array } {
  const x = h.f32('x', xs), xq = h.alloc('xq', T * blocks(n) * (q === 'q8' ? 68 : 40));
  (q === 'q8' ? k.quantize_act_q16 : k.quantize_act_q8)(xq.ptr, x.ptr, T, n);
  return { xq, vals: blockValues(readBlocks(q === 'q8' ? 'act16' : 'act8', bytesOf(xq), n, T)) };
}

/** Row ranges as callers make them: whole, cut off at either end, and the 16-row chunks the thread pool makes. */
function rowRanges(d: number): number[][][] {
  const chunks: number[][] = [];
  for (let r = 0; r < d; r += 16) chunks.push([r, Math.min(d, r + 16)]);
  return [[[0, d]], [[1, d]], [[Math.min(3, d - 1), Math.max(Math.min(3, d - 1), d - 2)]], [[0, Math.min(5, d)], [Math.min(5, d), d]], chunks];
}

function check(q: Q, T: number, n: number, d: number, seed: number): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n, -3, 3), ws = floats(rand, d * n);
  for (const p of PLACEMENTS) {
    for (const ranges of rowRanges(d)) {
      h.reset(p);
      const src = h.f32('src', ws), w = h.alloc('w', d * blocks(n) * (q === 'q8' ? 36 : 20));
      (q === 'q8' ? k.quantize_q8 : k.quantize_q4)(w.ptr, src.ptr, n, d, 0, d);
      const { xq, vals } = activations(q, xs, T, n);
      const s = h.alloc('scratch', scratchBytes(n));
      h.bytes().fill(0xa5, s.ptr, s.ptr + s.bytes);
      const out = h.f32('out', T * d);
      const what = `qgemm_${q} T=${T} n=${n} d=${d} rows ${ranges.map(([a, b]) => `[${a},${b})`).join('')}`;
      h.call(what, [out, s], () => {
        for (const [r0, r1] of ranges) (q === 'q8' ? k.qgemm_q8 : k.qgemm_q4)(out.ptr, xq.ptr, w.ptr, s.ptr, T, n, d, r0, r1);
      });
      // Block dots are exact integers; only the f32 scale products and the sums over blocks round.
      const tol = { rtol: 1e-5, atol: 1e-5 * Math.sqrt(n) };
      const wv = weightValues(q, bytesOf(w), n, d), ref = untouched(T * d);
      for (const [r0, r1] of ranges) matmul(vals, wv, T, blockCols(n), d, r0, r1, ref);
      assertClose(h.label(what), h.read(out), ref, tol, d);
    }
  }
}

for (const q of ['q8', 'q4'] as const) {
  test(`qgemm_${q}: every tail of n, of the 8-row panel and of the 4-token tile`, () => {
    let seed = 1;
    for (const n of [1, 5, 31, 32, 33, 67]) for (const d of [1, 3, 8, 9, 17]) check(q, 1 + (seed % 9), n, d, seed++);
    for (let T = 1; T <= 9; T++) check(q, T, 45, 11, seed++);
  });

  test(`qgemm_${q}: larger shapes`, () => {
    check(q, 13, 257, 37, 21);
    check(q, 32, 172, 40, 22);
  });
}

test('qgemm_q4: extreme nibbles and activations stay exact (i16 half-block sums do not saturate)', () => {
  // Blocks of one ∓8 and 31 ±7: q4 nibbles 0 and 15 (q8: ∓127, ±111), against tokens of all +1, all −1
  // and mixed signs (activation quants ±127, q8 ±32767): the largest block sums either type can make.
  const n = 64, d = 8, T = 5;
  const ws = new Float32Array(d * n).map((_, i) => ((i >> 6) & 1 ? -1 : 1) * (i % 32 === 0 ? -8 : 7));
  const xs = new Float32Array(T * n).map((_, i) => [1, -1, i % 2 ? 1 : -1, i % 3 ? 1 : -1, 1][Math.floor(i / n)]);
  for (const q of ['q8', 'q4'] as const) {
    h.reset('aligned');
    const src = h.f32('src', ws), w = h.alloc('w', d * blocks(n) * (q === 'q8' ? 36 : 20));
    (q === 'q8' ? k.quantize_q8 : k.quantize_q4)(w.ptr, src.ptr, n, d, 0, d);
    const { xq, vals } = activations(q, xs, T, n);
    const s = h.alloc('scratch', scratchBytes(n)), out = h.f32('out', T * d);
    h.call(`qgemm_${q} extremes`, [out, s], () => (q === 'q8' ? k.qgemm_q8 : k.qgemm_q4)(out.ptr, xq.ptr, w.ptr, s.ptr, T, n, d, 0, d));
    assertClose(h.label(`qgemm_${q} extremes`), h.read(out), matmul(vals, weightValues(q, bytesOf(w), n, d), T, blockCols(n), d), { rtol: 1e-6, atol: 1e-6 }, d);
  }
});

test.run();

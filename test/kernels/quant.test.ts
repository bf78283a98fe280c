// Block quantization (q8 / q4 weights; 16-bit activations for q8, 8-bit for q4) against ggml's definitions (kernels/ref/quant.ts), and matmul_q8 / _q4
// and gemv_q8 / _q4 against a float64 loop over the same quantized values: every tail of n (zero-padded blocks), of the
// 4-row group and of T, partial row ranges whose other rows stay NaN, and row-chunked quantization.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockCols, matmul, weightValues } from '../../kernels/ref/matmul.js';
import { blocks, blockValues, quantizeQ4, quantizeSym, readBlocks, type Blocks } from '../../kernels/ref/quant.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Buf } from './harness.js';

const h = await harness();
const { k } = h;

type Q = 'q8' | 'q4';
const NS = [1, 5, 31, 32, 33, 64, 67, 172, 257];
const DS = [1, 3, 4, 5, 9];
const TS = [1, 3, 4, 5];

const weightBytes = (q: Q, n: number, d: number) => d * blocks(n) * (q === 'q8' ? 36 : 20);
const actBytes = (q: Q, T: number, n: number) => T * blocks(n) * (q === 'q8' ? 68 : 40);
const bytesOf = (b: Buf) => h.bytes().slice(b.ptr, b.ptr + b.bytes);

/**
 * A kernel's blocks of xs (rows of n) against the reference's: scales to f32 rounding, quants equal except
 * by one where x / scale lies within `tie` of a rounding tie (the kernel's f32 product may land either side).
 */
function assertBlocks(what: string, got: Blocks, want: Blocks, xs: Float32Array, n: number, tie: number): void {
  const nb = blocks(n);
  for (let i = 0; i < want.scales.length; i++) {
    const t = Math.floor(i / nb), b = i % nb;
    assert.ok(Math.abs(got.scales[i] - want.scales[i]) <= 1e-6 * Math.abs(want.scales[i]),
      `${what}: row ${t} block ${b}: scale ${got.scales[i]}, want ${want.scales[i]}`);
    for (let j = 0; j < 32; j++) {
      const col = b * 32 + j, g = got.quants[i * 32 + j], w = want.quants[i * 32 + j];
      const frac = col < n && want.scales[i] !== 0 ? Math.abs(xs[t * n + col] / want.scales[i]) % 1 : 0;
      assert.ok(g === w || (Math.abs(g - w) === 1 && Math.abs(frac - 0.5) < tie),
        `${what}: (${t}, ${col}) = ${col < n ? xs[t * n + col] : 'padding'}: quant ${g}, want ${w}`);
    }
  }
}

/** Quantize a (d, n) f32 matrix with the kernel, in row chunks of 2, into junk-filled memory; check it against the reference. */
function quantize(q: Q, ws: Float32Array, n: number, d: number): Buf {
  const w = h.alloc('w (quantized)', weightBytes(q, n, d));
  h.bytes().fill(0xa5, w.ptr, w.ptr + w.bytes);
  const src = h.f32('src', ws);
  for (let r = 0; r < d; r += 2) {
    const r1 = Math.min(d, r + 2);
    (q === 'q8' ? k.quantize_q8 : k.quantize_q4)(w.ptr, src.ptr + r * n * 4, n, d, r, r1);
  }
  const want = q === 'q8' ? quantizeSym(ws, n, d, 127) : quantizeQ4(ws, n, d);
  assertBlocks(`quantize_${q} n=${n} d=${d}`, readBlocks(q, bytesOf(w), n, d), want, ws, n, 1e-4);
  return w;
}

/**
 * Activations as the weight type wants them (q8: quantize_act_q16, 16-bit; q4: quantize_act_q8, 8-bit with
 * block sums): quantize with the kernel, check them against the reference and the sums, return the values.
 */
function quantizeAct(q: Q, xs: Float32Array, T: number, n: number): { xq: Buf; vals: Float64Array } {
  const x = h.f32('x', xs), xq = h.alloc('xq', actBytes(q, T, n));
  const name = q === 'q8' ? 'quantize_act_q16' : 'quantize_act_q8';
  h.call(`${name} T=${T} n=${n}`, [xq], () => k[name](xq.ptr, x.ptr, T, n));
  const got = readBlocks(q === 'q8' ? 'act16' : 'act8', bytesOf(xq), n, T);
  // 16-bit: the f32 product x·(32767/amax) is off by up to ~32767 ulps of 1, 4e-3.
  assertBlocks(`${name} T=${T} n=${n}`, got, quantizeSym(xs, n, T, q === 'q8' ? 32767 : 127), xs, n, q === 'q8' ? 1e-2 : 1e-4);
  got.sums?.forEach((sum, i) => assert.is(sum, got.quants.slice(i * 32, i * 32 + 32).reduce((a, b) => a + b, 0), `${name}: block ${i} sum`));
  return { xq, vals: blockValues(got) };
}

function check(q: Q, T: number, n: number, d: number, seed: number): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n, -3, 3), ws = floats(rand, d * n);
  for (const p of PLACEMENTS) {
    for (const [r0, r1] of [[0, d], [1, d], [Math.min(1, d), Math.max(1, d - 1)]]) {
      h.reset(p);
      const w = quantize(q, ws, n, d);
      const { xq, vals } = quantizeAct(q, xs, T, n);
      const out = h.f32('out', T * d);
      const what = `matmul_${q} T=${T} n=${n} d=${d} rows [${r0},${r1})`;
      h.call(what, [out], () => (q === 'q8' ? k.matmul_q8 : k.matmul_q4)(out.ptr, xq.ptr, w.ptr, T, n, d, r0, r1));
      // Block dots are exact integers; only the f32 scale products and the sum over blocks round.
      const tol = { rtol: 1e-5, atol: 1e-5 * Math.sqrt(n) };
      assertClose(h.label(what), h.read(out), matmul(vals, weightValues(q, bytesOf(w), n, d), T, blockCols(n), d, r0, r1), tol, d);
    }
  }
}

for (const q of ['q8', 'q4'] as const) {
  test(`quantize_${q} + matmul_${q}: every tail of n, of the 4-row group and of T`, () => {
    let seed = 1;
    for (const n of NS) for (const d of DS) check(q, 1 + (n % 4), n, d, seed++);
    for (const T of TS) check(q, T, 67, 9, seed++);
  });

  test(`matmul_${q}: larger shapes`, () => {
    check(q, 5, 257, 37, 11);
    check(q, 3, 172, 64, 12);
  });

  test(`gemv_${q}: rows of up to three stacked weights, each row into its own output (an absent weight has d = 0)`, () => {
    const n = 67, rand = rng(21), tol = { rtol: 1e-5, atol: 1e-5 * Math.sqrt(n) };
    const xs = floats(rand, n, -3, 3);
    for (const ds of [[5, 3, 9], [4, 7, 0]]) {
      const D = ds[0] + ds[1] + ds[2], wss = ds.map((d) => floats(rand, d * n));
      for (const p of PLACEMENTS) {
        for (const [r0, r1] of [[0, D], [2, 11], [5, 8], [6, D], [4, 4]]) {
          h.reset(p);
          const ws = ds.map((d, i) => (d > 0 ? quantize(q, wss[i], n, d) : undefined));
          const { xq, vals } = quantizeAct(q, xs, 1, n);
          const outs = ds.map((d, i) => h.f32(`out${i}`, d));
          const ptr = (b: Buf | undefined, d: number) => (b && d > 0 ? b.ptr : 0);
          const what = `gemv_${q} n=${n} d=${ds} rows [${r0},${r1})`;
          h.call(what, outs, () => k[`gemv_${q}`](ptr(outs[0], ds[0]), ptr(outs[1], ds[1]), ptr(outs[2], ds[2]), xq.ptr,
            ptr(ws[0], ds[0]), ptr(ws[1], ds[1]), ptr(ws[2], ds[2]), n, ds[0], ds[1], ds[2], r0, r1));
          let base = 0;
          ds.forEach((d, i) => {
            const lo = Math.min(d, Math.max(0, r0 - base)), hi = Math.min(d, Math.max(0, r1 - base));
            if (d > 0) assertClose(h.label(`${what} out${i}`), h.read(outs[i]), matmul(vals, weightValues(q, bytesOf(ws[i]!), n, d), 1, blockCols(n), d, lo, hi), tol, d);
            base += d;
          });
        }
      }
    }
  });

  test(`embed_${q}: every row equals the dequantized weight row`, () => {
    const n = 45, d = 7;
    h.reset('unaligned');
    const w = quantize(q, floats(rng(5), d * n), n, d);
    const vals = weightValues(q, bytesOf(w), n, d);
    const out = h.f32('out', n);
    for (let id = 0; id < d; id++) {
      h.call(`embed_${q} id=${id}`, [out], () => (q === 'q8' ? k.embed_q8 : k.embed_q4)(out.ptr, w.ptr, id, n, d));
      assertClose(h.label(`embed_${q} id=${id}`), h.read(out), vals.slice(id * 64, id * 64 + n).map(Math.fround), { rtol: 0, atol: 0 });
    }
  });
}

test('quantize: an all-zero block gets scale 0 and zero quants (no NaN from 0/0)', () => {
  h.reset('aligned');
  const ws = new Float32Array(40);
  ws[35] = 0.5;
  const w = quantize('q8', ws, 40, 1);
  const vals = weightValues('q8', bytesOf(w), 40, 1);
  assert.equal(Array.from(vals.slice(0, 32)), new Array(32).fill(0));
  assert.ok(Math.abs(vals[35] - 0.5) < 1e-7, `${vals[35]}`);
});

test.run();

// Block quantization (q8 / q4 weights; 16-bit activations for q8, 8-bit for q4) against ggml's definitions, and matmul_q8 / _q4
// and gemv_q8 / _q4 against a float64 loop over the same quantized values: every tail of n (zero-padded blocks), of the
// 4-row group and of T, partial row ranges whose other rows stay NaN, and row-chunked quantization.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, floats, harness, PLACEMENTS, refMatmul, rng, type Buf } from './harness.js';

const h = await harness();
const { k } = h;

type Q = 'q8' | 'q4';
const NS = [1, 5, 31, 32, 33, 64, 67, 172, 257];
const DS = [1, 3, 4, 5, 9];
const TS = [1, 3, 4, 5];

const nb = (n: number) => Math.ceil(n / 32);
const weightBytes = (q: Q, n: number, d: number) => d * nb(n) * (q === 'q8' ? 36 : 20);
const actBytes = (q: Q, T: number, n: number) => T * nb(n) * (q === 'q8' ? 68 : 40);

/** The quantized weight as numbers: element (r, j) = value · scale of its block, 0 in the padding. */
function dequantWeight(q: Q, w: Buf, n: number, d: number): { vals: Float64Array; quants: Int32Array; scales: Float32Array } {
  const B = nb(n), qb = q === 'q8' ? 32 : 16;
  const bytes = h.bytes().slice(w.ptr, w.ptr + w.bytes);
  const scales = new Float32Array(bytes.buffer.slice(d * B * qb, d * B * qb + 4 * d * B));
  const quants = new Int32Array(d * B * 32);
  for (let i = 0; i < d * B; i++) {
    for (let j = 0; j < 32; j++) {
      quants[i * 32 + j] = q === 'q8' ? (bytes[i * 32 + j] << 24) >> 24
        : ((j < 16 ? bytes[i * 16 + j] & 15 : bytes[i * 16 + j - 16] >> 4) - 8);
    }
  }
  const vals = new Float64Array(d * B * 32);
  for (let i = 0; i < vals.length; i++) vals[i] = quants[i] * scales[i >> 5];
  return { vals, quants, scales };
}

/** Quantize a (d, n) f32 matrix with the kernel, in row chunks of 2, into junk-filled memory. */
function quantize(q: Q, ws: Float32Array, n: number, d: number): Buf {
  const w = h.alloc('w (quantized)', weightBytes(q, n, d));
  h.bytes().fill(0xa5, w.ptr, w.ptr + w.bytes);
  const src = h.f32('src', ws);
  for (let r = 0; r < d; r += 2) {
    const r1 = Math.min(d, r + 2);
    (q === 'q8' ? k.quantize_q8 : k.quantize_q4)(w.ptr, src.ptr + r * n * 4, n, d, r, r1);
  }
  return w;
}

/** Each element within half a step of its source (q8), or one step at q4's clamped top code; padding is 0. */
function checkQuantized(q: Q, ws: Float32Array, n: number, d: number, w: Buf, what: string): void {
  const { quants, scales } = dequantWeight(q, w, n, d);
  const B = nb(n);
  for (let r = 0; r < d; r++) {
    for (let b = 0; b < B; b++) {
      const i = r * B + b, block = Array.from({ length: 32 }, (_, j) => (b * 32 + j < n ? ws[r * n + b * 32 + j] : 0));
      const amax = Math.max(...block.map(Math.abs));
      const max = block.find((v) => Math.abs(v) === amax)!;
      const want = q === 'q8' ? amax / 127 : max / -8;
      assert.ok(Math.abs(scales[i] - want) <= 1e-6 * Math.abs(want), `${what}: row ${r} block ${b}: scale ${scales[i]}, want ${want}`);
      for (let j = 0; j < 32; j++) {
        const qv = quants[i * 32 + j], v = block[j], step = Math.abs(scales[i]);
        const bound = q === 'q4' && qv === 7 ? step * 1.0001 : step * 0.5001;
        if (b * 32 + j >= n) assert.is(qv, 0, `${what}: padding at row ${r} col ${b * 32 + j} is ${qv}`);
        else assert.ok(Math.abs(qv * scales[i] - v) <= bound + 1e-12, `${what}: (${r}, ${b * 32 + j}) = ${v} quantized to ${qv} × ${scales[i]}`);
      }
    }
  }
}

/**
 * Activations as the weight type wants them (q8: quantize_act_q16, 16-bit; q4: quantize_act_q8, 8-bit with
 * block sums): quantize with the kernel, check each value within half a step and the sums, return the values.
 */
function quantizeAct(q: Q, xs: Float32Array, T: number, n: number): { xq: Buf; vals: Float64Array } {
  const B = nb(n), qmax = q === 'q8' ? 32767 : 127, qb = q === 'q8' ? 2 : 1;
  const x = h.f32('x', xs), xq = h.alloc('xq', actBytes(q, T, n));
  const name = q === 'q8' ? 'quantize_act_q16' : 'quantize_act_q8';
  h.call(`${name} T=${T} n=${n}`, [xq], () => k[name](xq.ptr, x.ptr, T, n));
  const bytes = h.bytes().slice(xq.ptr, xq.ptr + xq.bytes);
  const quants = q === 'q8' ? new Int16Array(bytes.buffer, 0, T * B * 32) : new Int8Array(bytes.buffer, 0, T * B * 32);
  const scales = new Float32Array(bytes.buffer.slice(T * B * 32 * qb, T * B * (32 * qb + 4)));
  const sums = new Int32Array(bytes.buffer.slice(T * B * 36, T * B * 40));
  const vals = new Float64Array(T * B * 32);
  for (let i = 0; i < T * B; i++) {
    const t = Math.floor(i / B);
    const block = Array.from({ length: 32 }, (_, j) => ((i % B) * 32 + j < n ? xs[t * n + (i % B) * 32 + j] : 0));
    const want = Math.max(...block.map(Math.abs)) / qmax;
    assert.ok(Math.abs(scales[i] - want) <= 1e-6 * want, `${name}: block ${i} scale ${scales[i]}, want ${want}`);
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const qv = quants[i * 32 + j];
      sum += qv;
      vals[i * 32 + j] = qv * scales[i];
      // Half a step, plus f32 rounding of x·(qmax/amax): ~qmax ulps, 0.2% of a step at 16 bits.
      assert.ok(Math.abs(qv) <= qmax && Math.abs(vals[i * 32 + j] - block[j]) <= scales[i] * (q === 'q8' ? 0.505 : 0.5001) + 1e-12,
        `${name}: (${t}, ${(i % B) * 32 + j}) = ${block[j]} → ${qv} × ${scales[i]}`);
    }
    if (q === 'q4') assert.is(sums[i], sum, `${name}: block ${i} sum`);
  }
  return { xq, vals };
}

function check(q: Q, T: number, n: number, d: number, seed: number): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n, -3, 3), ws = floats(rand, d * n);
  for (const p of PLACEMENTS) {
    for (const [r0, r1] of [[0, d], [1, d], [Math.min(1, d), Math.max(1, d - 1)]]) {
      h.reset(p);
      const w = quantize(q, ws, n, d);
      if (r0 === 0 && r1 === d) checkQuantized(q, ws, n, d, w, `quantize_${q} n=${n} d=${d}`);
      const { xq, vals } = quantizeAct(q, xs, T, n);
      const out = h.f32('out', T * d);
      const what = `matmul_${q} T=${T} n=${n} d=${d} rows [${r0},${r1})`;
      h.call(what, [out], () => (q === 'q8' ? k.matmul_q8 : k.matmul_q4)(out.ptr, xq.ptr, w.ptr, T, n, d, r0, r1));
      // Block dots are exact integers; only the f32 scale products and the sum over blocks round.
      const tol = { rtol: 1e-5, atol: 1e-5 * Math.sqrt(n) };
      assertClose(h.label(what), h.read(out), refMatmul(vals, dequantWeight(q, w, n, d).vals, T, nb(n) * 32, d, r0, r1), tol, d);
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
            if (d > 0) assertClose(h.label(`${what} out${i}`), h.read(outs[i]), refMatmul(vals, dequantWeight(q, ws[i]!, n, d).vals, 1, nb(n) * 32, d, lo, hi), tol, d);
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
    const { vals } = dequantWeight(q, w, n, d);
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
  const { vals } = dequantWeight('q8', w, 40, 1);
  assert.equal(Array.from(vals.slice(0, 32)), new Array(32).fill(0));
  assert.ok(Math.abs(vals[35] - 0.5) < 1e-7, `${vals[35]}`);
});

test.run();

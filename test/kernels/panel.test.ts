// The packed-panel float matmuls (matmul_f32p8 / _bf16p8 / _f16p8, and gemm_f16p8 through junk-filled scratch),
// their packers and embedding lookups,
// against float64 loops over the weights' exact values: every tail of n, of the 8-row panel, of the 4-token
// tile, partial row ranges (untouched rows stay NaN), packing in row chunks, and dirty padding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '../../kernels/ref/convert.js';
import { matmul, weightValues } from '../../kernels/ref/matmul.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Buf, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

type Kind = 'f32' | 'bf16' | 'f16';
const NS = [1, 3, 4, 5, 7, 31, 33, 67, 172, 257];
const DS = [1, 3, 8, 9, 21];
const TS = [1, 3, 4, 5, 9];

// As matmul.test.ts: f32 sums of n terms in [-1, 1] drift by about sqrt(n) ulps; the weights are exact.
const dotTol = (n: number): Tol => ({ rtol: 2e-6 * Math.sqrt(n), atol: 2e-6 * Math.sqrt(n) });

/** d·n weights in [-1, 1] as the dtype stores them (bits) and their exact values. Some f16 are subnormal. */
function weights(kind: Kind, rand: () => number, count: number): { bits: Float32Array | Uint16Array; vals: Float64Array } {
  const f = floats(rand, count);
  if (kind === 'f32') return { bits: f, vals: Float64Array.from(f) };
  if (kind === 'f16') for (let i = 0; i < count; i += 7) f[i] *= 1e-4; // reach the subnormal range (< 6.1e-5)
  const bits = Uint16Array.from(f, (v) => (kind === 'bf16' ? encodeBf16(v) : encodeF16(v)));
  return { bits, vals: Float64Array.from(bits, (b) => (kind === 'bf16' ? decodeBf16(b) : decodeF16(b))) };
}

const packedBytes = (kind: Kind, n: number, d: number) => Math.ceil(d / 8) * 8 * n * (kind === 'f32' ? 4 : 2);

/**
 * Pack W into a fresh buffer whose bytes start as junk, in row chunks of `chunk` rows, as the loader does,
 * and check the panels hold W's values where kernels/ref/matmul.ts's layout says.
 */
function pack(kind: Kind, bits: Float32Array | Uint16Array, n: number, d: number, chunk: number): Buf {
  const w = h.alloc('w (packed)', packedBytes(kind, n, d));
  h.bytes().fill(0xa5, w.ptr, w.ptr + w.bytes);
  const src = kind === 'f32' ? h.f32('src', bits as Float32Array) : h.u16('src', bits as Uint16Array);
  const eb = kind === 'f32' ? 4 : 2;
  for (let r = 0; r < d; r += chunk) {
    const r1 = Math.min(d, r + chunk);
    if (kind === 'f32') k.pack_f32p8(w.ptr, src.ptr + r * n * eb, n, d, r, r1);
    else k.pack_u16p8(w.ptr, src.ptr + r * n * eb, n, d, r, r1);
  }
  const rowMajor = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
  assertClose(h.label(`pack ${kind} n=${n} d=${d} in chunks of ${chunk}`), Float32Array.from(weightValues(`${kind}p8`, h.bytes().slice(w.ptr, w.ptr + w.bytes), n, d)),
    weightValues(kind, rowMajor, n, d), { rtol: 0, atol: 0 }, n);
  return w;
}

const matmulOf = (kind: Kind) => (kind === 'f32' ? k.matmul_f32p8 : kind === 'bf16' ? k.matmul_bf16p8 : k.matmul_f16p8);

function rowRanges(d: number): [number, number][] {
  const ranges: [number, number][] = [[0, d], [Math.min(1, d), Math.min(1, d)]];
  if (d >= 3) ranges.push([1, d - 1]);
  if (d >= 9) ranges.push([3, 11 > d ? d : 11], [8, d]);
  return ranges;
}

/** gemm: f16 through gemm_f16p8, its panels widened into scratch that starts as junk. */
function check(kind: Kind, T: number, n: number, d: number, seed: number, gemm = false): void {
  const rand = rng(seed);
  const xs = floats(rand, T * n);
  const { bits, vals } = weights(kind, rand, d * n);
  for (const p of PLACEMENTS) {
    for (const [r0, r1] of rowRanges(d)) {
      h.reset(p);
      const w = pack(kind, bits, n, d, p === 'aligned' ? 3 : 16); // partial panels, or whole ones (the transposing path)
      const x = h.f32('x', xs), out = h.f32('out', T * d);
      if (gemm) {
        const s = h.alloc('scratch', n * 32);
        h.bytes().fill(0xa5, s.ptr, s.ptr + s.bytes);
        const what = `gemm_f16p8 T=${T} n=${n} d=${d} rows [${r0},${r1})`;
        h.call(what, [out, s], () => k.gemm_f16p8(out.ptr, x.ptr, w.ptr, s.ptr, T, n, d, r0, r1));
        assertClose(h.label(what), h.read(out), matmul(xs, vals, T, n, d, r0, r1), dotTol(n), d);
        continue;
      }
      const what = `matmul_${kind}p8 T=${T} n=${n} d=${d} rows [${r0},${r1})`;
      h.call(what, [out], () => matmulOf(kind)(out.ptr, x.ptr, w.ptr, T, n, d, r0, r1));
      assertClose(h.label(what), h.read(out), matmul(xs, vals, T, n, d, r0, r1), dotTol(n), d);
    }
  }
}

for (const kind of ['f32', 'bf16', 'f16'] as const) {
  test(`matmul_${kind}p8: every tail of n, of the panel (d) and of the token tile (T)`, () => {
    let seed = 1;
    for (const n of NS) for (const d of DS) check(kind, n % 2 ? 1 : 5, n, d, seed++);
    for (const T of TS) for (const d of [9, 21]) check(kind, T, 33, d, seed++);
  });

  test(`matmul_${kind}p8: larger shapes`, () => {
    check(kind, 9, 257, 67, 11);
    check(kind, 4, 64, 172, 12);
    check(kind, 13, 172, 64, 13);
  });

  test(`embed_${kind}p8: every row of a packed table equals the stored row exactly`, () => {
    const n = 13, d = 19;
    const { bits, vals } = weights(kind, rng(21), d * n);
    h.reset('unaligned');
    const w = pack(kind, bits, n, d, 8);
    const out = h.f32('out', n);
    const embed = kind === 'f32' ? k.embed_f32p8 : kind === 'bf16' ? k.embed_bf16p8 : k.embed_f16p8;
    for (let id = 0; id < d; id++) {
      h.call(`embed_${kind}p8 id=${id}`, [out], () => embed(out.ptr, w.ptr, id, n));
      assertClose(h.label(`embed_${kind}p8 id=${id}`), h.read(out), vals.slice(id * n, (id + 1) * n), { rtol: 0, atol: 0 });
    }
  });
}

test('gemm_f16p8: every tail of n, of the panel (d) and of the token tile (T), junk scratch', () => {
  let seed = 101;
  for (const n of NS) for (const d of DS) check('f16', n % 2 ? 2 : 5, n, d, seed++, true);
  for (const T of TS) for (const d of [9, 21]) check('f16', T, 33, d, seed++, true);
  check('f16', 9, 257, 67, 111, true);
  check('f16', 13, 172, 64, 112, true);
});

test('pack_f32p8: padding rows of the last panel are zeroed, whatever the memory held', () => {
  const n = 5, d = 11;
  h.reset('aligned');
  const w = pack('f32', floats(rng(3), d * n), n, d, 4);
  const got = h.read(w);
  for (let k2 = 0; k2 < n; k2++) for (let r = d; r < 16; r++) assert.is(got[n * 8 + k2 * 8 + (r & 7)], 0, `row ${r} col ${k2}`);
});

test.run();

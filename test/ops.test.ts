// The Ops wrappers the model families call (src/ops.ts): each passes its options through to the kernel as the
// float64 references in kernels/ref/ say (the kernels' own edge cases are in test/kernels/), keeps its
// defaults, and throws ShapeError, naming the op, for shapes it cannot take.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scale, softcap } from '../kernels/ref/act.js';
import { attention } from '../kernels/ref/attention.js';
import { encoderAttention } from '../kernels/ref/encoder_attention.js';
import { rmsnormHeads } from '../kernels/ref/norm.js';
import { rope } from '../kernels/ref/rope.js';
import { geglu, geluTanh } from '../kernels/ref/gelu.js';
import { Arena, type Tensor } from '../src/runtime/arena.js';
import { ShapeError } from '../src/errors.js';
import { encoderAttentionFloats, Ops } from '../src/runtime/ops.js';
import { kernelModule } from '../src/runtime/wasm.js';
import { rng } from './paths.js';

const arena = new Arena(await kernelModule());
const ops = new Ops(arena.kernels);

/** An arena tensor (rows, cols) holding data, or NaN when only a size is given. */
function tensor(name: string, rows: number, cols: number, data?: ArrayLike<number>): Tensor {
  const t = arena.tensor(name, rows, cols);
  const view = arena.f32(t.ptr, rows * cols);
  if (data) view.set(data); else view.fill(NaN);
  return t;
}

/** A (rows, cols) f16 cache, all zero bits. */
function f16Cache(name: string, rows: number, cols: number): Tensor {
  const ptr = arena.alloc(name, rows * cols * 2);
  arena.bytes(ptr, rows * cols * 2).fill(0);
  return { name, ptr, shape: [rows, cols], dtype: 'f16' };
}

const read = (t: Tensor, n = t.shape.reduce((a, b) => a * b, 1)) => Float32Array.from(arena.f32(t.ptr, n));
const randoms = (n: number, seed: number, lo = -1, hi = 1) => { const r = rng(seed); return Float32Array.from({ length: n }, () => lo + (hi - lo) * r()); };

/** got within tol·(1 + |want|) of want; a NaN in want (an element the op must not write) must be NaN in got. */
function assertNear(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  const same = (g: number, w: number) => (Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= tol * (1 + Math.abs(w)));
  const bad = Array.from(want, (w, i) => (same(got[i], w) ? '' : `[${i}] want ${w} got ${got[i]}`)).filter(Boolean);
  assert.ok(bad.length === 0 && got.length === want.length, `${what}: ${bad.slice(0, 5).join(', ')}`);
}

function throwsShape(what: string, op: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ShapeError, what);
    assert.match((e as Error).message, `${op}:`, what);
    return;
  }
  assert.unreachable(`${what}: no ShapeError`);
}

test('geluTanh, geglu, softcap, scale: over the first T rows only', () => {
  const mark = arena.mark();
  const T = 2, n = 7, xs = randoms(3 * n, 1, -4, 4), us = randoms(3 * n, 2);
  const x = tensor('x', 3, n, xs), up = tensor('up', 3, n, us), out = tensor('out', 3, n);
  ops.geluTanh(out, x, T);
  assertNear('geluTanh', read(out), [...geluTanh(xs.subarray(0, T * n)), ...new Array(n).fill(NaN)]);
  ops.geglu(out, x, up, T);
  assertNear('geglu', read(out).subarray(0, T * n), geglu(xs.subarray(0, T * n), us));
  ops.softcap(x, T, 3);
  assertNear('softcap', read(x), [...softcap(xs.subarray(0, T * n), 3), ...xs.subarray(T * n)]);
  ops.scale(up, 3, 0.5);
  assertNear('scale', read(up), scale(us, 0.5));
  throwsShape('geglu with a narrower up', 'geglu', () => ops.geglu(out, x, { ...up, shape: [3, n - 1] }, T));
  throwsShape('softcap with cap 0', 'softcap', () => ops.softcap(x, T, 0));
  throwsShape('scale past the tensor', 'scale', () => ops.scale(x, 4, 2));
  arena.release(mark);
});

test('attention + storeKv: a ring of window + T − 1 rows, filled chunk by chunk, equals the plain cache with the window', () => {
  const nHeads = 4, nKv = 2, hd = 8, kvDim = nKv * hd, window = 5, chunks = [3, 4, 1, 1, 4, 2], maxT = 4, R = window + maxT - 1;
  for (const dtype of ['f32', 'f16'] as const) {
    const mark = arena.mark();
    const cache = (name: string, rows: number) => (dtype === 'f16' ? f16Cache(name, rows, kvDim) : tensor(name, rows, kvDim));
    const kc = cache('kc', 32), vc = cache('vc', 32), kr = cache('kr', R), vr = cache('vr', R);
    const att = tensor('att', 1, 32), plain = tensor('plain', maxT, nHeads * hd), ring = tensor('ring', maxT, nHeads * hd);
    const keys: number[] = [], values: number[] = [];
    let pos0 = 0, seed = 10;
    for (const T of chunks) {
      const ks = randoms(T * kvDim, seed++), vs = randoms(T * kvDim, seed++), qs = randoms(T * nHeads * hd, seed++, -3, 3);
      const k = tensor('k', T, kvDim, ks), v = tensor('v', T, kvDim, vs), q = tensor('q', T, nHeads * hd, qs);
      ops.storeKv(kc, k, pos0, T); ops.storeKv(vc, v, pos0, T);
      ops.storeKv(kr, k, pos0, T, R); ops.storeKv(vr, v, pos0, T, R);
      ops.attention(plain, q, kc, vc, att, nHeads, nKv, hd, pos0, T, { window });
      ops.attention(ring, q, kr, vr, att, nHeads, nKv, hd, pos0, T, { window, ringRows: R });
      const what = `${dtype} positions ${pos0}..${pos0 + T - 1}`;
      assertNear(`ring vs plain, ${what}`, read(ring, T * nHeads * hd), read(plain, T * nHeads * hd), 1e-6);
      keys.push(...ks); values.push(...vs);
      if (dtype === 'f32') assertNear(`plain vs reference, ${what}`, read(plain, T * nHeads * hd), attention(qs, keys, values, { nHeads, nKvHeads: nKv, headDim: hd, pos0, T, window }));
      pos0 += T;
    }
    arena.release(mark);
  }
});

test('attention: the defaults are 1/√headDim, no softcap, no window, row = position', () => {
  const mark = arena.mark();
  const nHeads = 2, hd = 6, pos0 = 9, T = 3;
  const kc = tensor('kc', 16, hd, randoms(16 * hd, 20)), vc = tensor('vc', 16, hd, randoms(16 * hd, 21)), q = tensor('q', T, nHeads * hd, randoms(T * nHeads * hd, 22, -3, 3));
  const att = tensor('att', 1, 16), a = tensor('a', T, nHeads * hd), b = tensor('b', T, nHeads * hd);
  ops.attention(a, q, kc, vc, att, nHeads, 1, hd, pos0, T);
  ops.attention(b, q, kc, vc, att, nHeads, 1, hd, pos0, T, { scale: 1 / Math.sqrt(hd), softcap: 0, window: 0, ringRows: 16 });
  assert.equal(read(a), read(b));
  ops.attention(b, q, kc, vc, att, nHeads, 1, hd, pos0, T, { window: pos0 + T });
  assert.equal(read(a), read(b), 'a window as long as the context');
  ops.attention(b, q, kc, vc, att, nHeads, 1, hd, pos0, T, { scale: 0.5, softcap: 1 });
  assert.not.equal(read(a), read(b), 'scale and softcap change the output');
  arena.release(mark);
});

test('attention, storeKv: shapes a ring or window cannot take throw ShapeError', () => {
  const mark = arena.mark();
  const kc = tensor('kc', 8, 4), vc = tensor('vc', 8, 4), q = tensor('q', 4, 8), out = tensor('out', 4, 8), x = tensor('x', 4, 4);
  const att = tensor('att', 1, 32), small = tensor('att', 1, 3);
  const attend = (pos0: number, T: number, opts: object, s = att) => () => ops.attention(out, q, kc, vc, s, 2, 1, 4, pos0, T, opts);
  attend(20, 4, { window: 5, ringRows: 8 })(); // 5 + 4 − 1 = 8 rows: enough
  throwsShape('a ring under window + T − 1 rows', 'attention', attend(20, 4, { window: 6, ringRows: 8 }));
  throwsShape('a ring larger than the cache', 'attention', attend(20, 1, { window: 4, ringRows: 9 }));
  throwsShape('positions past a plain cache, window or not', 'attention', attend(6, 3, { window: 2 }));
  throwsShape('a negative window', 'attention', attend(0, 1, { window: -1 }));
  throwsShape('scores scratch under 32 floats and the window', 'attention', attend(10, 1, { window: 4, ringRows: 4 }, small));
  attend(10, 1, { window: 3, ringRows: 3 }, small)();
  const xs = randoms(16, 30);
  arena.f32(x.ptr, 16).set(xs);
  arena.f32(kc.ptr, 32).fill(NaN);
  ops.storeKv(kc, x, 33, 4, 5); // positions 33..36 → rows 3, 4, 0, 1
  assert.equal(Array.from(read(kc, 20)), [...xs.slice(8, 16), NaN, NaN, NaN, NaN, ...xs.slice(0, 8)].map(Math.fround));
  throwsShape('more rows than the ring', 'storeKv', () => ops.storeKv(kc, x, 30, 4, 3));
  throwsShape('a plain store past the cache', 'storeKv', () => ops.storeKv(kc, x, 6, 4));
  arena.release(mark);
});

test('encoderAttention: defaults are bidirectional with 1/√headDim; scale and band pass through', () => {
  const mark = arena.mark();
  const lens = [5, 3], N = 8, nHeads = 2, hd = 4, dim = nHeads * hd;
  const qs = randoms(N * dim, 40, -3, 3), ks = randoms(N * dim, 41), vs = randoms(N * dim, 42);
  const q = tensor('q', N, dim, qs), k = tensor('k', N, dim, ks), v = tensor('v', N, dim, vs), out = tensor('out', N, dim);
  const att = tensor('att', 1, encoderAttentionFloats(5, hd)), offs = arena.tensor('offs', 3);
  new Int32Array(arena.memory.buffer, offs.ptr, 3).set([0, 5, 8]);
  ops.encoderAttention(out, q, k, v, att, offs, [0, 5, 8], nHeads, hd);
  assertNear('defaults', read(out), encoderAttention(qs, ks, vs, { lens, nHeads, headDim: hd }));
  ops.encoderAttention(out, q, k, v, att, offs, [0, 5, 8], nHeads, hd, { scale: 0.7, left: 1, right: 0 });
  assertNear('scale 0.7, band [i − 1, i]', read(out), encoderAttention(qs, ks, vs, { lens, nHeads, headDim: hd, scale: 0.7, left: 1, right: 0 }));
  throwsShape('a fractional band', 'encoderAttention', () => ops.encoderAttention(out, q, k, v, att, offs, [0, 5, 8], nHeads, hd, { left: 1.5 }));
  arena.release(mark);
});

test('rope: rotDim defaults to headDim; a partial rotDim needs cos, sin of rotDim / 2', () => {
  const mark = arena.mark();
  const nHeads = 2, hd = 8, T = 2, xs = randoms(T * nHeads * hd, 50), angles = randoms(T * 4, 51, -3, 3);
  const cs = angles.map(Math.cos), sn = angles.map(Math.sin);
  const x = tensor('x', T, nHeads * hd, xs), cos = tensor('cos', T, 4, cs), sin = tensor('sin', T, 4, sn);
  ops.rope(x, cos, sin, nHeads, hd, T);
  assertNear('rotDim = headDim', read(x), rope(xs, cs, sn, nHeads, hd, T));
  arena.f32(x.ptr, xs.length).set(xs);
  const c2 = tensor('c2', T, 2, cs.subarray(0, 2 * T)), s2 = tensor('s2', T, 2, sn.subarray(0, 2 * T));
  ops.rope(x, c2, s2, nHeads, hd, T, 4);
  assertNear('rotDim 4', read(x), rope(xs, cs.subarray(0, 2 * T), sn.subarray(0, 2 * T), nHeads, hd, T, 4));
  throwsShape('cos for the whole head with rotDim 4', 'rope', () => ops.rope(x, cos, sin, nHeads, hd, T, 4));
  throwsShape('an odd rotDim', 'rope', () => ops.rope(x, c2, s2, nHeads, hd, T, 5));
  arena.release(mark);
});

test('rmsnormHeads: each head on its own, in place, over the first T rows', () => {
  const mark = arena.mark();
  const nHeads = 3, hd = 4, T = 2, xs = randoms(3 * nHeads * hd, 60, -5, 5), ws = randoms(hd, 61);
  const x = tensor('x', 3, nHeads * hd, xs), w = tensor('w', 1, hd, ws);
  const w1 = { ...w, shape: [hd] };
  ops.rmsnormHeads(x, x, w1, nHeads, T, 1e-6);
  assertNear('rmsnormHeads', read(x), [...rmsnormHeads(xs, ws, nHeads, hd, T, 1e-6), ...xs.subarray(T * nHeads * hd)]);
  throwsShape('a weight that is not one head long', 'rmsnormHeads', () => ops.rmsnormHeads(x, x, { ...w1, shape: [hd + 1] }, nHeads, T, 1e-6));
  arena.release(mark);
});

test.run();

// The Ops wrappers the model families call (src/ops.ts): each passes its options through to the kernel as the
// float64 references in kernels/ref/ say (the kernels' own edge cases are in test/kernels/), keeps its
// defaults, and throws ShapeError, naming the op, for shapes it cannot take.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scale, softcap } from '../kernels/ref/act.js';
import { geglu, geluTanh } from '../kernels/ref/gelu.js';
import { Arena, type Tensor } from '../src/arena.js';
import { ShapeError } from '../src/errors.js';
import { Ops } from '../src/ops.js';
import { kernelModule } from '../src/wasm.js';
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

test.run();

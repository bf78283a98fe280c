// The worker pool itself (src/runtime/threads.ts): chunking, every row done exactly once by some thread, the
// per-thread scratch offset, fewer threads than the pool, and the thread-count option's validation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Arena } from '../src/runtime/arena.js';
import { OptionError } from '../src/errors.js';
import { chunkRows, defaultSpawner, resolveThreads, ThreadPool } from '../src/runtime/threads.js';
import { kernelModule } from '../src/runtime/wasm.js';

async function withPool(threads: number, body: (arena: Arena, pool: ThreadPool) => void): Promise<void> {
  const km = await kernelModule({ shared: true });
  const arena = new Arena(km, undefined, 1 << 20);
  const pool = await ThreadPool.start(threads, km.module, arena.memory, arena.kernels, await defaultSpawner());
  try {
    body(arena, pool);
  } finally {
    await pool.close();
  }
}

/** A seeded fill, so a failure reproduces. */
function fill(a: Float32Array, seed: number): void {
  let s = seed;
  for (let i = 0; i < a.length; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32) * 2 - 1; }
}

test('chunkRows: chunks are multiples of align and cover the range in at most 4 per thread', () => {
  for (const [lo, hi, nth, align] of [[0, 576, 2, 16], [0, 49152, 2, 16], [0, 9, 2, 1], [3, 1000, 3, 16], [0, 17, 4, 16]]) {
    const c = chunkRows(lo, hi, nth, align);
    assert.is(c % align, 0, `chunk ${c} of [${lo}, ${hi}) by ${nth}`);
    assert.ok(Math.ceil((hi - lo) / c) <= 4 * nth && c * 4 * nth >= hi - lo, `chunk ${c} of [${lo}, ${hi}) by ${nth}`);
  }
});

test('matvec_f32 split over 3 threads (more than the cores) equals one thread, rows outside [lo, hi) untouched', async () => {
  await withPool(3, (arena, pool) => {
    const n = 67, d = 1001, lo = 5, hi = 999;
    const w = arena.alloc('w', d * n * 4), x = arena.alloc('x', n * 4), one = arena.alloc('one', d * 4), many = arena.alloc('many', d * 4);
    fill(arena.f32(w, d * n), 1); fill(arena.f32(x, n), 2);
    arena.f32(one, d).fill(NaN); arena.f32(many, d).fill(NaN);
    arena.kernels.matvec_f32(one, x, w, n, lo, hi);
    for (const [nth, align] of [[3, 16], [2, 16], [3, 1]]) {
      arena.f32(many, d).fill(NaN);
      pool.run('matvec_f32', [many, x, w, n], lo, hi, nth, align);
      const a = arena.f32(one, d), b = arena.f32(many, d);
      for (let r = 0; r < d; r++) {
        assert.ok(Object.is(a[r], b[r]), `nth ${nth} align ${align}: row ${r}: want ${a[r]} got ${b[r]}`);
      }
    }
    assert.is(pool.jobs, 3);
  });
});

test('attention split by heads: each thread scores into its own scratch row, result equals one thread', async () => {
  await withPool(2, (arena, pool) => {
    const nHeads = 6, nKv = 2, hd = 8, T = 3, pos0 = 5, ctx = 16, kvDim = nKv * hd;
    const q = arena.alloc('q', T * nHeads * hd * 4), kc = arena.alloc('kc', ctx * kvDim * 4), vc = arena.alloc('vc', ctx * kvDim * 4);
    const att = arena.alloc('att', 2 * ctx * 4), one = arena.alloc('one', T * nHeads * hd * 4), many = arena.alloc('many', T * nHeads * hd * 4);
    fill(arena.f32(q, T * nHeads * hd), 3); fill(arena.f32(kc, ctx * kvDim), 4); fill(arena.f32(vc, ctx * kvDim), 5);
    // Plain, then a window of 4 over a ring of 6 rows (positions 5..7 wrap to rows 5, 0, 1).
    for (const [window, ring] of [[0, ctx], [4, 6]]) {
      const args = (out: number) => [out, q, kc, vc, att, nHeads, nKv, hd, pos0, T, 0.3, 0, window, ring];
      arena.f32(one, T * nHeads * hd).fill(NaN); arena.f32(many, T * nHeads * hd).fill(NaN);
      (arena.kernels.attention_f32 as (...a: number[]) => void)(...args(one), 0, nHeads);
      pool.run('attention_f32', args(many), 0, nHeads, 2, 1, { arg: 4, strideBytes: ctx * 4 });
      assert.equal(Array.from(arena.f32(many, T * nHeads * hd)), Array.from(arena.f32(one, T * nHeads * hd)), `window ${window} ring ${ring}`);
    }
  });
});

test('resolveThreads: a given count wins, TIDE_THREADS next, bad values name their source', async () => {
  const saved = process.env.TIDE_THREADS;
  try {
    process.env.TIDE_THREADS = '3';
    assert.is(await resolveThreads(), 3);
    assert.is(await resolveThreads(1), 1);
    process.env.TIDE_THREADS = 'two';
    try {
      await resolveThreads();
      assert.unreachable('TIDE_THREADS=two accepted');
    } catch (e) {
      assert.instance(e, OptionError);
      assert.match((e as Error).message, 'TIDE_THREADS two must be an integer');
    }
    delete process.env.TIDE_THREADS;
    assert.ok((await resolveThreads()) >= 1);
  } finally {
    if (saved === undefined) delete process.env.TIDE_THREADS; else process.env.TIDE_THREADS = saved;
  }
});

test.run();

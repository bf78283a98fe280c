// Decode GEMV at 1 or 2 threads through Ops, f32 vs bf16 vs f16 panels, over weight sets of growing size
// (from in-cache to well past the L3), like a decode step visiting every matrix once: wall-clock medians
// of interleaved rounds, ratio to f32 per round.
// node --experimental-wasm-relaxed-simd --import tsx bench/gemv.ts [--threads 2] [--rounds 9]
import { parseArgs } from 'node:util';
import { Arena, type Dtype, type Tensor } from '../src/runtime/arena.js';
import { Ops } from '../src/runtime/ops.js';
import { defaultSpawner, ThreadPool } from '../src/runtime/threads.js';
import { kernelModule } from '../src/runtime/wasm.js';
import { f32ToF16 } from './f16.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '9' }, counts: { type: 'string', default: '1,4,16' } } });
const threads = Number(values.threads), rounds = Number(values.rounds);
const km = await kernelModule({ shared: threads > 1 });
const arena = new Arena(km, 2 ** 32 - 2 ** 16, 0);
const pool = threads > 1 ? await ThreadPool.start(threads, km.module, arena.memory, arena.kernels, await defaultSpawner()) : undefined;
const ops = new Ops(arena.kernels, pool, threads);
const k = arena.kernels;

const n = 896, d = 4864; // Qwen2.5-0.5B's gate/up: 17.4 MB as f32
/** How many such matrices one step visits (--counts): 1 is 17 MB as f32, 16 is 279 MB. */
const COUNTS = values.counts.split(',').map(Number);
const KINDS: Dtype[] = ['f32p8', 'bf16p8', 'f16p8'];

const stage = arena.alloc('stage', d * n * 4);
const src = new Float32Array(d * n).map(() => (Math.random() * 2 - 1) * 0.05);
const mats: Record<string, Tensor[]> = { f32p8: [], bf16p8: [], f16p8: [] };
const maxCount = Math.max(...COUNTS);
for (const dt of KINDS) {
  for (let i = 0; i < maxCount; i++) {
    const bytes = Math.ceil(d / 8) * 8 * n * (dt === 'f32p8' ? 4 : 2);
    const ptr = arena.alloc(`${dt}${i}`, bytes);
    if (dt === 'f32p8') {
      arena.f32(stage, d * n).set(src);
      k.pack_f32p8(ptr, stage, n, d, 0, d);
    } else {
      const u = new Uint16Array(arena.memory.buffer, stage, d * n), bits = new Uint32Array(src.buffer);
      for (let j = 0; j < d * n; j++) u[j] = dt === 'bf16p8' ? bits[j] >>> 16 : f32ToF16(src[j]);
      k.pack_u16p8(ptr, stage, n, d, 0, d);
    }
    mats[dt].push({ name: `${dt}${i}`, ptr, shape: [d, n], dtype: dt });
  }
}
const x = arena.tensor('x', 1, n), out = arena.tensor('out', 1, d);
arena.f32(x.ptr, n).set(new Float32Array(n).map(() => Math.random() * 2 - 1));

const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`decode GEMV, ${km.flavor}, ${threads} thread(s), ${rounds} rounds: GB/s of weights read (wall-clock median), ratio to f32 (median of per-round ratios)`);
for (const count of COUNTS) {
  const reps = Math.max(3, Math.round(64 / count));
  const gbs: Record<string, number[]> = { f32p8: [], bf16p8: [], f16p8: [] }, secs: Record<string, number[]> = { f32p8: [], bf16p8: [], f16p8: [] };
  const step = (dt: Dtype) => { for (let i = 0; i < count; i++) ops.matmul(out, x, mats[dt][i], 1); };
  for (const dt of KINDS) step(dt);
  for (let r = 0; r < rounds; r++) {
    for (const dt of KINDS) {
      const t0 = performance.now();
      for (let j = 0; j < reps; j++) step(dt);
      const s = (performance.now() - t0) / 1e3;
      secs[dt].push(s);
      gbs[dt].push((reps * count * d * n * (dt === 'f32p8' ? 4 : 2)) / s / 1e9);
    }
  }
  const f32MB = (count * d * n * 4) / 2 ** 20;
  console.log(`${count} × ${d}×${n} (${f32MB.toFixed(0)} MiB f32): ` + KINDS.map((dt) =>
    `${dt} ${med(gbs[dt]).toFixed(1)} GB/s` + (dt === 'f32p8' ? '' : ` (${med(secs[dt].map((s, i) => secs.f32p8[i] / s)).toFixed(2)}× f32)`)).join('  '));
}
await pool?.close();

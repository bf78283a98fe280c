// Kernel microbench: the float panel matmuls (f32, bf16, f16 widened in registers, f16w: gemm_f16p8) side by side on one thread, by CPU time,
// rounds interleaved so background load hits every kernel alike; prints the median GFLOP/s per kernel
// and each one's ratio to f32 within the same round (median of the ratios).
// node --experimental-wasm-relaxed-simd --import tsx bench/kernels.ts [--rounds 7] [--simd baseline|relaxed]
import { parseArgs } from 'node:util';
import { kernelModule, instantiate, type SimdFlavor } from '../src/runtime/wasm.js';
import { f32ToF16 } from './f16.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, simd: { type: 'string' }, only: { type: 'string' } } });
const rounds = Number(values.rounds);

/** (label, T, n, d): SmolLM2-135M gate/up and down at a 128-token prefill and at decode; MiniLM's FFN at 128 tokens. */
const SHAPES: [string, number, number, number][] = [
  ['smollm2 up   T=2    ', 2, 576, 1536],
  ['smollm2 up   T=3    ', 3, 576, 1536],
  ['smollm2 up   T=4    ', 4, 576, 1536],
  ['smollm2 up   prefill', 128, 576, 1536],
  ['smollm2 down prefill', 128, 1536, 576],
  ['minilm  up   prefill', 128, 384, 1536],
  ['minilm  qkvo T=512  ', 512, 384, 384],
  ['minilm  up   T=512  ', 512, 384, 1536],
  ['minilm  down T=512  ', 512, 1536, 384],
  ['smollm2 up   decode ', 1, 576, 1536],
  ['qwen0.5 up   decode ', 1, 896, 4864],
];

const KINDS = ['f32', 'bf16', 'f16', 'f16w'] as const;
type Kind = (typeof KINDS)[number];

const { module, flavor } = await kernelModule({ simd: values.simd as SimdFlavor | undefined });
const maxBytes = 64 << 20;
const memory = new WebAssembly.Memory({ initial: (maxBytes * 2) >> 16 });
const k = instantiate(module, memory);

let top = 1 << 16;
const alloc = (bytes: number) => { const p = top; top = (top + bytes + 63) & ~63; return p; };

function run(only?: string): void {
  console.log(`kernels: ${flavor}, 1 thread, ${rounds} rounds, GFLOP/s by CPU time (median), ratio to f32 (median of per-round ratios)`);
  for (const [label, T, n, d] of SHAPES) {
    if (only && !label.includes(only)) continue;
    top = 1 << 16;
    const src = new Float32Array(d * n).map(() => (Math.random() * 2 - 1) * 0.05);
    const xs = new Float32Array(T * n).map(() => Math.random() * 2 - 1);
    const stage = alloc(d * n * 4);
    new Float32Array(memory.buffer, stage, d * n).set(src);
    const wf = alloc(Math.ceil(d / 8) * 8 * n * 4);
    k.pack_f32p8(wf, stage, n, d, 0, d);
    const w: Record<Kind, number> = { f32: wf, bf16: 0, f16: 0, f16w: 0 };
    for (const kind of ['bf16', 'f16'] as const) {
      const u = new Uint16Array(memory.buffer, stage, d * n);
      const bits = new Uint32Array(src.buffer);
      for (let i = 0; i < d * n; i++) u[i] = kind === 'bf16' ? bits[i] >>> 16 : f32ToF16(src[i]);
      w[kind] = alloc(Math.ceil(d / 8) * 8 * n * 2);
      k.pack_u16p8(w[kind], stage, n, d, 0, d);
    }
    w.f16w = w.f16;
    const x = alloc(T * n * 4), out = alloc(T * d * 4), scratch = alloc(n * 32);
    new Float32Array(memory.buffer, x, T * n).set(xs);
    const fn: Record<Kind, () => void> = {
      f32: () => k.matmul_f32p8(out, x, w.f32, T, n, d, 0, d),
      bf16: () => k.matmul_bf16p8(out, x, w.bf16, T, n, d, 0, d),
      f16: () => k.matmul_f16p8(out, x, w.f16, T, n, d, 0, d),
      f16w: () => k.gemm_f16p8(out, x, w.f16w, scratch, T, n, d, 0, d),
    };
    // Enough reps for ~40 ms a measurement at ~40 GFLOP/s.
    const reps = Math.max(1, Math.round(40e-3 * 40e9 / (2 * T * n * d)));
    const g: Record<Kind, number[]> = { f32: [], bf16: [], f16: [], f16w: [] };
    for (const kind of KINDS) for (let i = 0; i < reps; i++) fn[kind]();
    for (let r = 0; r < rounds; r++) {
      for (const kind of KINDS) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) fn[kind]();
        const c = process.cpuUsage(c0), s = (c.user + c.system) / 1e6;
        g[kind].push((2 * T * n * d * reps) / s / 1e9);
      }
    }
    const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
    const ratio = (kind: Kind) => med(g[kind].map((v, i) => v / g.f32[i]));
    console.log(`${label} T=${T} n=${n} d=${d}: ` + KINDS.map((kind) => `${kind} ${med(g[kind]).toFixed(1)}` + (kind === 'f32' ? '' : ` (${ratio(kind).toFixed(2)}×)`)).join('  '));
  }
}

run(values.only);

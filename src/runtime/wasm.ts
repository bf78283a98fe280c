// Loads the kernel module: relaxed SIMD where the engine validates it, baseline SIMD128 otherwise.
import { kernelFile, type SimdFlavor } from './kernel-files.js';
import { nodeFs } from '../node-parts.js';

/** The kernels' wasm ABI (kernels/index.ts). Addresses are byte offsets into the arena's memory. */
export interface Kernels {
  matvec_f32(out: number, x: number, w: number, n: number, r0: number, r1: number): void;
  matmul_f32(out: number, x: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  rmsnorm_f32(out: number, x: number, w: number, n: number, T: number, eps: number): void;
  rope_f32(x: number, cos: number, sin: number, nHeads: number, headDim: number, T: number): void;
  attention_f32(out: number, q: number, kc: number, vc: number, att: number, nHeads: number, nKvHeads: number,
                headDim: number, pos0: number, T: number, h0: number, h1: number): void;
  softmax_f32(x: number, n: number): void;
  swiglu_f32(out: number, gate: number, up: number, n: number): void;
  add_f32(out: number, a: number, b: number, n: number): void;
  add_rows_f32(x: number, b: number, n: number, T: number): void;
  embed_f32(out: number, table: number, id: number, dim: number): void;
  widen_bf16_f32(out: number, src: number, n: number): void;
  widen_f16_f32(out: number, src: number, n: number): void;
  // Attention over an f16 KV cache, and the cache writers (kernels/attention.ts).
  attention_f16kv(out: number, q: number, kc: number, vc: number, att: number, nHeads: number, nKvHeads: number,
                  headDim: number, pos0: number, T: number, h0: number, h1: number): void;
  store_f16(out: number, x: number, n: number): void;
  copy_f32(out: number, x: number, n: number): void;
  // Weights packed in 8-row panels (kernels/panel.ts): out (T, d) = x (T, n) @ Wᵀ, rows [r0, r1).
  matmul_f32p8(out: number, x: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  matmul_bf16p8(out: number, x: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  matmul_f16p8(out: number, x: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  pack_f32p8(w: number, src: number, n: number, d: number, r0: number, r1: number): void;
  pack_u16p8(w: number, src: number, n: number, d: number, r0: number, r1: number): void;
  embed_f32p8(out: number, w: number, id: number, dim: number): void;
  embed_bf16p8(out: number, w: number, id: number, dim: number): void;
  embed_f16p8(out: number, w: number, id: number, dim: number): void;
  // Block-quantized weights (kernels/quant.ts); xq = quantize_act_q16(x) (q8) or _q8(x) (q4) once per matmul.
  quantize_q8(w: number, src: number, n: number, d: number, r0: number, r1: number): void;
  quantize_q4(w: number, src: number, n: number, d: number, r0: number, r1: number): void;
  quantize_act_q8(xq: number, x: number, T: number, n: number): void;
  quantize_act_q16(xq: number, x: number, T: number, n: number): void;
  matmul_q8(out: number, xq: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  matmul_q4(out: number, xq: number, w: number, T: number, n: number, d: number, r0: number, r1: number): void;
  // One token through up to 3 q8/q4 weights reading the same xq (unused: d = 0), their rows stacked.
  gemv_q8(o0: number, o1: number, o2: number, xq: number, w0: number, w1: number, w2: number,
          n: number, d0: number, d1: number, d2: number, r0: number, r1: number): void;
  gemv_q4(o0: number, o1: number, o2: number, xq: number, w0: number, w1: number, w2: number,
          n: number, d0: number, d1: number, d2: number, r0: number, r1: number): void;
  embed_q8(out: number, w: number, id: number, dim: number, vocab: number): void;
  embed_q4(out: number, w: number, id: number, dim: number, vocab: number): void;
  // Prefill (T > 1) against q8/q4 weights (kernels/qgemm.ts): xq as for matmul_q8/_q4; s: per-thread scratch.
  qgemm_q8(out: number, xq: number, w: number, s: number, T: number, n: number, d: number, r0: number, r1: number): void;
  qgemm_q4(out: number, xq: number, w: number, s: number, T: number, n: number, d: number, r0: number, r1: number): void;
  layernorm_f32(out: number, x: number, w: number, b: number, n: number, T: number, eps: number): void;
  gelu_f32(out: number, x: number, n: number): void;
  encoder_attention_f32(out: number, q: number, k: number, v: number, att: number, offs: number,
                        nSeq: number, nHeads: number, headDim: number, h0: number, h1: number): void;
}

export type { SimdFlavor };
export type WasmInput = WebAssembly.Module | ArrayBuffer | ArrayBufferView | URL | string;

/** shared: the module imports a shared memory (the threads builds), so worker threads can run it too. */
export interface KernelModule { flavor: SimdFlavor; module: WebAssembly.Module; shared: boolean }

// Any module using a relaxed-SIMD opcode: (func (result v128) f32x4.splat 0 ×3, f32x4.relaxed_madd).
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 28, 1, 26, 0,
  67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 253, 133, 2, 11,
]);

/** Whether this engine accepts relaxed-SIMD instructions (Node 20 only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** Resolve which module to use: an explicit choice, then env TIDE_SIMD, then what the engine supports. */
export function chooseFlavor(requested?: SimdFlavor): SimdFlavor {
  const env = typeof process !== 'undefined' ? process.env?.TIDE_SIMD : undefined;
  const want = requested ?? (env as SimdFlavor | undefined);
  if (want !== undefined && want !== 'baseline' && want !== 'relaxed') {
    throw new Error(`TIDE_SIMD: unknown SIMD flavor "${want}"; expected baseline or relaxed`);
  }
  if (want === 'relaxed' && !relaxedSimdSupported()) {
    throw new Error('relaxed SIMD requested but this engine does not support it (Node 20: run with --experimental-wasm-relaxed-simd)');
  }
  return want ?? (relaxedSimdSupported() ? 'relaxed' : 'baseline');
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compile (once per flavor) the module shipped in the package's build/ (kernel-files.ts), or use the one given. With
 * shared: true, the threads build (shared memory, atomics) of the same kernels.
 */
export async function kernelModule(opts: { simd?: SimdFlavor; wasm?: WasmInput; shared?: boolean } = {}): Promise<KernelModule> {
  const flavor = chooseFlavor(opts.simd);
  const shared = opts.shared ?? false;
  if (opts.wasm !== undefined) return { flavor, module: await toModule(opts.wasm), shared };
  const url = kernelFile(flavor, shared);
  let m = compiled.get(url.href);
  if (!m) {
    m = toModule(url);
    compiled.set(url.href, m);
  }
  return { flavor, module: await m, shared };
}

async function toModule(input: WasmInput): Promise<WebAssembly.Module> {
  if (input instanceof WebAssembly.Module) return input;
  if (typeof input === 'string' || input instanceof URL) {
    const url = new URL(input.toString(), import.meta.url);
    if (url.protocol === 'file:') {
      return WebAssembly.compile(await (await nodeFs()).readFile(url));
    }
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(input as BufferSource);
}

/** Instantiate kernels over a memory (each arena has its own). */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as Kernels;
}

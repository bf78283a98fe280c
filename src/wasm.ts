// Loads the kernel module: relaxed SIMD where the engine validates it, baseline SIMD128 otherwise.

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
}

export type SimdFlavor = 'baseline' | 'relaxed';
export type WasmInput = WebAssembly.Module | ArrayBuffer | ArrayBufferView | URL | string;

export interface KernelModule { flavor: SimdFlavor; module: WebAssembly.Module }

const FILES: Record<SimdFlavor, string> = {
  baseline: 'kernels-simd128.wasm',
  relaxed: 'kernels-relaxed.wasm',
};

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

const compiled = new Map<SimdFlavor, Promise<WebAssembly.Module>>();

/** Compile (once per flavor) the module shipped beside this file, or use the one given. */
export async function kernelModule(opts: { simd?: SimdFlavor; wasm?: WasmInput } = {}): Promise<KernelModule> {
  const flavor = chooseFlavor(opts.simd);
  if (opts.wasm !== undefined) return { flavor, module: await toModule(opts.wasm) };
  let m = compiled.get(flavor);
  if (!m) {
    m = toModule(new URL(`../build/${FILES[flavor]}`, import.meta.url));
    compiled.set(flavor, m);
  }
  return { flavor, module: await m };
}

async function toModule(input: WasmInput): Promise<WebAssembly.Module> {
  if (input instanceof WebAssembly.Module) return input;
  if (typeof input === 'string' || input instanceof URL) {
    const url = new URL(input.toString(), import.meta.url);
    if (url.protocol === 'file:') {
      const { readFile } = await import('node:fs/promises');
      return WebAssembly.compile(await readFile(url));
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

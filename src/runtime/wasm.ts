// Loads the kernel module: relaxed SIMD where the engine validates it, baseline SIMD128 otherwise.
import { kernelFile, type SimdFlavor } from './kernel-files.js';
import { nodeFs } from '../node-parts.js';
import type { Kernels } from './kernel-exports.js';

/** The kernels' wasm ABI, generated from kernels/ by scripts/gen-kernels.mjs. */
export type { Kernels };

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

// Where the four kernel modules are: each named by one literal `new URL('…', import.meta.url)`, the form
// Vite and webpack follow to emit the file into a bundle (esbuild: scripts/bundle-plugins.mjs). From
// src/runtime/ and dist/runtime/ alike, ../../build/ is the package's build/ folder.
/** Which kernel build: SIMD128 everywhere, or relaxed SIMD where the engine validates it. */
export type SimdFlavor = 'baseline' | 'relaxed';

/** The kernel module for a SIMD flavor; shared: the threads build (shared memory, atomics). */
export function kernelFile(flavor: SimdFlavor, shared: boolean): URL {
  if (flavor === 'relaxed') {
    return shared ? new URL('../../build/kernels-relaxed-threads.wasm', import.meta.url) : new URL('../../build/kernels-relaxed.wasm', import.meta.url);
  }
  return shared ? new URL('../../build/kernels-simd128-threads.wasm', import.meta.url) : new URL('../../build/kernels-simd128.wasm', import.meta.url);
}

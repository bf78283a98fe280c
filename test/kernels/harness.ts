// Shared kit for the kernel suites: one wasm memory with canary-guarded buffers, a seeded RNG, and
// comparisons that name the kernel, sizes, index, expected and got (after XNNPACK's gemm tester).
// It knows the kernel ABI in src/runtime/wasm.ts and nothing about models; the float64 references are in kernels/ref/.
import * as assert from 'uvu/assert';
import { instantiate, kernelModule, type Kernels, type SimdFlavor } from '../../src/runtime/wasm.js';
export { rng } from '../paths.js';

/** Painted around and between buffers. A NaN bit pattern, so an over-read that leaks into a result shows as NaN. */
export const CANARY = 0x7fa5a5a5;
const GUARD_BYTES = 16;
const BASE = 64 * 1024; // above the module's static data (expf tables from byte 1024)
const PAGES = 64; // 4 MiB: the largest case (all 65536 f16 patterns) needs under 1 MiB

export interface Buf { name: string; ptr: number; bytes: number }

/** n f32 values drawn uniformly from [lo, hi). */
export function floats(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** Both placements every kernel must handle: 16-byte aligned, and 4-byte aligned but not 16. */
export const PLACEMENTS = ['aligned', 'unaligned'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export class Harness {
  private bufs: Buf[] = [];
  private top = BASE;
  private placement: Placement = 'aligned';

  constructor(readonly k: Kernels, readonly flavor: SimdFlavor, readonly memory: WebAssembly.Memory) {
    new Uint32Array(memory.buffer, BASE).fill(CANARY);
  }

  /** Forget every buffer and repaint the used arena with canaries; later buffers use this placement. */
  reset(placement: Placement): void {
    new Uint32Array(this.memory.buffer, BASE, (this.top + GUARD_BYTES - BASE) >> 2).fill(CANARY);
    this.bufs = [];
    this.top = BASE;
    this.placement = placement;
  }

  /** Reserve bytes with at least GUARD_BYTES of canary on each side. Unaligned buffers sit 4, 8 or 12 bytes past 16. */
  alloc(name: string, bytes: number): Buf {
    const skew = this.placement === 'aligned' ? 0 : 4 * (1 + (this.bufs.length % 3));
    const ptr = ((this.top + GUARD_BYTES + 15) & ~15) + skew;
    if (ptr + bytes + GUARD_BYTES > this.memory.buffer.byteLength) throw new Error(`harness: "${name}" does not fit`);
    const buf = { name, ptr, bytes };
    this.bufs.push(buf);
    this.top = ptr + bytes;
    return buf;
  }

  /** An f32 buffer holding data, or n NaNs (an output that must be written before it is read). */
  f32(name: string, data: Float32Array | number): Buf {
    const n = typeof data === 'number' ? data : data.length;
    const buf = this.alloc(name, 4 * n);
    const view = new Float32Array(this.memory.buffer, buf.ptr, n);
    if (typeof data === 'number') view.fill(NaN); else view.set(data);
    return buf;
  }

  /** A u16 buffer (bf16 / f16 bit patterns). */
  u16(name: string, data: Uint16Array): Buf {
    const buf = this.alloc(name, 2 * data.length);
    new Uint16Array(this.memory.buffer, buf.ptr, data.length).set(data);
    return buf;
  }

  /** Copy of an f32 buffer's contents. */
  read(buf: Buf, n = buf.bytes >> 2): Float32Array {
    return new Float32Array(this.memory.buffer.slice(buf.ptr, buf.ptr + 4 * n));
  }

  /** Copy of a buffer's contents as raw 32-bit words, for exact (bitwise) checks. */
  bits(buf: Buf): Uint32Array {
    return new Uint32Array(this.memory.buffer.slice(buf.ptr, buf.ptr + buf.bytes));
  }

  /** Raw bytes of the whole memory (a live view; never held across calls). */
  bytes(): Uint8Array { return new Uint8Array(this.memory.buffer); }

  /** Run one kernel call; fail if it changed any byte outside `writes` (canaries, inputs, other buffers). */
  call(what: string, writes: Buf[], fn: () => void): void {
    const end = this.top + GUARD_BYTES;
    const before = this.bytes().slice(BASE, end);
    fn();
    const after = this.bytes();
    for (let a = BASE; a < end; a++) {
      if (after[a] === before[a - BASE] || writes.some((b) => a >= b.ptr && a < b.ptr + b.bytes)) continue;
      assert.unreachable(`${this.label(what)}: changed byte ${a}, ${this.where(a)}`);
    }
  }

  /** Label for a failure: the kernel call plus flavor and placement. */
  label(what: string): string { return `${what} [${this.flavor}, ${this.placement}]`; }

  private where(a: number): string {
    for (const b of this.bufs) {
      if (a < b.ptr) { if (a >= b.ptr - GUARD_BYTES) return `${b.ptr - a} bytes before "${b.name}" (canary)`; continue; }
      if (a < b.ptr + b.bytes) return `inside "${b.name}" at byte ${a - b.ptr} (not an output)`;
      if (a < b.ptr + b.bytes + GUARD_BYTES) return `${a - b.ptr - b.bytes} bytes after "${b.name}" (canary)`;
    }
    return 'in a gap between buffers';
  }
}

/** A harness over a fresh 4 MiB memory and the module TIDE_SIMD selects (baseline or relaxed). */
export async function harness(): Promise<Harness> {
  const { flavor, module } = await kernelModule();
  const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
  return new Harness(instantiate(module, memory), flavor, memory);
}

/** Allowed error: |got − ref| ≤ atol + rtol·|ref|. */
export interface Tol { rtol: number; atol: number }

/**
 * Compare a kernel output with its float64 reference. A NaN in ref marks an element the kernel must
 * not write (it was pre-filled with NaN). `cols` turns flat indices into (row, col) in the message.
 */
export function assertClose(what: string, got: Float32Array, ref: Float64Array, tol: Tol, cols = 0): void {
  if (got.length !== ref.length) assert.unreachable(`${what}: length ${got.length}, expected ${ref.length}`);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], g = got[i];
    const ok = Number.isNaN(r) ? Number.isNaN(g) : Math.abs(g - r) <= tol.atol + tol.rtol * Math.abs(r);
    if (ok) continue;
    if (count++ < 5) {
      const at = cols > 0 ? `index ${i} (row ${Math.floor(i / cols)}, col ${i % cols})` : `index ${i}`;
      bad.push(`${at}: expected ${Number.isNaN(r) ? 'NaN (untouched)' : r}, got ${g}`);
    }
  }
  if (count > 0) {
    assert.unreachable(`${what}: ${count} of ${ref.length} mismatched (rtol ${tol.rtol}, atol ${tol.atol})\n  ${bad.join('\n  ')}`);
  }
}

/** A reference output of n elements, all NaN until the reference fills the part the kernel must write. */
export function untouched(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

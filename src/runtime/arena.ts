// One wasm memory per model: weights, KV caches and scratch are named regions bump-allocated
// from it (ggml_init's pool, AS rt/stub). JS views are made fresh after any grow, never held.
import { MemoryBudgetError } from '../errors.js';
import { instantiate, type KernelModule, type Kernels, type SimdFlavor } from './wasm.js';

export const PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB, less one page: V8 caps a memory at 65536 pages but we keep headroom. */
export const WASM32_MAX_BYTES = 65535 * PAGE_BYTES;
const ALIGN = 64;
/** Below this the kernels' own static data lives (asconfig memoryBase). */
const ARENA_BASE = PAGE_BYTES;

/**
 * How a tensor's elements are stored. Absent or 'f32': row-major f32; 'f16': row-major IEEE half (the
 * f16 KV cache). Matmul weights: 'f32p8' | 'bf16p8' | 'f16p8' packed in 8-row panels (kernels/panel.ts),
 * 'q8' | 'q4' blocks of 32 with an f32 scale (kernels/quant.ts).
 */
export type Dtype = 'f32' | 'f16' | 'f32p8' | 'bf16p8' | 'f16p8' | 'q8' | 'q4';

/** A named block of the arena. shape is (rows, cols) or (n,), in elements of dtype (default f32). */
export interface Tensor { name: string; ptr: number; shape: number[]; dtype?: Dtype }

/** Bytes a (d, n) tensor takes when stored as dtype (panels pad d to 8 rows, blocks pad n to 32). */
export function storedBytes(dtype: Dtype, d: number, n: number): number {
  const panels = Math.ceil(d / 8) * 8 * n, blocks = d * Math.ceil(n / 32);
  switch (dtype) {
    case 'f32': return d * n * 4;
    case 'f16': return d * n * 2;
    case 'f32p8': return panels * 4;
    case 'bf16p8': case 'f16p8': return panels * 2;
    case 'q8': return blocks * 36;
    case 'q4': return blocks * 20;
  }
}

export interface RegionPlan { name: string; bytes: number }

export const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Fail before reading anything when the regions cannot fit the budget. */
export function checkPlan(regions: RegionPlan[], budgetBytes = WASM32_MAX_BYTES, used = ARENA_BASE): number {
  let total = used;
  for (const r of regions) {
    total += align(r.bytes);
    if (total > budgetBytes) {
      throw new MemoryBudgetError(`memory plan: region "${r.name}" (${mb(r.bytes)}) brings the total to ${mb(total)}, over the budget of ${mb(budgetBytes)}`);
    }
  }
  return total;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly kernels: Kernels;
  readonly flavor: SimdFlavor;
  readonly budgetBytes: number;
  private top = ARENA_BASE;

  constructor(km: KernelModule, budgetBytes = WASM32_MAX_BYTES, reserveBytes = 0) {
    this.budgetBytes = Math.min(budgetBytes, WASM32_MAX_BYTES);
    const pages = Math.ceil((ARENA_BASE + reserveBytes) / PAGE_BYTES);
    // A shared memory (threads build) is seen by every worker's instance; its buffer is a
    // SharedArrayBuffer that is replaced (not detached) on grow, so views are still made fresh.
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: km.shared });
    this.kernels = instantiate(km.module, this.memory);
    this.flavor = km.flavor;
  }

  /** Bytes handed out so far. */
  get usedBytes(): number { return this.top; }

  /** A new region of `bytes`, 64-byte aligned, growing the memory if needed. */
  alloc(name: string, bytes: number): number {
    const ptr = this.top;
    const end = ptr + align(bytes);
    if (end > this.budgetBytes) {
      throw new MemoryBudgetError(`arena: region "${name}" needs ${mb(bytes)} but only ${mb(this.budgetBytes - ptr)} of the ${mb(this.budgetBytes)} budget is left`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
    this.top = end;
    return ptr;
  }

  /** A (rows, cols) f32 tensor, or (n,) when cols is omitted. */
  tensor(name: string, rows: number, cols?: number): Tensor {
    const shape = cols === undefined ? [rows] : [rows, cols];
    return { name, ptr: this.alloc(name, rows * (cols ?? 1) * 4), shape };
  }

  /** Everything allocated after `mark()` is released by `release(mark)`. */
  mark(): number { return this.top; }
  release(mark: number): void { this.top = mark; }

  /** A fresh f32 view (invalid after the next grow). */
  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }
  bytes(ptr: number, n: number): Uint8Array { return new Uint8Array(this.memory.buffer, ptr, n); }
}

export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

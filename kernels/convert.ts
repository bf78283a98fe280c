// Embedding lookup and dtype widening (16-bit checkpoints are widened to f32 at load).
import { f16_to_f32 } from "./f16";

/** out (dim,) = table[id, :]. table (vocab, dim). */
export function embed_f32(out: usize, table: usize, id: i32, dim: i32): void {
  memory.copy(out, table + (<usize>id * <usize>dim << 2), <usize>dim << 2);
}

/**
 * out (n,) f32 = widen(src (n,) bf16). Safe in place when src is the upper half of out's bytes
 * (src = out + 2n): element i is written at bytes [4i, 4i+4), at or below where the unread
 * elements start (2n + 2i + 2).
 */
export function widen_bf16_f32(out: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<u32>(out + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
  }
}

/** out (n,) f32 = widen(src (n,) IEEE f16), subnormals, inf and NaN included. Same in-place rule as bf16. */
export function widen_f16_f32(out: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), f16_to_f32(load<u16>(src + (<usize>i << 1))));
}

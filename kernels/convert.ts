// Embedding lookup and dtype widening (16-bit checkpoints are widened to f32 at load).

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
  for (let i = 0; i < n; i++) {
    const h = <u32>load<u16>(src + (<usize>i << 1));
    const sign = (h & 0x8000) << 16;
    const em = (h & 0x7fff) << 13;
    let bits: u32;
    if ((h & 0x7c00) == 0x7c00) {
      bits = em | 0x7f800000; // inf / NaN keep their payload
    } else {
      // Rebias the exponent by multiplying by 2^112; this also normalises subnormals.
      bits = reinterpret<u32>(reinterpret<f32>(em) * 5.192296858534828e33);
    }
    store<u32>(out + (<usize>i << 2), bits | sign);
  }
}

// Float64 references of the matmul kernels (kernels/matmul.ts, panel.ts, quant.ts, qgemm.ts): the product
// out = x @ Wᵀ, and every stored weight dtype turned back into the numbers the kernels multiply.
import { decodeBf16, decodeF16 } from './convert.js';
import { blockValues, blocks, readBlocks } from './quant.js';

export type Vec = ArrayLike<number>;

/**
 * out[t, r] = Σ_j w[r, j]·x[t, j] for x (T, n), w (d, n) and rows r in [r0, r1), into out (T, d); its other
 * entries keep what they held (NaN by default: what a kernel must leave unwritten).
 */
export function matmul(x: Vec, w: Vec, T: number, n: number, d: number, r0 = 0, r1 = d,
                       out: Float64Array = new Float64Array(T * d).fill(NaN)): Float64Array {
  for (let t = 0; t < T; t++) {
    for (let r = r0; r < r1; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[r * n + j] * x[t * n + j];
      out[t * d + r] = s;
    }
  }
  return out;
}

/** A (d, n) weight's storage, as src/arena.ts names it; bf16 and f16 also row-major, as checkpoints hold them. */
export type WeightDtype = 'f32' | 'bf16' | 'f16' | 'f32p8' | 'bf16p8' | 'f16p8' | 'q8' | 'q4';

/**
 * The values of a (d, n) weight stored as dtype in bytes, row-major (d, n); q8 and q4 rows run to whole
 * blocks, (d, ceil(n/32)·32) with zeros in the padding, as the kernels multiply them.
 *   f32, bf16, f16: row-major. p8 panels (kernels/panel.ts): rows 8p..8p+7 form panel p, which stores column
 *   by column the 8 rows' values, f32 in row order, 16-bit ones in the order 0,4,1,5,2,6,3,7.
 *   q8, q4: kernels/quant.ts's blocks (readBlocks).
 */
export function weightValues(dtype: WeightDtype, bytes: Uint8Array, n: number, d: number): Float64Array {
  if (dtype === 'q8' || dtype === 'q4') return blockValues(readBlocks(dtype, bytes, n, d));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wide = dtype === 'f32' || dtype === 'f32p8', half = dtype === 'f16' || dtype === 'f16p8';
  const out = new Float64Array(d * n);
  for (let r = 0; r < d; r++) {
    for (let k = 0; k < n; k++) {
      const l = r % 8, lane = wide ? l : ((l & 3) << 1) | (l >> 2);
      const at = dtype.endsWith('p8') ? (Math.floor(r / 8) * n + k) * 8 + lane : r * n + k;
      out[r * n + k] = wide ? view.getFloat32(4 * at, true)
        : half ? decodeF16(view.getUint16(2 * at, true)) : decodeBf16(view.getUint16(2 * at, true));
    }
  }
  return out;
}

/** Columns of a q8/q4 weight's values (weightValues): n rounded up to whole blocks. */
export const blockCols = (n: number): number => blocks(n) * 32;

// Float64 references of the block quantizers in kernels/quant.ts (ggml's Q8_0 and Q4_0): rows cut into blocks
// of 32, the last one zero-padded, each block stored as small integers and one scale. Also readers of the
// kernels' byte layouts, so a test can compare what a kernel stored with what these functions compute.

export type Vec = ArrayLike<number>;

/** T rows of n as blocks: quants (T·nb·32) and scales (T·nb), nb = ceil(n / 32); value = quant · scale. */
export interface Blocks { quants: Int32Array; scales: Float64Array }

export const blocks = (n: number): number => Math.ceil(n / 32);

/** Block b of row t of x (T, n): its 32 values, zeros past n. */
function block(x: Vec, n: number, t: number, b: number): number[] {
  return Array.from({ length: 32 }, (_, j) => (b * 32 + j < n ? x[t * n + b * 32 + j] : 0));
}

/** Round half away from zero (C's roundf, which ggml uses). */
const roundAway = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);

/**
 * Symmetric blocks (ggml quantize_row_q8_0): scale = max|x| / qmax, quant = round(x / scale). qmax 127: q8
 * weights (quantize_q8) and q4's activations (quantize_act_q8); 32767: q8's activations (quantize_act_q16).
 */
export function quantizeSym(x: Vec, n: number, T: number, qmax: number): Blocks {
  const nb = blocks(n), quants = new Int32Array(T * nb * 32), scales = new Float64Array(T * nb);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const v = block(x, n, t, b), amax = Math.max(...v.map(Math.abs)), i = t * nb + b;
      scales[i] = amax / qmax;
      v.forEach((e, j) => { quants[i * 32 + j] = amax > 0 ? roundAway(e * qmax / amax) : 0; });
    }
  }
  return { quants, scales };
}

/**
 * q4 blocks (ggml quantize_row_q4_0): scale = m / −8 with m the element of largest magnitude (sign kept), so
 * m maps to −8 exactly; quant = min(15, trunc(x / scale + 8.5)) − 8, in [−8, 7].
 */
export function quantizeQ4(x: Vec, n: number, T: number): Blocks {
  const nb = blocks(n), quants = new Int32Array(T * nb * 32), scales = new Float64Array(T * nb);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < nb; b++) {
      const v = block(x, n, t, b), i = t * nb + b;
      const m = v.reduce((a, e) => (Math.abs(e) > Math.abs(a) ? e : a), 0);
      scales[i] = m / -8;
      v.forEach((e, j) => { quants[i * 32 + j] = (m !== 0 ? Math.min(15, Math.trunc(e / scales[i] + 8.5)) : 8) - 8; });
    }
  }
  return { quants, scales };
}

/** quant · scale of every element: (T, nb·32), the padding's zeros included. */
export function blockValues({ quants, scales }: Blocks): Float64Array {
  return Float64Array.from(quants, (q, i) => q * scales[i >> 5]);
}

/**
 * Blocks as the kernels store them: for R·nb blocks, all quants first (i8 for 'q8' and 'act8', nibble pairs
 * for 'q4': byte j of a block holds element j low and j + 16 high, stored + 8; i16 for 'act16'), then the f32
 * scales, then for 'act8' each block's i32 sum of quants (read into `sums`).
 */
export function readBlocks(kind: 'q8' | 'q4' | 'act8' | 'act16', bytes: Uint8Array, n: number, rows: number): Blocks & { sums?: Int32Array } {
  const count = rows * blocks(n), view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const quantBytes = kind === 'q4' ? 16 : kind === 'act16' ? 64 : 32;
  const quants = new Int32Array(count * 32), scales = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    scales[i] = view.getFloat32(count * quantBytes + 4 * i, true);
    for (let j = 0; j < 32; j++) {
      const at = i * quantBytes;
      quants[i * 32 + j] = kind === 'act16' ? view.getInt16(at + 2 * j, true)
        : kind === 'q4' ? ((bytes[at + (j & 15)] >> (j < 16 ? 0 : 4)) & 15) - 8
        : view.getInt8(at + j);
    }
  }
  if (kind !== 'act8') return { quants, scales };
  const sums = Int32Array.from({ length: count }, (_, i) => view.getInt32(count * 36 + 4 * i, true));
  return { quants, scales, sums };
}

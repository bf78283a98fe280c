// Weight storage at load time: which layout each checkpoint tensor is kept in (the `quantize` option),
// and moving one tensor into that layout a few rows at a time, so no whole f32 copy of a tensor (let
// alone the model) is ever held. Knows dtypes and kernels, not model families.
import { storedBytes, type Arena, type Dtype } from './arena.js';
import { OptionError } from '../errors.js';
import type { StDtype, TensorInfo } from '../formats/safetensors.js';

/** Weight-only quantization made at load: 'q8' (ggml Q8_0-like), 'q4' (Q4_0-like) or 'none'. */
export type Quantize = 'q8' | 'q4' | 'none';

/** How to keep a checkpoint tensor in memory, from its name, shape and file dtype. */
export type Storage = (hf: string, shape: number[], src: StDtype) => Dtype;

/** Rows are staged through a region of about this size (f32), then released. */
const STAGING_BYTES = 8 << 20;

export function checkQuantize(q: unknown): Quantize {
  if (q === undefined) return 'none';
  if (q !== 'q8' && q !== 'q4' && q !== 'none') throw new OptionError(`quantize "${String(q)}" must be 'q8', 'q4' or 'none'`);
  return q;
}

/** How f16 matrices are kept (LoadOptions.f16): f32 panels ('widen'), f16 panels ('keep'), or by size ('auto'). */
export type F16Weights = 'auto' | 'keep' | 'widen';

/**
 * Under f16 'auto', f16 matrices are widened to f32 panels at load when together they take at most this
 * much as f32 (and the plan fits the memory budget); the cost is at most 32 MiB more memory. Widened, they
 * run at f32's speed by construction. Kept, prefill is close (gemm_f16p8 widens each panel once into
 * scratch: 0.94-0.98× f32 per matmul, the real all-MiniLM-L6-v2 fp16 at 0.94-0.96× its widened copy on
 * one thread), but decode widens in registers (shift, mask, rebias multiply: 7 ops per 8 weights against
 * bf16's 2): 0.8-0.96× f32 while f32 decodes from cache (Qwen2.5-0.5B gate/up, 17 MiB as f32, 1-2
 * threads, a 32 MiB L3), 1.1-1.4× f32 past it, reading half the bytes (33-266 MiB). Caches differ by
 * machine (8 MiB to 96 MiB of L3), so small models, where the memory is cheap, take f32's speed.
 */
export const F16_WIDEN_MAX_BYTES = 64 << 20;

export function checkF16(f: unknown): F16Weights {
  if (f === undefined) return 'auto';
  if (f !== 'auto' && f !== 'keep' && f !== 'widen') throw new OptionError(`f16 "${String(f)}" must be 'auto', 'keep' or 'widen'`);
  return f;
}

/** A tensor's element count. */
export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A family's layouts by its kind: decoderStorage, or encoderStorage (`encode`: a decoder run as an encoder). */
export function storageFor(kind: 'decoder' | 'encoder', quantize: Quantize, widenF16 = false, encode = false): Storage {
  return kind === 'decoder' ? decoderStorage(quantize, widenF16, encode) : encoderStorage(quantize, widenF16);
}

/** Elements of the matrices `storage` keeps as f16 panels, over [hf name, shape, file dtype]: what f16 'auto' weighs. */
export function f16Elements(storage: Storage, tensors: [string, number[], StDtype][]): number {
  return tensors.reduce((sum, [hf, shape, src]) => sum + (storage(hf, shape, src) === 'f16p8' ? numel(shape) : 0), 0);
}

/** Whether f16 matrices of `f16Elements` elements in all are widened at load (before the budget is asked). */
export function widensF16(f16: F16Weights, f16Elements: number): boolean {
  return f16 === 'widen' || (f16 === 'auto' && f16Elements > 0 && 4 * f16Elements <= F16_WIDEN_MAX_BYTES);
}

/** A float matrix's panels: 16-bit checkpoints stay 16-bit, f16 ones unless widened; f32 stays f32. */
const floatPanels = (src: StDtype, widenF16: boolean): Dtype => (src === 'BF16' ? 'bf16p8' : src === 'F16' && !widenF16 ? 'f16p8' : 'f32p8');

/**
 * The decoder's layouts. Matrices: float panels (floatPanels), or all q8/q4. Under q4 the vocabulary
 * tables (embedding, lm_head) are q8, as llama.cpp keeps its token embedding and output at higher
 * precision: they dominate small models' error. Vectors (norms, biases) are f32. The embedding shares
 * the classifier's layout when tied. Run as an encoder (`encode`), the token embedding is only looked
 * up, never a classifier: it keeps its float panels, as an encoder's embedding tables stay f32.
 */
export function decoderStorage(quantize: Quantize, widenF16 = false, encode = false): Storage {
  return (hf, shape, src) => {
    if (shape.length !== 2) return 'f32';
    const embedding = /(^|\.)embed_tokens\.weight$/.test(hf);
    if (quantize === 'none' || (encode && embedding)) return floatPanels(src, widenF16);
    const vocabTable = hf === 'lm_head.weight' || embedding;
    return quantize === 'q4' && !vocabTable ? 'q4' : 'q8';
  };
}

/**
 * The fewest bytes a matrix parameter takes with `quantize` (16-bit panels; q8 or q4 blocks), for a plan
 * made before the checkpoint's dtypes are known.
 */
export const leastBytesPerParameter = (quantize: Quantize) => storedBytes(quantize === 'none' ? 'bf16p8' : quantize, 8, 32) / (8 * 32);

/** Bytes of the tensor as stored (vectors count as one row). */
export function tensorBytes(dtype: Dtype, shape: number[]): number {
  return shape.length === 2 ? storedBytes(dtype, shape[0], shape[1]) : storedBytes(dtype, 1, shape[0]);
}

/**
 * Read a (d, n) checkpoint tensor (or its rows first .. first + d − 1) into `ptr`, laid out as `dtype` (a panel or block type). Chunks of rows
 * go through staging at the arena's top: 16-bit rows are moved into bf16/f16 panels as they are; for f32
 * panels and q8/q4 the rows are widened to f32 in place first (src in the upper half, as loadTensors does).
 */
export async function loadRows(arena: Arena, info: TensorInfo, ptr: number, dtype: Dtype, d: number, n: number, first = 0): Promise<void> {
  const k = arena.kernels, srcBytes = info.dtype === 'F32' ? 4 : 2;
  const rowsPer = Math.max(8, Math.floor(STAGING_BYTES / (4 * n) / 8) * 8);
  const mark = arena.mark();
  const stage = arena.alloc('staging', Math.min(rowsPer, d) * n * 4);
  try {
    for (let r0 = 0; r0 < d; r0 += rowsPer) {
      const r1 = Math.min(d, r0 + rowsPer), m = (r1 - r0) * n, at = info.offset + (first + r0) * n * srcBytes;
      if (dtype === 'bf16p8' || dtype === 'f16p8') {
        await info.reader.read(at, arena.bytes(stage, 2 * m));
        k.pack_u16p8(ptr, stage, n, d, r0, r1);
        continue;
      }
      if (srcBytes === 4) {
        await info.reader.read(at, arena.bytes(stage, 4 * m));
      } else {
        await info.reader.read(at, arena.bytes(stage + 2 * m, 2 * m));
        if (info.dtype === 'BF16') k.widen_bf16_f32(stage, stage + 2 * m, m);
        else k.widen_f16_f32(stage, stage + 2 * m, m);
      }
      if (dtype === 'f32p8') k.pack_f32p8(ptr, stage, n, d, r0, r1);
      else if (dtype === 'q8') k.quantize_q8(ptr, stage, n, d, r0, r1);
      else k.quantize_q4(ptr, stage, n, d, r0, r1);
    }
  } finally {
    arena.release(mark);
  }
}

/** The staging region loadRows takes on top of the weights, for planning. */
export function stagingBytes(shapes: number[][]): number {
  return Math.max(0, ...shapes.filter((s) => s.length === 2).map(([d, n]) => Math.min(Math.max(8, Math.floor(STAGING_BYTES / (4 * n) / 8) * 8), d) * n * 4));
}

/**
 * The encoder's layouts: the linear layers' matrices as the decoder's float panels, or q8/q4 (run by
 * qgemm: an encoder's matmuls are all prefill); the embedding tables, read a row at a time, and all
 * vectors (LayerNorms, biases) stay f32.
 */
export function encoderStorage(quantize: Quantize, widenF16 = false): Storage {
  return (hf, shape, src) => shape.length !== 2 || hf.includes('embeddings.') ? 'f32' : quantize === 'none' ? floatPanels(src, widenF16) : quantize;
}

// The graph's view of the kernels: each wrapper checks shapes once, then calls the wasm kernel.
// Kernels trust their wrappers (they never check or throw).
import { ShapeError } from './errors.js';
import type { Kernels } from './wasm.js';
import type { Tensor } from './arena.js';

const rows = (t: Tensor) => t.shape[0];
const cols = (t: Tensor) => t.shape[t.shape.length - 1];

function check(ok: boolean, op: string, what: () => string): void {
  if (!ok) throw new ShapeError(`${op}: ${what()}`);
}

/** Rows [row, ...) of a (rows, cols) tensor, as a tensor of their own. */
export function rowsFrom(t: Tensor, row: number): Tensor {
  return { name: `${t.name}[${row}:]`, ptr: t.ptr + row * cols(t) * 4, shape: [rows(t) - row, cols(t)] };
}

export class Ops {
  constructor(readonly k: Kernels) {}

  /** out (T, d) = x (T, n) @ w (d, n)ᵀ; the decode case T = 1 streams the weights once. */
  matmul(out: Tensor, x: Tensor, w: Tensor, T: number): void {
    const [d, n] = w.shape;
    check(cols(x) === n && cols(out) === d && T <= rows(x) && T <= rows(out), 'matmul',
      () => `${out.name} ${out.shape} = ${x.name} ${x.shape} @ ${w.name} ${w.shape}ᵀ for ${T} rows`);
    if (T === 1) this.k.matvec_f32(out.ptr, x.ptr, w.ptr, n, 0, d);
    else this.k.matmul_f32(out.ptr, x.ptr, w.ptr, T, n, d, 0, d);
  }

  rmsnorm(out: Tensor, x: Tensor, w: Tensor, T: number, eps: number): void {
    check(cols(x) === w.shape[0] && cols(out) === cols(x), 'rmsnorm', () => `${x.name} ${x.shape} with ${w.name} ${w.shape}`);
    this.k.rmsnorm_f32(out.ptr, x.ptr, w.ptr, cols(x), T, eps);
  }

  embed(out: Tensor, table: Tensor, ids: ArrayLike<number>): void {
    for (let t = 0; t < ids.length; t++) this.k.embed_f32(out.ptr + t * cols(out) * 4, table.ptr, ids[t], cols(table));
  }

  /** In place on x (T, nHeads * headDim) with angles cos, sin (T, headDim / 2). */
  rope(x: Tensor, cos: Tensor, sin: Tensor, nHeads: number, headDim: number, T: number): void {
    check(cols(x) === nHeads * headDim && cols(cos) === headDim / 2, 'rope', () => `${x.name} ${x.shape} with ${nHeads}×${headDim}`);
    this.k.rope_f32(x.ptr, cos.ptr, sin.ptr, nHeads, headDim, T);
  }

  /** out, q (T, nHeads * headDim) over cache rows [0, pos0 + T) of kc, vc (seqLen, kvDim). */
  attention(out: Tensor, q: Tensor, kc: Tensor, vc: Tensor, att: Tensor,
            nHeads: number, nKvHeads: number, headDim: number, pos0: number, T: number): void {
    check(pos0 + T <= rows(kc) && att.shape[0] >= pos0 + T && cols(kc) === nKvHeads * headDim, 'attention',
      () => `positions ${pos0}..${pos0 + T} in cache ${kc.shape}`);
    this.k.attention_f32(out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, nHeads, nKvHeads, headDim, pos0, T, 0, nHeads);
  }

  /** out = silu(gate) * up over the first T rows. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor, T: number): void {
    this.k.swiglu_f32(out.ptr, gate.ptr, up.ptr, T * cols(gate));
  }

  /** Residual: out = a + b over the first T rows. */
  add(out: Tensor, a: Tensor, b: Tensor, T: number): void {
    this.k.add_f32(out.ptr, a.ptr, b.ptr, T * cols(a));
  }

  /** x[t, :] += b for the first T rows. */
  addBias(x: Tensor, b: Tensor, T: number): void {
    check(cols(x) === b.shape[0], 'addBias', () => `${x.name} ${x.shape} + ${b.name} ${b.shape}`);
    this.k.add_rows_f32(x.ptr, b.ptr, cols(x), T);
  }
}

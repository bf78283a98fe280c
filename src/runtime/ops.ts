// The graph's view of the kernels: each wrapper checks shapes once, then calls the wasm kernel.
// Kernels trust their wrappers (they never check or throw).
import { ShapeError } from '../errors.js';
import type { Kernels } from './wasm.js';
import type { Arena, Dtype, RegionPlan, Tensor } from './arena.js';
import { ROW_ALIGN, type Scratch, type ThreadPool } from './threads.js';

const rows = (t: Tensor) => t.shape[0];
const cols = (t: Tensor) => t.shape[t.shape.length - 1];
const elements = (t: Tensor) => t.shape.reduce((a, b) => a * b, 1);

function check(ok: boolean, op: string, what: () => string): void {
  if (!ok) throw new ShapeError(`${op}: ${what()}`);
}

/** Rows [row, ...) of a row-major (rows, cols) f32 or f16 tensor, as a tensor of their own. */
export function rowsFrom(t: Tensor, row: number): Tensor {
  const elBytes = t.dtype === 'f16' ? 2 : 4;
  return { name: `${t.name}[${row}:]`, ptr: t.ptr + row * cols(t) * elBytes, shape: [rows(t) - row, cols(t)], dtype: t.dtype };
}

/** The matmul kernel for each packed or quantized weight dtype (plain f32 uses matvec_f32 / matmul_f32). */
const MATMUL: Partial<Record<Dtype, keyof Kernels>> = {
  f32p8: 'matmul_f32p8', bf16p8: 'matmul_bf16p8', f16p8: 'matmul_f16p8',
};

/**
 * Bytes of the quantized activations for T rows of n, per 32-block: quantize_act_q16 (for q8 weights)
 * 32 i16 and an f32 scale; quantize_act_q8 (for q4) 32 i8, a scale and an i32 sum. The larger of the two.
 */
export const actQuantBytes = (T: number, n: number) => T * Math.ceil(n / 32) * 68;

/**
 * From this many tokens, q8/q4 matmuls run qgemm_q8/_q4 (kernels/qgemm.ts: each 8-row panel widened once,
 * 4-token integer tiles); below, one gemv per token (at T = 3 qgemm is 0.7× matmul_q8, at T = 4 1.1×; and
 * a batched decode step of 2 or 3 sequences takes 0.78× / 0.76× the CPU time of matmul_q8's T-row tile
 * when each row runs the decode gemv: SmolLM2-135M shape, 1 thread).
 */
export const QGEMM_MIN_T = 4;

/** Bytes of one thread's qgemm scratch for rows of n: a widened 8-row panel, 544 bytes per 32-block. */
export const qgemmScratchBytes = (n: number) => Math.ceil(n / 32) * 544;

/**
 * From this many tokens, f16 matmuls run gemm_f16p8 (each panel widened once into per-thread scratch, then
 * f32's tiles); below, matmul_f16p8 widens in registers per token. SmolLM2's gate/up (n 576, d 1536), one
 * thread, × f32: T 2 0.49 vs 0.47, T 3 0.63 vs 0.48, T 4 0.56 vs 0.35, T 128 0.94-0.98 vs 0.27-0.38.
 */
export const F16_GEMM_MIN_T = 2;

/** Bytes of one thread's gemm_f16p8 scratch for rows of n: one 8-row panel as f32. */
export const f16PanelBytes = (n: number) => n * 32;

/**
 * The scratch regions matmuls against `weights` need for up to C tokens on `threads` threads: q8/q4
 * activations quantized once (wdata) and one panel per thread (qpanel) for qgemm or gemm_f16p8.
 */
export function matmulScratchPlan(weights: Iterable<Tensor>, C: number, threads: number): RegionPlan[] {
  let qn = 0, fn = 0;
  for (const w of weights) {
    if (w.dtype === 'q8' || w.dtype === 'q4') qn = Math.max(qn, w.shape[1]);
    else if (w.dtype === 'f16p8') fn = Math.max(fn, w.shape[1]);
  }
  const panel = Math.max(qn && qgemmScratchBytes(qn), fn && f16PanelBytes(fn));
  return [...(qn ? [{ name: 'wdata', bytes: actQuantBytes(C, qn) }] : []), ...(panel ? [{ name: 'qpanel', bytes: threads * panel }] : [])];
}

/** The regions of a matmulScratchPlan, allocated. */
export function allocMatmulScratch(arena: Arena, plan: RegionPlan[], threads: number): QuantScratch {
  const t = (name: string, perThread: boolean): Tensor | undefined => {
    const p = plan.find((r) => r.name === name);
    return p && { name, ptr: arena.alloc(name, p.bytes), shape: perThread ? [threads, p.bytes / threads] : [p.bytes] };
  };
  return { wdata: t('wdata', false), qpanel: t('qpanel', true) };
}

/** Floats of one thread's encoderAttention scratch: QT (kernels/encoder_attention.ts: 4) rows of scores, a head's keys transposed. */
export const encoderAttentionFloats = (longest: number, headDim: number) => longest * (headDim + 4);

/** Default Ops.minParallelWork: 64K multiply-adds, a few microseconds of one core's SIMD. */
export const MIN_PARALLEL_WORK = 1 << 16;

/**
 * The activations and the norms are split across the threads too: unsplit, BERT's erf GELU alone took 15 %
 * of the real MiniLM's time on 256-token documents at 2 threads. Their cost per element in multiply-add
 * units, for split()'s threshold (the erf and tanh forms run an exp, a division and a polynomial).
 */
const GELU_COST = 16, SWIGLU_COST = 8, NORM_COST = 4;
/** Element chunks in whole cache lines (16 f32), so no two threads write one line. */
const ELEMENT_ALIGN = 16;

/** A session's scratch for q8/q4 and f16 matmuls (matmulScratchPlan); absent for f32 and bf16 weights. */
export interface QuantScratch {
  /** Activations quantized once per q8/q4 matmul (ggml's wdata), (actQuantBytes(C, widest n),) bytes. */
  wdata?: Tensor;
  /** Per-thread panels of qgemm (q8/q4) and gemm_f16p8, (threads, the larger of their bytes for the widest n). */
  qpanel?: Tensor;
}

/** Floats of score scratch one thread's attention needs at most (kernels/attention.ts BLOCK). */
export const ATTENTION_SCRATCH = 32;

/** Ops.attention's options; the defaults are Llama's attention. */
export interface AttentionOptions {
  /** Score multiplier; default 1/√headDim (Gemma 3: query_pre_attn_scalar^−0.5). */
  scale?: number;
  /** 0 (default): off; else scores → tanh(s / softcap) · softcap, after scaling (Gemma 2's attn_logit_softcapping). */
  softcap?: number;
  /** 0 (default): every earlier position; else only the last `window`, positions j with p − window < j ≤ p. */
  window?: number;
  /**
   * The caches as rings: position j at row j % ringRows, as Ops.storeKv(..., ringRows) wrote it. Needs
   * ringRows ≥ window + T − 1 (so this call's writes overwrote nothing its queries read) and ≤ the caches' rows.
   */
  ringRows?: number;
}

/** Ops.encoderAttention's options; the defaults are BERT's attention. */
export interface EncoderAttentionOptions {
  /** Score multiplier; default 1/√headDim. */
  scale?: number;
  /**
   * The band of keys j that query i (indices within its sequence) sees: i − left ≤ j ≤ i + right. Negative
   * (default): no limit on that side. right = 0 is causal attention; left = right = w − 1 a window of w each way.
   */
  left?: number;
  right?: number;
  /** Key/value heads, nHeads by default; fewer: grouped-query attention (query head h reads h / (nHeads / nKvHeads)). */
  nKvHeads?: number;
}

export class Ops {
  // Not readonly: an encoder sizes them for each run's largest batch.
  wdata?: Tensor;
  qpanel?: Tensor;

  /** With a pool, row- and head-ranged kernels are split across `threads` (≤ pool.threads) threads. */
  constructor(readonly k: Kernels, readonly pool?: ThreadPool, readonly threads = pool?.threads ?? 1, scratch: QuantScratch = {}) {
    this.wdata = scratch.wdata;
    this.qpanel = scratch.qpanel;
  }

  /**
   * Jobs under this many multiply-adds run on the calling thread alone: waking the workers costs
   * microseconds, more than such a job (stories260K decodes 2× slower when every op is split).
   */
  minParallelWork = MIN_PARALLEL_WORK;

  /** kernel(...args, r0, r1) over [lo, hi), split across the threads when there are several and `work` (multiply-adds) is worth it. */
  split(kernel: keyof Kernels, args: number[], lo: number, hi: number, work: number, align = ROW_ALIGN, scratch?: Scratch): void {
    if (this.pool && this.threads > 1 && hi - lo > align && work >= this.minParallelWork) this.pool.run(kernel, args, lo, hi, this.threads, align, scratch);
    else (this.k[kernel] as (...a: number[]) => void)(...args, lo, hi);
  }

  /** An activation over elements [0, n), split across the threads in whole vectors when `cost` × n is worth it. */
  private elementwise(kernel: keyof Kernels, args: number[], n: number, cost: number): void {
    this.split(kernel, args, 0, n, cost * n, ELEMENT_ALIGN);
  }

  /**
   * out (T, d) = x (T, n) @ w (d, n)ᵀ, by w's dtype. q8/q4: below QGEMM_MIN_T tokens a gemv per token;
   * from it, x quantized into wdata once for all threads (unless `quantized`: x is already there, as w's
   * dtype takes it), then qgemm. f16 runs gemm_f16p8 from F16_GEMM_MIN_T. The decode case T = 1 streams
   * the weights once.
   */
  matmul(out: Tensor, x: Tensor, w: Tensor, T: number, quantized = false): void {
    const [d, n] = w.shape;
    check(cols(x) === n && cols(out) === d && T <= rows(x) && T <= rows(out), 'matmul',
      () => `${out.name} ${out.shape} = ${x.name} ${x.shape} @ ${w.name} ${w.shape}ᵀ for ${T} rows`);
    const kernel = MATMUL[w.dtype ?? 'f32'];
    if ((w.dtype === 'q8' || w.dtype === 'q4') && T < QGEMM_MIN_T) {
      for (let t = 0; t < T; t++) this.gemv([rowsFrom(out, t)], rowsFrom(x, t), [w]);
    } else if (w.dtype === 'q8' || w.dtype === 'q4') {
      const wd = this.wdata;
      check(wd !== undefined && wd.shape[0] >= actQuantBytes(T, n), 'matmul',
        () => `${w.name} is ${w.dtype}: activation scratch of ${actQuantBytes(T, n)} bytes needed, have ${wd?.shape[0] ?? 0}`);
      if (!quantized && w.dtype === 'q8') this.k.quantize_act_q16(wd!.ptr, x.ptr, T, n);
      else if (!quantized) this.k.quantize_act_q8(wd!.ptr, x.ptr, T, n);
      const qp = this.qpanel;
      check(qp !== undefined && rows(qp) >= this.threads && cols(qp) >= qgemmScratchBytes(n), 'matmul',
        () => `${w.name} is ${w.dtype}: ${this.threads} threads' panel scratch of ${qgemmScratchBytes(n)} bytes needed, have ${qp?.shape ?? 'none'}`);
      this.split(w.dtype === 'q8' ? 'qgemm_q8' : 'qgemm_q4', [out.ptr, wd!.ptr, w.ptr, qp!.ptr, T, n, d], 0, d, T * n * d,
        ROW_ALIGN, { arg: 3, strideBytes: cols(qp!) });
    } else if (w.dtype === 'f16p8' && T >= F16_GEMM_MIN_T) {
      const qp = this.qpanel;
      check(qp !== undefined && rows(qp) >= this.threads && cols(qp) >= f16PanelBytes(n), 'matmul',
        () => `${w.name} is f16: ${this.threads} threads' panel scratch of ${f16PanelBytes(n)} bytes needed, have ${qp?.shape ?? 'none'}`);
      this.split('gemm_f16p8', [out.ptr, x.ptr, w.ptr, qp!.ptr, T, n, d], 0, d, T * n * d, ROW_ALIGN, { arg: 3, strideBytes: cols(qp!) });
    } else if (kernel) {
      this.split(kernel, [out.ptr, x.ptr, w.ptr, T, n, d], 0, d, T * n * d);
    } else if (T === 1) {
      this.split('matvec_f32', [out.ptr, x.ptr, w.ptr, n], 0, d, n * d);
    } else {
      this.split('matmul_f32', [out.ptr, x.ptr, w.ptr, T, n, d], 0, d, T * n * d);
    }
  }

  /**
   * outs[i] (T, d_i) = x @ ws[i]ᵀ for up to 3 weights that read the same x (q/k/v, gate/up). Each q8 or q4
   * token below QGEMM_MIN_T goes through gemv (x quantized once, one job); from it, x is quantized once for
   * all of them; anything else is one matmul each.
   */
  matmuls(outs: Tensor[], x: Tensor, ws: Tensor[], T: number): void {
    const dt = ws[0].dtype, quant = (dt === 'q8' || dt === 'q4') && ws.every((w) => w.dtype === dt);
    if (T < QGEMM_MIN_T && quant && ws.length <= 3) {
      for (let t = 0; t < T; t++) this.gemv(outs.map((o) => rowsFrom(o, t)), rowsFrom(x, t), ws);
    } else ws.forEach((w, i) => this.matmul(outs[i], x, w, T, quant && i > 0));
  }

  /** One token through up to 3 q8 or q4 weights (d_i, n) of one dtype: x quantized once, their rows split as one job. */
  gemv(outs: Tensor[], x: Tensor, ws: Tensor[]): void {
    const n = cols(x), wd = this.wdata, q8 = ws[0].dtype === 'q8';
    check(ws.length <= 3 && outs.length === ws.length, 'gemv', () => `${ws.length} weights, ${outs.length} outputs: 1 to 3 of each`);
    ws.forEach((w, i) => check(w.dtype === ws[0].dtype && (q8 || w.dtype === 'q4') && w.shape[1] === n && cols(outs[i]) === w.shape[0], 'gemv',
      () => `${outs[i].name} ${outs[i].shape} = ${x.name} ${x.shape} @ ${w.name} ${w.shape} ${w.dtype}ᵀ (weights ${ws[0].dtype})`));
    check(wd !== undefined && wd.shape[0] >= actQuantBytes(1, n), 'gemv',
      () => `activation scratch of ${actQuantBytes(1, n)} bytes needed, have ${wd?.shape[0] ?? 0}`);
    if (q8) this.k.quantize_act_q16(wd!.ptr, x.ptr, 1, n);
    else this.k.quantize_act_q8(wd!.ptr, x.ptr, 1, n);
    const [o0, o1, o2] = [0, 1, 2].map((i) => outs[i]?.ptr ?? 0), [w0, w1, w2] = [0, 1, 2].map((i) => ws[i]?.ptr ?? 0);
    const [d0, d1, d2] = [0, 1, 2].map((i) => ws[i]?.shape[0] ?? 0), d = d0 + d1 + d2;
    this.split(q8 ? 'gemv_q8' : 'gemv_q4', [o0, o1, o2, wd!.ptr, w0, w1, w2, n, d0, d1, d2], 0, d, n * d);
  }

  rmsnorm(out: Tensor, x: Tensor, w: Tensor, T: number, eps: number): void {
    check(cols(x) === w.shape[0] && cols(out) === cols(x), 'rmsnorm', () => `${x.name} ${x.shape} with ${w.name} ${w.shape}`);
    this.split('rmsnorm_f32', [out.ptr, x.ptr, w.ptr, cols(x), eps], 0, T, NORM_COST * T * cols(x), 1);
  }

  /**
   * Per-head RMSNorm (Qwen3's q_norm / k_norm): each head of x (T, nHeads * headDim) normalised on its own with
   * w (headDim,): rmsnorm_f32 over T · nHeads rows of headDim. out may alias x.
   */
  rmsnormHeads(out: Tensor, x: Tensor, w: Tensor, nHeads: number, T: number, eps: number): void {
    const headDim = w.shape[0];
    check(cols(x) === nHeads * headDim && cols(out) === cols(x) && T <= rows(x) && T <= rows(out), 'rmsnormHeads',
      () => `${out.name} ${out.shape} = ${x.name} ${x.shape} as ${nHeads} heads normed by ${w.name} ${w.shape}, ${T} rows`);
    this.split('rmsnorm_f32', [out.ptr, x.ptr, w.ptr, headDim, eps], 0, T * nHeads, NORM_COST * T * nHeads * headDim, 1);
  }

  /** out[t, :] = table[ids[t], :], dequantized from the table's dtype. */
  embed(out: Tensor, table: Tensor, ids: ArrayLike<number>): void {
    const dim = cols(table), vocab = rows(table), k = this.k;
    for (let t = 0; t < ids.length; t++) {
      const o = out.ptr + t * cols(out) * 4, id = ids[t];
      switch (table.dtype ?? 'f32') {
        case 'f32p8': k.embed_f32p8(o, table.ptr, id, dim); break;
        case 'bf16p8': k.embed_bf16p8(o, table.ptr, id, dim); break;
        case 'f16p8': k.embed_f16p8(o, table.ptr, id, dim); break;
        case 'q8': k.embed_q8(o, table.ptr, id, dim, vocab); break;
        case 'q4': k.embed_q4(o, table.ptr, id, dim, vocab); break;
        default: k.embed_f32(o, table.ptr, id, dim);
      }
    }
  }

  /**
   * Write T rows of x (T, kvDim) f32 into a KV cache (ctx, kvDim) as the cache's dtype: at rows [pos0, pos0 + T),
   * or, with ringRows, position p at row p % ringRows of a ring (wrapping within the call; T ≤ ringRows ≤ ctx).
   */
  storeKv(cache: Tensor, x: Tensor, pos0: number, T: number, ringRows?: number): void {
    const R = ringRows ?? rows(cache);
    check(cols(cache) === cols(x) && T <= rows(x) && (ringRows === undefined ? pos0 + T <= R : Number.isInteger(R) && T <= R && R <= rows(cache)),
      'storeKv', () => `${T} rows of ${x.name} ${x.shape} at position ${pos0} of ${cache.name} ${cache.shape}${ringRows === undefined ? '' : ` as a ring of ${ringRows} rows`}`);
    const row0 = pos0 % R, first = Math.min(T, R - row0);
    this.storeRows(cache, row0, x, first);
    if (first < T) this.storeRows(cache, 0, rowsFrom(x, first), T - first);
  }

  private storeRows(cache: Tensor, row: number, x: Tensor, T: number): void {
    const dst = rowsFrom(cache, row).ptr;
    if (cache.dtype === 'f16') this.k.store_f16(dst, x.ptr, T * cols(x));
    else this.k.copy_f32(dst, x.ptr, T * cols(x));
  }

  /**
   * In place on x (T, nHeads * headDim): RoPE on the first rotDim dims of each head (default all; fewer is
   * partial rotary), with angles cos, sin (T, rotDim / 2).
   */
  rope(x: Tensor, cos: Tensor, sin: Tensor, nHeads: number, headDim: number, T: number, rotDim = headDim): void {
    check(cols(x) === nHeads * headDim && rotDim % 2 === 0 && rotDim > 0 && rotDim <= headDim && cols(cos) === rotDim / 2 && cols(sin) === rotDim / 2,
      'rope', () => `${x.name} ${x.shape} as ${nHeads}×${headDim}, rotating ${rotDim} dims with ${cos.name} ${cos.shape}, ${sin.name} ${sin.shape}`);
    this.k.rope_f32(x.ptr, cos.ptr, sin.ptr, nHeads, headDim, rotDim, T);
  }

  /**
   * Causal attention: out, q (T, nHeads * headDim), query t at position pos0 + t, over the keys and values of
   * kc, vc (ctx, kvDim) (kernels/attention.ts). By default every earlier position, at row = position, scores
   * scaled by 1/√headDim; `opts` sets the scale, a softcap, a sliding window and a ring cache (AttentionOptions).
   * att holds one scratch row per thread, (threads, ≥ min(32, keys per query)), since threads split the heads.
   */
  attention(out: Tensor, q: Tensor, kc: Tensor, vc: Tensor, att: Tensor, nHeads: number, nKvHeads: number,
            headDim: number, pos0: number, T: number, opts: AttentionOptions = {}): void {
    const { scale = 1 / Math.sqrt(headDim), softcap = 0, window = 0, ringRows } = opts;
    const attRow = cols(att), R = ringRows ?? rows(kc);
    // Positions whose rows must all be distinct: what the first query sees up to what this call wrote.
    const live = window > 0 ? Math.min(pos0 + T, window + T - 1) : pos0 + T;
    const longest = window > 0 ? Math.min(window, pos0 + T) : pos0 + T;
    check(Number.isInteger(window) && window >= 0 && softcap >= 0 && cols(kc) === nKvHeads * headDim && cols(vc) === cols(kc) &&
      (ringRows === undefined ? pos0 + T <= R : Number.isInteger(R) && live <= R && R <= rows(kc)) && rows(vc) >= R, 'attention',
      () => `positions ${pos0}..${pos0 + T} in caches ${kc.shape}, ${vc.shape} of ${nKvHeads}×${headDim}` +
        `${window ? `, window ${window}` : ''}${ringRows === undefined ? '' : `, a ring of ${ringRows} rows (≥ ${live})`}${softcap < 0 ? `, softcap ${softcap} < 0` : ''}`);
    check(attRow >= Math.min(ATTENTION_SCRATCH, longest) && rows(att) >= this.threads, 'attention',
      () => `${this.threads} threads' scores (${Math.min(ATTENTION_SCRATCH, longest)} each) in ${att.name} ${att.shape}`);
    let keys = 0; // multiply-adds per head and dim: each query's visible positions
    for (let t = 0; t < T; t++) keys += window > 0 ? Math.min(window, pos0 + t + 1) : pos0 + t + 1;
    const kernel = kc.dtype === 'f16' ? 'attention_f16kv' : 'attention_f32';
    this.split(kernel, [out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, nHeads, nKvHeads, headDim, pos0, T, scale, softcap, window, R], 0, nHeads,
      2 * keys * nHeads * headDim, 1, { arg: 4, strideBytes: attRow * 4 });
  }

  /** out = silu(gate) * up over the first T rows. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor, T: number): void {
    this.elementwise('swiglu_f32', [out.ptr, gate.ptr, up.ptr], T * cols(gate), SWIGLU_COST);
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

  /** LayerNorm over the first T rows: out = (x − mean) / sqrt(var + eps) * w + b. out may alias x. */
  layernorm(out: Tensor, x: Tensor, w: Tensor, b: Tensor, T: number, eps: number): void {
    check(cols(x) === w.shape[0] && cols(x) === b.shape[0] && cols(out) === cols(x) && T <= rows(x) && T <= rows(out), 'layernorm',
      () => `${x.name} ${x.shape} with ${w.name} ${w.shape}, ${b.name} ${b.shape} for ${T} rows`);
    this.split('layernorm_f32', [out.ptr, x.ptr, w.ptr, b.ptr, cols(x), eps], 0, T, NORM_COST * T * cols(x), 1);
  }

  /** out = gelu(x) (erf form) over the first T rows. out may alias x. */
  gelu(out: Tensor, x: Tensor, T: number): void {
    check(cols(out) === cols(x) && T <= rows(x) && T <= rows(out), 'gelu', () => `${out.name} ${out.shape} = gelu(${x.name} ${x.shape}) for ${T} rows`);
    this.elementwise('gelu_f32', [out.ptr, x.ptr], T * cols(x), GELU_COST);
  }

  /** out = gelu_tanh(x) (transformers' gelu_pytorch_tanh) over the first T rows. out may alias x. */
  geluTanh(out: Tensor, x: Tensor, T: number): void {
    check(cols(out) === cols(x) && T <= rows(x) && T <= rows(out), 'geluTanh', () => `${out.name} ${out.shape} = gelu_tanh(${x.name} ${x.shape}) for ${T} rows`);
    this.elementwise('gelu_tanh_f32', [out.ptr, x.ptr], T * cols(x), GELU_COST);
  }

  /** out = gelu_tanh(gate) * up over the first T rows (Gemma's MLP). out may alias gate. */
  geglu(out: Tensor, gate: Tensor, up: Tensor, T: number): void {
    check([out, up].every((t) => cols(t) === cols(gate) && T <= rows(t)) && T <= rows(gate), 'geglu',
      () => `${out.name} ${out.shape} = gelu_tanh(${gate.name} ${gate.shape}) * ${up.name} ${up.shape} for ${T} rows`);
    this.elementwise('geglu_tanh_f32', [out.ptr, gate.ptr, up.ptr], T * cols(gate), GELU_COST);
  }

  /** In place over the first T rows: x = tanh(x / cap) * cap (Gemma 2's final_logit_softcapping). */
  softcap(x: Tensor, T: number, cap: number): void {
    check(cap > 0 && T * cols(x) <= elements(x), 'softcap', () => `${T} rows of ${x.name} ${x.shape} capped at ${cap} (> 0)`);
    this.k.softcap_f32(x.ptr, T * cols(x), cap);
  }

  /** In place over the first T rows: x = x * s. */
  scale(x: Tensor, T: number, s: number): void {
    check(T * cols(x) <= elements(x), 'scale', () => `${T} rows of ${x.name} ${x.shape}`);
    this.k.scale_f32(x.ptr, T * cols(x), s);
  }

  /**
   * Attention within each sequence of a packed batch: sequence s is rows [offsets[s], offsets[s+1]) of
   * q, k, v, out (N, nHeads * headDim); `offs` holds the same offsets as i32 in the arena. By default
   * bidirectional over the whole sequence with scores scaled by 1/√headDim; `opts` sets the scale and a band
   * (EncoderAttentionOptions). att holds one row per thread, (threads, ≥ encoderAttentionFloats(longest, headDim)): four
   * queries' scores and a head's transposed keys.
   */
  encoderAttention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, att: Tensor, offs: Tensor,
                   offsets: ArrayLike<number>, nHeads: number, headDim: number, opts: EncoderAttentionOptions = {}): void {
    const { scale = 1 / Math.sqrt(headDim), left = -1, right = -1, nKvHeads = nHeads } = opts;
    const nSeq = offsets.length - 1, N = offsets[nSeq], attRow = cols(att);
    let longest = 0, ordered = nSeq >= 0 && offsets[0] === 0;
    for (let s = 0; s < nSeq; s++) {
      longest = Math.max(longest, offsets[s + 1] - offsets[s]);
      ordered &&= offsets[s + 1] >= offsets[s];
    }
    check(ordered && offs.shape[0] >= nSeq + 1, 'encoderAttention', () => `offsets [${Array.from(offsets)}] in ${offs.name} ${offs.shape}`);
    check(Number.isInteger(left) && Number.isInteger(right), 'encoderAttention', () => `band left ${left}, right ${right}: integers (negative: unlimited)`);
    check([out, q].every((t) => cols(t) === nHeads * headDim && rows(t) >= N) && [k, v].every((t) => cols(t) === nKvHeads * headDim && rows(t) >= N) &&
      nHeads % nKvHeads === 0 && attRow >= encoderAttentionFloats(longest, headDim) && rows(att) >= this.threads, 'encoderAttention',
      () => `${N} rows of ${nHeads}×${headDim} in ${q.name} ${q.shape}, of ${nKvHeads}×${headDim} in ${k.name} ${k.shape}, longest sequence ${longest} × (headDim + 4) and ${this.threads} threads in ${att.name} ${att.shape}`);
    const band = (left < 0 ? longest : Math.min(longest, left + 1)) + (right < 0 ? longest : Math.min(longest, right)); // keys per query at most
    this.split('encoder_attention_f32', [out.ptr, q.ptr, k.ptr, v.ptr, att.ptr, offs.ptr, nSeq, nHeads, nKvHeads, headDim, scale, left, right], 0, nHeads,
      2 * N * Math.min(longest, band) * nHeads * headDim, 1, { arg: 4, strideBytes: attRow * 4 });
  }
}

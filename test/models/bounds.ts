// The oracle tests' bounds per weight mode ('none': weights as stored; 'q8': issue 4's blocks of 32 made at
// load, lossy by design), each beside the measurement it was set from, so a rerun after a kernel change
// can be judged against its margin. Used by llama.test.ts, threads.test.ts, ../cli.test.ts, ../session.test.ts.

export const QUANT_MODES = ['none', 'q8'] as const;
export type Mode = (typeof QUANT_MODES)[number];

/**
 * Measured 2026-11-28 on this machine, the same to the digits given on both SIMD modules (unless both are
 * listed) and at threads 1 and 2 (stories260K logits span about ±20, tiny-qwen2's ±1.5). `none` keeps the core issue's bounds.
 */
export interface Bounds {
  /**
   * Greedy ids from BOS that must equal llama2.c run.c's 200. none: all 200 (and the text). q8: issue 4's
   * own bound, "q8 keeps the greedy ids of f32 for at least the first 100 tokens"; measured: q8 first
   * leaves run.c's path at step 114.
   */
  greedySteps: number;
  /**
   * stories260K last-position logits vs the float64 reference, max abs. none: measured 5.1e-5, 5.3e-5
   * (the core issue's bound, 10×). q8: measured 0.172, 0.105 (8-ids and 11-ids checks); bound 2×.
   */
  storiesLogitAtol: number;
  /**
   * tiny-qwen2 logits at every position vs transformers (float64): |ours − ref| ≤ atol + rtol·|ref|.
   * none: max abs error measured 5.6e-7 (baseline), 4.7e-7 (relaxed); the core issue's bound. q8:
   * measured 0.0209 (about 1260× the none bound); bound 2×, absolute, since q8's error follows the block
   * scales, not each logit.
   */
  qwenAtol: number;
  qwenRtol: number;
  /**
   * 16-bit copies (stories260K-bf16, -f16) against the f32 model loaded in the same mode, max abs logit
   * difference over BOS + the first 16 greedy ids. none: measured 0.093 (bf16), 0.0166 (f16). q8:
   * measured 0.231 (bf16), 0.098 (f16): rounding to 16 bits first moves some weights across a q8 step.
   * (Against the unquantized f32 model the q8 copies measure 0.284 and 0.241.) Bounds about 2×.
   */
  bf16Atol: number;
  f16Atol: number;
  /**
   * Prefill at once vs in chunks of 7 vs token by token, over 40 ids: |a − b| ≤ rtol·(1 + |b|).
   * none: measured 8.6e-6 (baseline), 9.1e-6 (relaxed): the 4×8 prefill tile and the decode GEMV sum in
   * different orders. q8: prefill (T ≥ 4: qgemm_q8) and decode (matmul_q8) run the same integer dots on
   * the same 16-bit activations but sum the f32 block products in different orders (kernel outputs agree
   * to ~2e-7 relative); a later layer's activation that lands on a 16-bit rounding boundary then moves
   * by one step, so the logits differ by up to 1.05e-3 (baseline), 1.29e-3 (relaxed) (max abs 1.4e-3,
   * 1% of q8's own error); chunks of 7 vs at once: 0. Bound about 2×. A T > 1 kernel that quantizes
   * activations differently from decode (e.g. to 8 bits) would differ by about q8's own error (≈0.1 here):
   * then this bound fails and must be re-measured, not widened blindly.
   */
  prefillRtol: number;
}

export const BOUNDS: Record<Mode, Bounds> = {
  none: { greedySteps: 200, storiesLogitAtol: 5e-4, qwenAtol: 1e-5, qwenRtol: 1e-4, bf16Atol: 0.2, f16Atol: 0.035, prefillRtol: 1e-5 },
  q8: { greedySteps: 100, storiesLogitAtol: 0.35, qwenAtol: 0.04, qwenRtol: 0, bf16Atol: 0.5, f16Atol: 0.2, prefillRtol: 3e-3 },
};

/** Largest |got − want|, for the logged measurement next to a bound. */
export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

/** The step where ids first leave the oracle path, or -1 if they never do. */
export const firstDifference = (ids: number[], want: number[]): number => ids.findIndex((id, i) => id !== want[i]);

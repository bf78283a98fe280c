// Element-wise kernels: softmax, gated activation, residual and bias adds, softcapping and scaling.
import { exp_f32x4 } from "./vexp";
import { tanh_f32x4 } from "./vtanh";

/** In place: x = softmax(x) over n elements, max subtracted first for stability. */
export function softmax_f32(x: usize, n: i32): void {
  let max = -Infinity as f32;
  for (let i = 0; i < n; i++) max = Mathf.max(max, load<f32>(x + (<usize>i << 2)));
  let sum: f32 = 0;
  for (let i = 0; i < n; i++) {
    const e = Mathf.exp(load<f32>(x + (<usize>i << 2)) - max);
    store<f32>(x + (<usize>i << 2), e);
    sum += e;
  }
  const inv = f32x4.splat(1 / sum);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), inv));
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) / sum);
}

// @ts-ignore: decorator
@inline function swiglu_f32x4(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.div(g, f32x4.add(f32x4.splat(1), exp_f32x4(f32x4.neg(g)))), u);
}

/**
 * SiLU-gated MLP activation over elements [i0, i1): out = silu(gate) * up = gate / (1 + e^-gate) * up, four lanes at a time (the
 * tail through lane 0, so every element gets the same ops). out may alias gate.
 */
export function swiglu_f32(out: usize, gate: usize, up: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, swiglu_f32x4(v128.load(gate + o), v128.load(up + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(swiglu_f32x4(f32x4.splat(load<f32>(gate + o)), f32x4.splat(load<f32>(up + o))), 0));
  }
}

/** Residual add: out = a + b over n elements. out may alias a or b. */
export function add_f32(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)));
}

/** Bias add over T rows: x[t,:] += b. x (T, n), b (n,). */
export function add_rows_f32(x: usize, b: usize, n: i32, T: i32): void {
  for (let t = 0; t < T; t++) add_f32(x + (<usize>(t * n) << 2), x + (<usize>(t * n) << 2), b, n);
}

// @ts-ignore: decorator
@inline export function softcap_f32x4(x: v128, cap: v128): v128 {
  return f32x4.mul(tanh_f32x4(f32x4.div(x, cap)), cap);
}

/** In place: x = tanh(x / cap) · cap over n elements (Gemma 2's final_logit_softcapping); cap > 0. */
export function softcap_f32(x: usize, n: i32, cap: f32): void {
  const c = f32x4.splat(cap);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), softcap_f32x4(v128.load(x + (<usize>i << 2)), c));
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, f32x4.extract_lane(softcap_f32x4(f32x4.splat(load<f32>(x + o)), c), 0));
  }
}

/** In place: x = x · s over n elements. */
export function scale_f32(x: usize, n: i32, s: f32): void {
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), vs));
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * s);
}

// Float64 references of the element-wise kernels in kernels/act.ts: softmax, SiLU-gated MLP activation,
// logit softcapping, scaling and the residual and bias adds. Inputs are the f32 values the kernels read.

export type Vec = ArrayLike<number>;

/** softmax(x) = e^(x − max) / Σ e^(x − max). */
export function softmax(x: Vec): Float64Array {
  const max = Math.max(...Array.from(x));
  const e = Float64Array.from(x, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** silu(g) = g · sigmoid(g) = g / (1 + e^−g). */
const siluOf = (g: number): number => g / (1 + Math.exp(-g));

/** swiglu: silu(gate) · up, element by element (llama's MLP). */
export function swiglu(gate: Vec, up: Vec): Float64Array {
  return Float64Array.from(gate, (g, i) => siluOf(g) * up[i]);
}

/** softcap: tanh(x / cap) · cap, which bounds x to (−cap, cap) and is ~x for |x| ≪ cap (Gemma 2's logit softcapping). */
export function softcap(x: Vec, cap: number): Float64Array {
  return Float64Array.from(x, (v) => Math.tanh(v / cap) * cap);
}

/** x · s. */
export function scale(x: Vec, s: number): Float64Array {
  return Float64Array.from(x, (v) => v * s);
}

/** a + b rounded to f32, as one f32 add is: the kernel must match it exactly. */
export function add(a: Vec, b: Vec): Float64Array {
  return Float64Array.from(a, (v, i) => Math.fround(v + b[i]));
}

/** x (T, n) with b (n,) added to each row, rounded to f32. */
export function addRows(x: Vec, b: Vec, n: number): Float64Array {
  return Float64Array.from(x, (v, i) => Math.fround(v + b[i % n]));
}

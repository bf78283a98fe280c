// Float64 references of the GELUs (kernels/gelu.ts): the exact erf form (BERT's "gelu"), the tanh
// approximation (transformers' gelu_pytorch_tanh) and Gemma's GELU-gated MLP. erf is evaluated here from
// its series and continued fraction, since JavaScript has no Math.erf.

export type Vec = ArrayLike<number>;

/** erf(z) for z ≥ 0: Maclaurin series below 3, 1 − erfc's continued fraction above. */
export function erfPos(z: number): number {
  if (z >= 3) return 1 - erfcCf(z);
  let term = z, sum = z;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= -z * z / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))) for z ≥ 3, evaluated from 80 levels down. */
export function erfcCf(z: number): number {
  let f = z;
  for (let n = 80; n >= 1; n--) f = z + (n / 2) / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** gelu(x) = x/2 · (1 + erf(x/√2)); for x < 0, 1 + erf(x/√2) = erfc(|x|/√2), kept accurate in the tail. */
export function gelu(x: Vec): Float64Array {
  return Float64Array.from(x, (v) => {
    const z = Math.abs(v) / Math.SQRT2;
    const onePlusErf = v >= 0 ? 1 + erfPos(z) : (z < 3 ? 1 - erfPos(z) : erfcCf(z));
    return 0.5 * v * onePlusErf;
  });
}

/**
 * gelu_tanh(x) = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), written as x / (1 + e^{−2u}): the same
 * function, but 1 + tanh(u) cancels to nothing below x ≈ −4 in any precision.
 */
const geluTanhOf = (v: number): number => v / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** gelu_tanh of each element (transformers' gelu_pytorch_tanh). */
export function geluTanh(x: Vec): Float64Array {
  return Float64Array.from(x, geluTanhOf);
}

/** geglu: gelu_tanh(gate) · up, element by element (Gemma's MLP). */
export function geglu(gate: Vec, up: Vec): Float64Array {
  return Float64Array.from(gate, (g, i) => geluTanhOf(g) * up[i]);
}

// Float64 references of the 16-bit float formats (kernels/convert.ts, f16.ts, panel.ts, attention.ts's
// store_f16): bits ↔ numbers straight from the IEEE binary16 and bfloat16 definitions.

/** f16 bits → number: sign, 5-bit exponent with bias 15, 10-bit mantissa; exponent 0 is subnormal, 31 inf/NaN. */
export function decodeF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → f16 bits, rounded to nearest with ties to even; ±inf from 65520 up, NaN → 0x7e00. */
export function encodeF16(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0, a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  let e = a < 2 ** -14 ? -14 : Math.floor(Math.log2(a));
  if (e > -14 && a < 2 ** e) e--; // log2 rounded up just below a power of two
  const q = a / 2 ** (e - 10); // the mantissa as a multiple of the last place (exact for an f32 input)
  let r = Math.floor(q);
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++;
  if (r < 1024) return sign | r; // subnormal (e = -14), or rounded down to zero
  if (r === 2048) { e++; r = 1024; }
  return sign | ((e + 15) << 10) | (r - 1024);
}

/** bf16 bits → number: the upper half of an f32, the lower half zero. */
export function decodeBf16(bits: number): number {
  return new Float32Array(Uint32Array.of(bits << 16).buffer)[0];
}

/** number (rounded to f32 first) → bf16 bits, rounded to nearest with ties to even as torch does; NaN → 0x7fc0. */
export function encodeBf16(v: number): number {
  if (Number.isNaN(v)) return 0x7fc0;
  const f = new Uint32Array(Float32Array.of(v).buffer)[0];
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

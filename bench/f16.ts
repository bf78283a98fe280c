// f32 → IEEE f16 bits, round to nearest even (GGUF Q8_0 scales, ONNX float16 if ever needed).
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0], sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - e + 13), rem = (mant | 0x800000) & ((1 << (14 - e)) - 1), halfway = 1 << (13 - e);
    return sign | (m + (rem > halfway || (rem === halfway && (m & 1)) ? 1 : 0));
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return h;
}

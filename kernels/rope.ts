// Rotary position embedding in Hugging Face's rotate-half layout: within each head the
// pairs are (i, i + headDim/2), not llama2.c's interleaved (2i, 2i+1). HF checkpoints store
// q/k rows permuted so that this layout computes the same function (convert_llama_weights_to_hf.py).

/**
 * Rotate T rows of nHeads heads in place: in each head the pairs (i, i + rotDim/2) for i < rotDim/2, so the
 * first rotDim dims (rotDim even, ≤ headDim; < headDim is Phi-3's partial rotary) and the rest untouched.
 * x (T, nHeads*headDim); cos, sin (T, rotDim/2): the angles for each row's position, made once per forward.
 */
export function rope_f32(x: usize, cos: usize, sin: usize, nHeads: i32, headDim: i32, rotDim: i32, T: i32): void {
  const half = rotDim >> 1;
  for (let t = 0; t < T; t++) {
    const ct = cos + (<usize>(t * half) << 2), st = sin + (<usize>(t * half) << 2);
    for (let h = 0; h < nHeads; h++) {
      const xh = x + (<usize>((t * nHeads + h) * headDim) << 2);
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = <usize>i << 2;
        const a = v128.load(xh + o), b = v128.load(xh + o + (<usize>half << 2));
        const c = v128.load(ct + o), s = v128.load(st + o);
        v128.store(xh + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
        v128.store(xh + o + (<usize>half << 2), f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
      }
      for (; i < half; i++) {
        const o = <usize>i << 2;
        const a = load<f32>(xh + o), b = load<f32>(xh + o + (<usize>half << 2));
        const c = load<f32>(ct + o), s = load<f32>(st + o);
        store<f32>(xh + o, a * c - b * s);
        store<f32>(xh + o + (<usize>half << 2), b * c + a * s);
      }
    }
  }
}

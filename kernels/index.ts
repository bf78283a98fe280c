// The wasm ABI: every exported kernel. Kernels know pointers, sizes and dtypes, never models.
export { matvec_f32, matmul_f32 } from "./matmul";
export { rmsnorm_f32 } from "./norm";
export { rope_f32 } from "./rope";
export { attention_f32 } from "./attention";
export { softmax_f32, swiglu_f32, add_f32, add_rows_f32 } from "./act";
export { embed_f32, widen_bf16_f32, widen_f16_f32 } from "./convert";

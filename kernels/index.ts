// The wasm ABI: every exported kernel. Kernels know pointers, sizes and dtypes, never models.
export { matvec_f32, matmul_f32 } from "./matmul";
export { rmsnorm_f32 } from "./norm";
export { rope_f32 } from "./rope";
export { attention_f32, attention_f16kv, store_f16, copy_f32 } from "./attention";
export { matmul_f32p8, matmul_bf16p8, matmul_f16p8, gemm_f16p8, pack_f32p8, pack_u16p8, embed_f32p8, embed_bf16p8, embed_f16p8 } from "./panel";
export { quantize_q8, quantize_q4, quantize_act_q8, quantize_act_q16, matmul_q8, matmul_q4, gemv_q8, gemv_q4, embed_q8, embed_q4 } from "./quant";
export { qgemm_q8, qgemm_q4 } from "./qgemm";
export { softmax_f32, swiglu_f32, add_f32, add_rows_f32, softcap_f32, scale_f32 } from "./act";
export { embed_f32, widen_bf16_f32, widen_f16_f32 } from "./convert";
export { layernorm_f32 } from "./layernorm";
export { gelu_f32, gelu_tanh_f32, geglu_tanh_f32 } from "./gelu";
export { encoder_attention_f32 } from "./encoder_attention";

// What a model needs, from config.json alone: its parameters and the bytes its weights take in each
// layout, and its KV cache per position. `tide info` and the benches read real configs with it.
import type { WeightEntry } from '../families/family.js';
import { familyOf, type AnySpec, type Family } from '../families/registry.js';
import type { DecoderSpec } from '../families/decoder.js';
import type { StDtype } from '../formats/safetensors.js';
import { boundShape } from './load.js';
import { f16Elements, numel, storageFor, tensorBytes, widensF16, type Quantize } from './weights.js';

export interface ModelPlan {
  family: Family;
  spec: AnySpec;
  /** The checkpoint tensors it reads (a fused tensor appears once per field it binds). */
  table: WeightEntry[];
  parameters: number;
  /** Bytes of the weights as loaded with each `quantize` (the checkpoint's dtype decides 'none'). */
  weightBytes: Record<Quantize, number>;
  /** KV cache bytes (f32) for a context of ctx positions; windowed layers hold a ring of their window. */
  kvBytes(ctx: number): number;
}

const DTYPES: Record<string, StDtype> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };

/** The plan of a parsed config.json; `dtype` is the checkpoint's (default: config's torch_dtype / dtype, else F32). */
export function planModel(config: Record<string, unknown>, file: string, dtype?: StDtype): ModelPlan {
  const family = familyOf(config.model_type, file);
  const spec = family.readSpec(config, file);
  const src = dtype ?? DTYPES[String(config.torch_dtype ?? config.dtype)] ?? 'F32';
  // Without a checkpoint, names are read as a causal LM's (with the "model." prefix).
  const table = (family.weights as (s: AnySpec, has: (hf: string) => boolean) => ReturnType<Family['weights']>)(spec, (hf) => hf.startsWith('model.') || !hf.includes('.'));
  // f16 'auto' (LoadOptions.f16) widens small f16 models' matrices; the budget is not known here.
  const f16 = f16Elements(storageFor(family.kind, 'none'), table.map((e) => [e.hf, boundShape(e), src]));
  const bytes = (q: Quantize) => table.reduce((sum, e) => {
    const storage = storageFor(family.kind, q, q === 'none' && widensF16('auto', f16));
    return sum + tensorBytes(storage(e.hf, boundShape(e), src), boundShape(e));
  }, 0);
  const parameters = table.reduce((sum, e) => sum + numel(boundShape(e)), 0);
  const kvBytes = (ctx: number) => family.kind !== 'decoder' ? 0
    : (spec as DecoderSpec).layers.reduce((sum, k) => sum + 2 * Math.min(ctx, k.window || ctx) * (spec as DecoderSpec).kvDim * 4, 0);
  return { family, spec, table, parameters, weightBytes: { none: bytes('none'), q8: bytes('q8'), q4: bytes('q4') }, kvBytes };
}

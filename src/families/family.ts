// What a model family is: data the runtime reads. A registry entry (src/families/registry.ts) maps a
// config.json model_type to one of these; the loader and sessions know no family by name.
import type { Json } from './config.js';

/**
 * One checkpoint tensor the model reads: its Hugging Face name and shape, written once, and where it is
 * bound (`field`, of layer `layer` or of the model). `rows` takes rows [r0, r1) of a fused tensor
 * (Phi-3's qkv_proj and gate_up_proj), so one checkpoint tensor can bind several fields.
 */
export interface WeightEntry { hf: string; shape: number[]; field: string; layer?: number; rows?: [number, number] }

/**
 * A family record: its config reader and its checkpoint names (`has` tells whether the checkpoint holds
 * a name: a bare base model has no "model." prefix). The graph it runs is its kind's (decoder.ts, bert.ts).
 */
export interface FamilyRecord<K extends 'decoder' | 'encoder', S> {
  kind: K;
  readSpec(config: Json, file: string): S;
  weights(spec: S, has: (hf: string) => boolean): WeightEntry[];
  /**
   * Checkpoint tensors the family leaves unread on purpose: buffers older transformers saved (recomputed
   * here) and heads of task models it runs without. Any other tensor outside the table is an error.
   */
  unread: RegExp;
}

/** The loaded tensors by field: the model's own, and each layer's (the table says which is which). */
export function gather<T>(table: WeightEntry[], nLayers: number, get: (e: WeightEntry) => T): { top: Record<string, T>; layers: Record<string, T>[] } {
  const top: Record<string, T> = {};
  const layers = Array.from({ length: nLayers }, () => ({}) as Record<string, T>);
  for (const e of table) (e.layer === undefined ? top : layers[e.layer])[e.field] = get(e);
  return { top, layers };
}

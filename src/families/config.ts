// Reading Hugging Face config.json fields: typed getters that name the file and field in every error, and
// the bounds on every size a config gives, checked as the field is read: before anything is sized by it.
import { ConfigError } from '../errors.js';

export type Json = Record<string, unknown>;

/**
 * The largest value each size field may take. Each is far above every published model (the largest
 * known in the comment), so only a corrupt or hostile config meets one; what the sizes multiply to is
 * bounded next, by the memory plan (src/runtime/load.ts), before any table or tensor is made.
 */
export const SIZE_LIMITS = Object.freeze({
  num_hidden_layers: 1024,                   // 126: Llama 3.1 405B
  num_attention_heads: 1024,                 // 128: Llama 3.1 405B, DeepSeek-V3
  num_key_value_heads: 1024,                 // ≤ num_attention_heads
  head_dim: 1024,                            // 256: Gemma 2 and 3
  hidden_size: 65536,                        // 16384: Llama 3.1 405B
  intermediate_size: 262144,                 // 53248: Llama 3.1 405B
  vocab_size: 2 ** 22,                       // 262144: Gemma 3
  type_vocab_size: 2 ** 22,                  // 2: BERT (a vocabulary like vocab_size)
  max_position_embeddings: 2 ** 24,          // 10485760: Llama 4 Scout
  original_max_position_embeddings: 2 ** 24, // ≤ max_position_embeddings
  sliding_window: 2 ** 24,                   // 262144: Phi-4-mini
  sliding_window_pattern: 1024,              // 6: Gemma 3 (a count of layers)
  no_rope_layer_interval: 1024,              // 4: SmolLM3 (a count of layers)
});
/** Lengths of the lists a config gives, as SIZE_LIMITS. */
export const LIST_LIMITS = Object.freeze({
  layer_types: SIZE_LIMITS.num_hidden_layers,     // one per layer
  no_rope_layers: SIZE_LIMITS.num_hidden_layers,  // one per layer
  short_factor: SIZE_LIMITS.head_dim / 2,         // one per rotated pair of a head: 48 on Phi-4-mini
  long_factor: SIZE_LIMITS.head_dim / 2,
  eos_token_id: 1024,                             // 3: Llama 3.1
});
export type SizeField = keyof typeof SIZE_LIMITS;
export type ListField = keyof typeof LIST_LIMITS;

/** A config value for an error message: JSON on one line, cut at 40 characters (and no more of it is looked at). */
export function show(v: unknown): string {
  const s = brief(v, 40);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** At least `room` characters of v's JSON (when it has them); nesting costs a character a level, so depth stays under room. */
function brief(v: unknown, room: number): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, room));
  if (typeof v !== 'object' || v === null) return String(v);
  const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
  let out = open;
  for (const key in v) {
    if (out.length > room) return `${out}...`;
    const item = brief((v as Record<string, unknown>)[key], room - out.length);
    out += `${out === open ? '' : ','}${Array.isArray(v) ? '' : `${JSON.stringify(key)}:`}${item}`;
  }
  return out + close;
}

/** eos_token_id may be an int or a list of ints (generation_config.json often lists several). */
export function tokenIds(v: unknown, file: string, field: 'eos_token_id'): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > LIST_LIMITS[field]) throw new ConfigError(`${file}: field ${field} lists ${list.length} ids, over the limit of ${LIST_LIMITS[field]}`);
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0) throw new ConfigError(`${file}: ${field} must be a non-negative integer or a list of them, got ${show(v)}`);
  }
  return list as number[];
}

export type FieldReader = ReturnType<typeof fieldReader>;

/** Getters over one JSON object; a fallback of undefined makes the field required. */
export function fieldReader(obj: Json, file: string) {
  const need = (key: string, fallback: unknown) => {
    const v = obj[key] ?? fallback;
    if (v === undefined) throw new ConfigError(`${file}: missing field ${key}`);
    return v;
  };
  const bounded = (key: SizeField, v: number) => {
    if (v > SIZE_LIMITS[key]) throw new ConfigError(`${file}: field ${key} is ${v}, over the limit of ${SIZE_LIMITS[key]}`);
    return v;
  };
  return {
    file,
    has: (key: string) => obj[key] !== undefined && obj[key] !== null,
    str(key: string, fallback?: string): string {
      const v = need(key, fallback);
      if (typeof v !== 'string') throw new ConfigError(`${file}: field ${key} must be a string, got ${show(v)}`);
      return v;
    },
    num(key: string, fallback?: number): number {
      const v = need(key, fallback);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${file}: field ${key} must be a positive number, got ${show(v)}`);
      return v;
    },
    /** A size: a positive integer up to its SIZE_LIMITS entry. */
    int(key: SizeField, fallback?: number): number {
      const v = need(key, fallback);
      if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ConfigError(`${file}: field ${key} must be a positive integer, got ${show(v)}`);
      return bounded(key, v as number);
    },
    /** A size that may be null (off): sliding_window. */
    optInt(key: SizeField): number | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ConfigError(`${file}: field ${key} must be a positive integer or null, got ${show(v)}`);
      return bounded(key, v as number);
    },
    bool(key: string, fallback = false): boolean {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'boolean') throw new ConfigError(`${file}: field ${key} must be true or false, got ${show(v)}`);
      return v;
    },
    /** A number that may be null (off): Gemma's softcaps. */
    optNum(key: string): number | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${file}: field ${key} must be a positive number or null, got ${show(v)}`);
      return v;
    },
    obj(key: string): Json | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${file}: field ${key} must be an object, got ${show(v)}`);
      return v as Json;
    },
    /** A list of up to its LIST_LIMITS entry's length, each element passing `check`. */
    list<T>(key: ListField, check: (x: unknown) => x is T, what: string): T[] | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (Array.isArray(v) && v.length > LIST_LIMITS[key]) throw new ConfigError(`${file}: field ${key} lists ${v.length} entries, over the limit of ${LIST_LIMITS[key]}`);
      if (!Array.isArray(v) || !v.every(check)) throw new ConfigError(`${file}: field ${key} must be a list of ${what}, got ${show(v)}`);
      return v;
    },
  };
}

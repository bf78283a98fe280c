// Reading Hugging Face config.json fields: typed getters that name the file and field in every error.
import { ConfigError } from '../errors.js';

export type Json = Record<string, unknown>;

/** eos_token_id may be an int or a list of ints (generation_config.json often lists several). */
export function tokenIds(v: unknown, file: string, field: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0) throw new ConfigError(`${file}: ${field} must be a non-negative integer or a list of them, got ${JSON.stringify(v)}`);
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
  return {
    file,
    has: (key: string) => obj[key] !== undefined && obj[key] !== null,
    str(key: string, fallback?: string): string {
      const v = need(key, fallback);
      if (typeof v !== 'string') throw new ConfigError(`${file}: field ${key} must be a string, got ${JSON.stringify(v)}`);
      return v;
    },
    num(key: string, fallback?: number): number {
      const v = need(key, fallback);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${file}: field ${key} must be a positive number, got ${JSON.stringify(v)}`);
      return v;
    },
    int(key: string, fallback?: number): number {
      const v = need(key, fallback);
      if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ConfigError(`${file}: field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
      return v as number;
    },
    bool(key: string, fallback = false): boolean {
      const v = obj[key] ?? fallback;
      if (typeof v !== 'boolean') throw new ConfigError(`${file}: field ${key} must be true or false, got ${JSON.stringify(v)}`);
      return v;
    },
    /** A number that may be null (off): Gemma's softcaps, sliding_window. */
    optNum(key: string): number | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${file}: field ${key} must be a positive number or null, got ${JSON.stringify(v)}`);
      return v;
    },
    obj(key: string): Json | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${file}: field ${key} must be an object, got ${JSON.stringify(v)}`);
      return v as Json;
    },
    list<T>(key: string, check: (x: unknown) => x is T, what: string): T[] | undefined {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v) || !v.every(check)) throw new ConfigError(`${file}: field ${key} must be a list of ${what}, got ${JSON.stringify(v).slice(0, 80)}`);
      return v;
    },
  };
}

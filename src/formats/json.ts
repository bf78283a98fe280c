// JSON files of a model directory (config.json, generation_config.json, sentence-transformers files).
import { ConfigError } from '../errors.js';

/** Parse a JSON object; `label` names the file in errors. */
export function parseJson(text: string, label: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${label}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${label}: expected a JSON object`);
  return v as Record<string, unknown>;
}

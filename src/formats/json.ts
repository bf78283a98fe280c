// JSON files of a model directory (config.json, generation_config.json, sentence-transformers files).
import { ConfigError } from '../errors.js';

/** Parse a JSON object; `label` names the file in errors. */
export function parseJson(text: string, label: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${label}: not valid JSON (${jsonFault(e)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${label}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * Why JSON.parse refused a text, without quoting the text: engines echo it around the fault (V8: `Unexpected
 * token 'r', "root:x:0:0"... is not valid JSON`), and a file that is not what its name says (a link to a
 * secret) must not reach an error message. Keeps the engine's words where they quote nothing, and the position.
 */
export function jsonFault(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const at = /position (\d+)/.exec(message)?.[1];
  const what = /["'`]/.test(message) ? 'unexpected character' : message.replace(/ in JSON at position.*| at position.*/, '');
  return at === undefined ? what : `${what} at position ${at}`;
}

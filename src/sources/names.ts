// The names a model's files may have. Checked before any request, so an index or a config naming
// `http://other-host/x`, `../../etc/passwd` or `%2e%2e%2fx` never leaves the model's own folder.
import { SourceError } from '../errors.js';

/** One plain file name: no folder, scheme, host, `..`, percent-escape, backslash, query, fragment or control character. */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\%?#:\0-\x1f\x7f]/.test(name);
}

/** A path inside the model's folder made of plain file names, e.g. `1_Pooling/config.json`. */
export function isModelPath(path: string): boolean {
  return path.split('/').every(isPlainFileName);
}

/** A model path as URL path segments. */
export const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** The URL of `name` under `base` (ending in "/"), for paths inside the model only; SourceError for any other name. */
export function fileUrl(base: string, name: string): string {
  if (!isModelPath(name)) throw new SourceError(`${base}: ${JSON.stringify(name)} is not a file inside the model`);
  return base + encodePath(name);
}

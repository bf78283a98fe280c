// The names a model's files may have. Checked before any request, so an index or a config naming
// `http://other-host/x`, `../../etc/passwd` or `%2e%2e%2fx` never leaves the model's own folder.

/** One plain file name: no folder, scheme, host, `..`, percent-escape, backslash, query, fragment or control character. */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\%?#:\0-\x1f\x7f]/.test(name);
}

/** A path inside the model's folder made of plain file names, e.g. `1_Pooling/config.json`. */
export function isModelPath(path: string): boolean {
  return path.split('/').every(isPlainFileName);
}

// The real tokenizer files vendored in test/fixtures/tokenizers/<name>/ as a ModelFiles source, so tests
// load them the way a model directory is loaded; tokenizer.json is stored as tokenizer.json.gz.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ModelFiles } from '../src/sources/sources.js';
import { fixtureTokenizer } from './paths.js';

export function fixtureFiles(name: string): ModelFiles {
  const dir = fixtureTokenizer(name);
  return {
    label: dir,
    async text(file) {
      const path = resolve(dir, file);
      if (existsSync(path)) return readFileSync(path, 'utf8');
      return existsSync(`${path}.gz`) ? gunzipSync(readFileSync(`${path}.gz`)).toString('utf8') : undefined;
    },
    open: async () => { throw new Error(`${dir}: the fixture tokenizers have no weights`); },
  };
}

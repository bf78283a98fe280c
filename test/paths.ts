// Where tests find the repo, the shipped weights, the fixtures (test/fixtures/README.md), and the oracles.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WEIGHTS = resolve(ROOT, 'weights');
export const FIXTURES = resolve(ROOT, 'test/fixtures');
/** A test model's directory: stories260K is the shipped weights/stories260K, the others are in test/fixtures/models. */
export const fixtureModel = (name: string) => (name === 'stories260K' ? resolve(WEIGHTS, name) : resolve(FIXTURES, 'models', name));
/** A real model's config files (no weights), test/fixtures/configs/NAME. */
export const fixtureConfig = (name: string) => resolve(FIXTURES, 'configs', name);
/** A real tokenizer's folder, test/fixtures/tokenizers/NAME: tokenizer_config.json, and tokenizer.json.gz where tests need it. */
export const fixtureTokenizer = (name: string) => resolve(FIXTURES, 'tokenizers', name);
export const oracle = <T = any>(name: string): T => JSON.parse(readFileSync(resolve(ROOT, 'test/oracles', name), 'utf8')) as T;

/** A fixture tokenizer's tokenizer.json (unzipped) and tokenizer_config.json, as text. */
export function tokenizerText(name: string): { json: string; config: string } {
  const dir = fixtureTokenizer(name);
  return { json: gunzipSync(readFileSync(resolve(dir, 'tokenizer.json.gz'))).toString('utf8'), config: readFileSync(resolve(dir, 'tokenizer_config.json'), 'utf8') };
}

/** A fixture tokenizer unzipped into test/out/tokenizers/NAME (once), for code that reads a directory, such as the CLI. */
export function tokenizerDir(name: string): string {
  const dir = resolve(ROOT, 'test/out/tokenizers', name);
  if (!existsSync(resolve(dir, 'tokenizer.json'))) {
    const { json, config } = tokenizerText(name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(resolve(dir, 'tokenizer_config.json'), config);
    writeFileSync(resolve(dir, `tokenizer.json.${process.pid}`), json);
    renameSync(resolve(dir, `tokenizer.json.${process.pid}`), resolve(dir, 'tokenizer.json')); // whole or absent
  }
  return dir;
}

/** Index and values of the first differences between two vectors, for failure messages (llm.c check_tensor). */
export function firstMismatches(got: ArrayLike<number>, want: ArrayLike<number>, tol: (w: number) => number, max = 5): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length && out.length < max; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol(want[i]))) out.push(`[${i}] want ${want[i]} got ${got[i]}`);
  }
  return out;
}

/** mulberry32: a tiny seeded PRNG, so every failure replays. Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Where tests find the repo, the shipped weights, the workplace's shared models, and the oracles.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** ../shared beside the checkout (CI lays a copy there), or TIDE_SHARED. */
export const SHARED = process.env.TIDE_SHARED ?? resolve(ROOT, '../shared');
export const WEIGHTS = resolve(ROOT, 'weights');
/** Real tokenizer files vendored for the tests (test/fixtures/tokenizers/<name>/PROVENANCE.md). */
export const FIXTURE_TOKENIZERS = resolve(ROOT, 'test/fixtures/tokenizers');
export const sharedModel = (name: string) => resolve(SHARED, 'models', name);
export const oracle = <T = any>(name: string): T => JSON.parse(readFileSync(resolve(ROOT, 'test/oracles', name), 'utf8')) as T;

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

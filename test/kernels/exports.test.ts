// The Kernels interface (src/runtime/kernel-exports.ts) against its sources and against the compiled module: the
// committed file is what scripts/gen-kernels.mjs makes from kernels/ now, and the wasm module exports exactly
// its functions, each with the interface's number of parameters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../paths.js';
import { harness } from './harness.js';

const FILE = resolve(ROOT, 'src/runtime/kernel-exports.ts');

/** name → parameter count of every member of the generated interface, read from its text. */
function interfaceArity(text: string): Map<string, number> {
  const body = text.slice(text.indexOf('export interface Kernels {'));
  const members = new Map<string, number>();
  for (const m of body.matchAll(/^ {2}(\w+)\(([^)]*)\): \w+;/gm)) members.set(m[1], m[2].split(',').filter((p) => p.trim()).length);
  return members;
}

test('src/runtime/kernel-exports.ts is what scripts/gen-kernels.mjs generates from kernels/ (run npm run build:wasm)', () => {
  const fresh = execFileSync(process.execPath, [resolve(ROOT, 'scripts/gen-kernels.mjs'), '--stdout'], { encoding: 'utf8' });
  assert.fixture(readFileSync(FILE, 'utf8'), fresh);
});

test('the wasm module exports exactly the interface\'s functions, with its arities', async () => {
  const { k, flavor } = await harness();
  const members = interfaceArity(readFileSync(FILE, 'utf8'));
  const exports = k as unknown as Record<string, unknown>;
  const fns = Object.keys(exports).filter((n) => typeof exports[n] === 'function').sort();
  assert.equal(fns, [...members.keys()].sort(), `${flavor} module exports vs interface members`);
  for (const name of fns) {
    assert.is((exports[name] as (...a: number[]) => unknown).length, members.get(name), `${name}: wasm arity vs interface`);
  }
});

test.run();

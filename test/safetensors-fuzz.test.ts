// Fuzz for src/formats/safetensors.ts: 10 000 seeded mutations of a small valid file. Each must load (and
// then every tensor must read back in bounds) or be refused with a one-line TideError; nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readHeader, readTensor } from '../src/formats/safetensors.js';
import { TideError } from '../src/errors.js';
import { bytesReader } from '../src/sources/sources.js';
import { rng as seededRandom } from './paths.js';

const SEED = 0x5afe7e45;
const CASES = 10_000;


const BASE_HEADER = {
  __metadata__: { format: 'pt' },
  'model.embed_tokens.weight': { dtype: 'F32', shape: [4, 3], data_offsets: [0, 48] },
  'model.norm.weight': { dtype: 'BF16', shape: [3], data_offsets: [48, 54] },
  'model.layers.0.mlp.up_proj.weight': { dtype: 'I8', shape: [2, 5], data_offsets: [54, 64] },
};
const DATA_BYTES = 64;

function file(headerText: string, dataBytes = DATA_BYTES, length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}
const BASE_TEXT = JSON.stringify(BASE_HEADER);
const BASE = file(BASE_TEXT);

const WEIRD: unknown[] = [-1, 0, 1, 1.5, 2 ** 53, 2 ** 64, -0, 1e308, null, true, 'F32', '', [], {}, [1, 2, 3], 'Q4', 'toString', '__proto__'];

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

function flipBytes(rng: Rng, bytes: Uint8Array, from: number, to: number): Uint8Array {
  const out = bytes.slice();
  for (let k = 1 + int(rng, 3); k > 0 && to > from; k--) out[from + int(rng, to - from)] = int(rng, 256);
  return out;
}

/** Replace one dtype / shape / data_offsets value (or a dim inside one) in the JSON. */
function editJson(rng: Rng): Uint8Array {
  const header = structuredClone(BASE_HEADER) as Record<string, Record<string, unknown>>;
  const entry = header[pick(rng, Object.keys(header).slice(1))];
  const field = pick(rng, ['dtype', 'shape', 'data_offsets', 'extra']);
  const value = pick(rng, [...WEIRD, 7, 12, 48, 54, 64, 65]);
  if (Array.isArray(entry[field]) && rng() < 0.6) (entry[field] as unknown[])[int(rng, 3)] = value;
  else if (rng() < 0.1) delete entry[field];
  else entry[field] = value;
  let text = JSON.stringify(header);
  if (rng() < 0.1) text = text.replace(/\d+/, pick(rng, ['1e400', '-0', '9007199254740993', '1.0', '0x10']));
  return file(text, rng() < 0.8 ? DATA_BYTES : int(rng, 100));
}

const MUTATIONS: ((rng: Rng) => Uint8Array)[] = [
  (rng) => flipBytes(rng, BASE, 0, 8), // the u64 header length
  (rng) => flipBytes(rng, BASE, 8, 8 + BASE_TEXT.length), // the header JSON text
  (rng) => BASE.slice(0, int(rng, BASE.length)), // truncation
  (rng) => { // appended bytes
    const out = new Uint8Array(BASE.length + 1 + int(rng, 32));
    out.set(BASE);
    return out;
  },
  (rng) => file(BASE_TEXT, DATA_BYTES, pick(rng, [ // header length set to huge or off-by-some values
    2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n, 100_000_001n, 100_000_000n,
    BigInt(BASE.length - 7), BigInt(BASE.length - 8), BigInt(BASE_TEXT.length + 1), BigInt(BASE_TEXT.length - 1), 0n,
  ])),
  editJson,
  (rng) => { // a JSON-significant character at a random spot in the header
    const at = int(rng, BASE_TEXT.length);
    return file(BASE_TEXT.slice(0, at) + pick(rng, [...'{}[]":,-.e0123456789 \\']) + BASE_TEXT.slice(at + 1));
  },
  (rng) => flipBytes(rng, editJson(rng), 0, 8 + BASE_TEXT.length), // both at once
];

test(`fuzz: ${CASES} seeded mutations either load or throw a one-line TideError (seed ${SEED})`, async () => {
  const rng = seededRandom(SEED);
  const outcome = { loaded: 0, refused: 0 };
  for (let i = 0; i < CASES; i++) {
    const kind = i % MUTATIONS.length;
    const bytes = MUTATIONS[kind](rng);
    const where = `case ${i} (seed ${SEED}, mutation ${kind})`;
    try {
      const { tensors } = await readHeader(bytesReader(bytes, 'fuzz.safetensors'));
      for (const t of tensors) await readTensor(t, new Uint8Array(t.bytes)); // offsets really are in the file
      outcome.loaded++;
    } catch (e) {
      assert.ok(e instanceof TideError, `${where}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
      const msg = (e as TideError).message;
      assert.not.match(msg, /[\r\n]/, `${where}: message is not one line: ${msg}`);
      assert.match(msg, /^fuzz\.safetensors: /, `${where}: message does not start with the file: ${msg}`);
      outcome.refused++;
    }
  }
  // both outcomes must occur, or the mutations are not reaching the checks
  assert.ok(outcome.loaded > 100 && outcome.refused > 100, JSON.stringify(outcome));
});

test('pathological JSON: 100k-deep nesting and huge numbers in every field are TideErrors', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const cases = [deep, `{"w":${deep}}`, `{"__metadata__":{"a":${deep}}}`, `{"__metadata__":${deep}}`,
    ...['dtype', 'shape', 'data_offsets'].map((f) => BASE_TEXT.replace(`"${f}":`, `"${f}":${deep},"x":`)),
    ...['[1e999]', `[${'9'.repeat(400)}]`, '[-1e-999]'].map((n) => BASE_TEXT.replace('[4,3]', n))];
  for (const [i, text] of cases.entries()) {
    const err = await readHeader(bytesReader(file(text), 'fuzz.safetensors')).then(() => undefined, (e) => e);
    assert.instance(err, TideError, `pathological case ${i}: ${err?.name}: ${err?.message}`);
    assert.not.match(err.message, /[\r\n]/);
  }
});

test.run();

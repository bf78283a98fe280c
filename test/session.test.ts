// Loading and session faults: each bad input gets its typed error naming what is wrong, with the weights
// as stored and quantized to q8 at load (issue 4: the core's tests hold under q8 too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  loadModel, bytesReader, ContextOverflowError, MemoryBudgetError, OptionError, SafetensorsError, ShapeError,
  DtypeError, TokenizerError, type ModelFiles,
  type Model,
} from '../src/index.js';
import { WEIGHTS } from './paths.js';
import { QUANT_MODES, type Mode } from './models/bounds.js';

const dir = `${WEIGHTS}/stories260K`;
const CONFIG = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
const WEIGHT_BYTES = new Uint8Array(readFileSync(`${dir}/model.safetensors`));

/** The shipped model, loaded once per mode; each test opens its own sessions. */
const models = new Map<Mode, Promise<Model>>();
const load = (quantize: Mode) => {
  if (!models.has(quantize)) models.set(quantize, loadModel(dir, { quantize }));
  return models.get(quantize)!;
};

/** The shipped model in memory, with config.json or the safetensors bytes replaced. */
function files(config: object = CONFIG, bytes: Uint8Array = WEIGHT_BYTES): ModelFiles {
  return {
    label: 'mem',
    text: async (name) => (name === 'config.json' ? JSON.stringify(config) : undefined),
    open: async () => bytesReader(bytes, 'mem/model.safetensors'),
  };
}

/** A one-tensor safetensors file. */
function oneTensor(name: string, dtype: string, shape: number[], bytes: number): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, bytes] } }));
  const out = new Uint8Array(8 + header.length + bytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  return out;
}

const rejects = async (p: Promise<unknown>, cls: Function, re: RegExp) => {
  try { await p; } catch (e) {
    assert.instance(e, cls, String(e));
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /\n/, 'one-line message');
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${re}`);
};

for (const mode of QUANT_MODES) {
  test(`${mode}: ids outside the vocabulary name the id and its index`, async () => {
    const m = await load(mode);
    assert.throws(() => m.session().prefill([1, 2, 512]), (e: Error) => e instanceof TokenizerError && /token id 512 at index 2.*0\.\.511/.test(e.message));
    assert.throws(() => m.session().prefill([1, -1]), (e: Error) => e instanceof TokenizerError && /index 1/.test(e.message));
    assert.throws(() => m.session().prefill([1.5]), (e: Error) => e instanceof TokenizerError);
    assert.throws(() => m.session().prefill([]), (e: Error) => e instanceof OptionError);
  });

  test(`${mode}: a prompt longer than the context, and decoding past it, fail with ContextOverflowError`, async () => {
    const m = await load(mode);
    const s = m.session({ contextLength: 8 });
    assert.throws(() => s.prefill(new Array(9).fill(1)), (e: Error) => e instanceof ContextOverflowError && /context length 8/.test(e.message));
    s.prefill(new Array(8).fill(1));
    assert.throws(() => s.step(1), (e: Error) => e instanceof ContextOverflowError);
    assert.throws(() => m.session({ contextLength: 513 }), (e: Error) => e instanceof OptionError && /1\.\.512/.test(e.message));
  });

  test(`${mode}: reset starts over: the same prompt gives the same logits; dispose ends the session`, async () => {
    const m = await load(mode);
    const s = m.session();
    const a = s.prefill([1, 403, 407]);
    s.step(261);
    s.reset();
    assert.is(s.pos, 0);
    assert.equal(Array.from(s.prefill([1, 403, 407])), Array.from(a));
    s.dispose();
    assert.throws(() => s.step(1), /after dispose/);
  });
}

test('logits land in `out` when given (the same values, the same array); a wrong length is refused before any step', async () => {
  const m = await load('none');
  const a = m.session(), b = m.session(), out = new Float32Array(512);
  const want = a.prefill([1, 403, 407]);
  assert.is(b.prefill([1, 403, 407], { out }), out);
  assert.equal(Array.from(out), Array.from(want));
  assert.is(b.step(261, out), out);
  assert.equal(Array.from(out), Array.from(a.step(261)));
  assert.throws(() => b.step(1, new Float32Array(511)), (e: Error) => e instanceof OptionError && /out has 511 elements, expected 512/.test(e.message));
  assert.throws(() => b.prefill([1, 2], { allLogits: true, out }), (e: Error) => e instanceof OptionError && /expected 1024/.test(e.message));
  assert.is(b.pos, 4);
});

test('a memory budget too small for the weights fails before reading them', async () => {
  await rejects(loadModel(dir, { memoryBudgetBytes: 1 << 20 }), MemoryBudgetError, /region "weights".*over the budget of 1\.0 MiB/);
  const m = await loadModel(dir, { memoryBudgetBytes: 3 << 20 });
  assert.throws(() => m.session({ contextLength: 512, prefillChunk: 4096 }), (e: Error) => e instanceof MemoryBudgetError);
});

for (const mode of QUANT_MODES) {
  const opts = { quantize: mode };

  test(`${mode}: a tensor whose shape disagrees with config.json names the tensor and both shapes`, async () => {
    await rejects(loadModel(files({ ...CONFIG, intermediate_size: 128 }), opts), ShapeError,
      /tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[172,64\] but config\.json implies \[128,64\]/);
  });

  test(`${mode}: a tensor the config needs but the file lacks is named`, async () => {
    await rejects(loadModel(files({ ...CONFIG, num_hidden_layers: 6 }), opts), SafetensorsError, /missing tensor "model\.layers\.5\./);
    await rejects(loadModel(files({ ...CONFIG, tie_word_embeddings: false }), opts), SafetensorsError, /missing tensor "lm_head\.weight"/);
  });

  test(`${mode}: a tensor in a dtype Tide cannot use is named with the supported ones`, async () => {
    const bytes = oneTensor('model.embed_tokens.weight', 'I32', [512, 64], 512 * 64 * 4);
    await rejects(loadModel(files(CONFIG, bytes), opts), DtypeError, /"model\.embed_tokens\.weight": dtype I32 is not supported; supported: F32, F16, BF16/);
  });
}

test.run();

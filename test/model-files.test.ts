// Crafted model directories that are not what they should be: absurd sizes in config.json (each field at
// its limit + 1), checkpoints holding tensors the config does not account for, and files that are FIFOs,
// devices, directories or links to secrets. Each must end in a typed one-line error naming the file and
// field or tensor, fast, and without echoing what a file holds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError, generateIds, loadEmbedder, loadModel, MemoryBudgetError, SafetensorsError, SourceError, specFromConfig, TideError,
} from '../src/index.js';
import { LIST_LIMITS, SIZE_LIMITS } from '../src/families/config.js';
import { loadCheckpoint } from '../src/runtime/load.js';
import { fixtureConfig, WEIGHTS } from './paths.js';
import { rewriteCheckpoint, safetensorsFile, tinyBertFiles, type StTensor } from './models/bert-files.js';

const STORIES = join(WEIGHTS, 'stories260K');
type Json = Record<string, unknown>;
const realConfig = (name: string): Json => JSON.parse(readFileSync(join(fixtureConfig(name), 'config.json'), 'utf8'));
const storiesConfig = (): Json => JSON.parse(readFileSync(join(STORIES, 'config.json'), 'utf8'));

/** A fresh directory holding `files`: text or bytes, or a symlink to a path. */
function craft(files: Record<string, string | Uint8Array | { link: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tide-faults-'));
  for (const [name, v] of Object.entries(files)) {
    if (typeof v === 'object' && 'link' in v) symlinkSync(v.link, join(dir, name));
    else writeFileSync(join(dir, name), v);
  }
  return dir;
}

/** The error a load of `dir` ends in, within `ms` (a hang fails the test instead of the suite). */
async function loadError(dir: string, ms = 5000, embedder = false): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`load of ${dir} still running after ${ms} ms`)), ms); });
  const load = (embedder ? loadEmbedder(dir, { threads: 1 }) : loadModel(dir, { threads: 1 })).then(
    () => { throw new Error(`${dir} loaded`); }, (e: Error) => e);
  try {
    return await Promise.race([load, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function assertTyped(e: Error, type: new (m: string) => TideError, pattern: RegExp): void {
  assert.instance(e, type, `${e.name}: ${e.message}`);
  assert.match(e.message, pattern);
  assert.not.match(e.message, /[\r\n]/, `not one line: ${e.message}`);
}

// ---- sizes ----

/** For each bounded field: a real config that reads it, and how to give it `n` (a size) or n entries (a list). */
const SIZE_CASES: Record<string, { base: () => Json; set: (c: Json, n: number) => void }> = {
  ...Object.fromEntries(['num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'hidden_size',
    'intermediate_size', 'vocab_size', 'max_position_embeddings', 'sliding_window'].map((f) => [f, { base: storiesConfig, set: (c: Json, n: number) => { c[f] = n; } }])),
  type_vocab_size: { base: () => realConfig('all-minilm-l6-v2'), set: (c, n) => { c.type_vocab_size = n; } },
  original_max_position_embeddings: { base: () => realConfig('phi-4-mini-instruct'), set: (c, n) => { c.original_max_position_embeddings = n; } },
  sliding_window_pattern: { base: () => realConfig('embeddinggemma-300m'), set: (c, n) => { delete c.layer_types; c.sliding_window_pattern = n; } },
  no_rope_layer_interval: { base: () => realConfig('smollm3-3b'), set: (c, n) => { delete c.no_rope_layers; c.no_rope_layer_interval = n; } },
  layer_types: { base: () => realConfig('smollm3-3b'), set: (c, n) => { c.layer_types = Array(n).fill('full_attention'); } },
  no_rope_layers: { base: () => realConfig('smollm3-3b'), set: (c, n) => { c.no_rope_layers = Array(n).fill(1); } },
  short_factor: { base: () => realConfig('phi-4-mini-instruct'), set: (c, n) => { (c.rope_scaling as Json).short_factor = Array(n).fill(1); } },
  long_factor: { base: () => realConfig('phi-4-mini-instruct'), set: (c, n) => { (c.rope_scaling as Json).long_factor = Array(n).fill(1); } },
  eos_token_id: { base: storiesConfig, set: (c, n) => { c.eos_token_id = Array(n).fill(2); } },
};
const LIMITS: Record<string, number> = { ...SIZE_LIMITS, ...LIST_LIMITS };

test('every size and list limit has a case here', () => {
  assert.equal(Object.keys(SIZE_CASES).sort(), Object.keys(LIMITS).sort());
});

test('a size one past its limit: a ConfigError naming config.json and the field, before anything is read or allocated', async () => {
  for (const [field, { base, set }] of Object.entries(SIZE_CASES)) {
    const config = base();
    set(config, LIMITS[field] + 1);
    const embedder = config.model_type === 'bert';
    const t0 = performance.now();
    const e = await loadError(craft({ 'config.json': JSON.stringify(config) }), 5000, embedder);
    assertTyped(e, ConfigError, new RegExp(`/config\\.json( rope parameters)?: field ${field} (is|lists) ${LIMITS[field] + 1}\\b.*over the limit of ${LIMITS[field]}$`));
    assert.ok(performance.now() - t0 < 1000, `${field}: ${performance.now() - t0} ms`);
  }
});

test('a size at its limit is not refused for being over it', () => {
  for (const [field, { base, set }] of Object.entries(SIZE_CASES)) {
    const config = base();
    set(config, LIMITS[field]);
    try {
      specFromConfig(config);
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.not.match((e as Error).message, /over the limit/, field);
    }
  }
});

test('num_hidden_layers 100000000 (once a 10^8-entry table and an out-of-memory abort): a ConfigError in well under a second', async () => {
  const t0 = performance.now();
  const e = await loadError(craft({ 'config.json': JSON.stringify({ ...storiesConfig(), num_hidden_layers: 1e8 }), 'model.safetensors': { link: join(STORIES, 'model.safetensors') } }));
  assertTyped(e, ConfigError, /config\.json: field num_hidden_layers is 100000000, over the limit of 1024$/);
  assert.ok(performance.now() - t0 < 500, `${performance.now() - t0} ms`);
});

test('sizes each within limits whose product is past the budget: MemoryBudgetError from the dims, before the weight table', async () => {
  const huge = { ...storiesConfig(), num_hidden_layers: 1024, hidden_size: 65536, intermediate_size: 262144, num_attention_heads: 1024, head_dim: 64 };
  const t0 = performance.now();
  const e = await loadError(craft({ 'config.json': JSON.stringify(huge), 'model.safetensors': { link: join(STORIES, 'model.safetensors') } }));
  assertTyped(e, MemoryBudgetError, /^memory plan: region "weights of .*\/config\.json \(at least\)"/);
  assert.ok(performance.now() - t0 < 500, `${performance.now() - t0} ms`);
  // and a budget that stories260K's 260K parameters do not fit even at 2 bytes each
  const small = await loadModel(STORIES, { threads: 1, memoryBudgetBytes: 2 ** 18 }).then(() => undefined, (err: Error) => err);
  assertTyped(small!, MemoryBudgetError, /weights of .*\(at least\)/);
});

// ---- checkpoints the config does not account for ----

/** stories260K's checkpoint with tensors added (zeros of the given shape, F32). */
function storiesWith(extra: Record<string, number[]>): Uint8Array {
  const file = readFileSync(join(STORIES, 'model.safetensors'));
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors: Record<string, StTensor> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name !== '__metadata__') tensors[name] = { dtype: t.dtype, shape: t.shape, data: file.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
  }
  for (const [name, shape] of Object.entries(extra)) tensors[name] = { dtype: 'F32', shape, data: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) };
  return safetensorsFile(tensors);
}

test('a config with 4 layers on the 5-layer checkpoint (once "Once upon upon upon..."): a SafetensorsError naming layer 4', async () => {
  const dir = craft({ 'config.json': JSON.stringify({ ...storiesConfig(), num_hidden_layers: 4 }), 'model.safetensors': { link: join(STORIES, 'model.safetensors') } });
  assertTyped(await loadError(dir), SafetensorsError,
    /model\.safetensors: tensor "model\.layers\.4\.[a-z_.]+" \(and 8 more\) is not part of a llama model with 4 layers as config\.json describes it$/);
});

test('an unknown tensor in the checkpoint is named', async () => {
  const dir = craft({ 'config.json': JSON.stringify(storiesConfig()), 'model.safetensors': storiesWith({ 'model.vision_tower.weight': [2, 2] }) });
  assertTyped(await loadError(dir), SafetensorsError, /model\.safetensors: tensor "model\.vision_tower\.weight" is not part of a llama model with 5 layers/);
});

test('known buffers (rotary_emb.inv_freq, a tied lm_head) are ignored: the model loads and generates as without them', async () => {
  const dir = craft({
    'config.json': JSON.stringify(storiesConfig()),
    'model.safetensors': storiesWith({ 'model.layers.0.self_attn.rotary_emb.inv_freq': [4], 'lm_head.weight': [512, 64] }),
  });
  const [plain, padded] = [await loadModel(STORIES, { threads: 1 }), await loadModel(dir, { threads: 1 })];
  const greedy = (m: typeof plain) => generateIds(m, m.session(), [1], { maxTokens: 20 }).ids;
  assert.equal(greedy(padded), greedy(plain));
  // untied, lm_head is read: the same checkpoint is refused when it lacks one
  const untied = craft({ 'config.json': JSON.stringify({ ...storiesConfig(), tie_word_embeddings: false }), 'model.safetensors': { link: join(STORIES, 'model.safetensors') } });
  assertTyped(await loadError(untied), SafetensorsError, /missing tensor "lm_head\.weight"/);
});

test('BERT: position_ids, the pooler and pretraining heads (cls.*, lm_head.*) are ignored; a classifier head is not', async () => {
  const extra = (names: string[]) => {
    const file = rewriteCheckpoint((n) => n);
    const n = Number(Buffer.from(file.subarray(0, 8)).readBigUInt64LE(0));
    const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const tensors: Record<string, StTensor> = {};
    for (const [name, t] of Object.entries(header)) tensors[name] = { ...t, data: file.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
    for (const name of names) tensors[name] = { dtype: 'F32', shape: [2], data: new Uint8Array(8) };
    return tinyBertFiles({ 'model.safetensors': safetensorsFile(tensors) });
  };
  const ok = await loadCheckpoint(extra(['embeddings.position_ids', 'cls.predictions.bias', 'lm_head.dense.weight']), { threads: 1 });
  assert.is(ok.spec.modelType, 'bert');
  const e = await loadCheckpoint(extra(['classifier.weight']), { threads: 1 }).then(() => undefined, (err: Error) => err);
  assertTyped(e!, SafetensorsError, /tensor "classifier\.weight" is not part of a bert model/);
});

// ---- files that are not regular files ----

test('config.json a FIFO: a SourceError naming it, without blocking on the open', async () => {
  const dir = craft({ 'model.safetensors': { link: join(STORIES, 'model.safetensors') } });
  const fifo = join(dir, 'config.json');
  execFileSync('mkfifo', [fifo]);
  try {
    assertTyped(await loadError(dir, 3000), SourceError, /\/config\.json: not a regular file \(a FIFO\)$/);
  } finally {
    // Should an open have blocked on the FIFO, a writer releases it so the process can still exit.
    closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
  }
});

test('model.safetensors a FIFO, a directory, or a device: a SourceError naming the file', async () => {
  const config = JSON.stringify(storiesConfig());
  const fifoDir = craft({ 'config.json': config });
  execFileSync('mkfifo', [join(fifoDir, 'model.safetensors')]);
  try {
    assertTyped(await loadError(fifoDir, 3000), SourceError, /\/model\.safetensors: not a regular file \(a FIFO\)\)$/);
  } finally {
    closeSync(openSync(join(fifoDir, 'model.safetensors'), constants.O_RDWR | constants.O_NONBLOCK));
  }
  const dirDir = craft({ 'config.json': config });
  mkdirSync(join(dirDir, 'model.safetensors'));
  assertTyped(await loadError(dirDir), SourceError, /\/model\.safetensors: not a regular file \(a directory\)\)$/);
  assertTyped(await loadError(craft({ 'config.json': { link: '/dev/zero' } })), SourceError, /\/config\.json: not a regular file \(a device\)$/);
  const configDir = craft({});
  mkdirSync(join(configDir, 'config.json'));
  assertTyped(await loadError(configDir), SourceError, /\/config\.json: not a regular file \(a directory\)$/);
});

test('config.json or model.safetensors a link to a file of secrets: named, and nothing of the file in the message', async () => {
  const secrets = craft({
    passwd: 'root:x:0:0:SECRET-hunter2:/root:/bin/bash\n',
    'token.json': '{"api_key": "SECRET-sk-0123456789"}',
    'short.txt': 'SECRET',
  });
  const cases: [string, Record<string, { link: string } | string>, new (m: string) => TideError, RegExp][] = [
    ['passwd as config.json', { 'config.json': { link: join(secrets, 'passwd') } }, ConfigError, /\/config\.json: not valid JSON \(unexpected character\)$/],
    ['JSON secrets as config.json', { 'config.json': { link: join(secrets, 'token.json') } }, ConfigError, /\/config\.json: missing field model_type$/],
    ['short text as config.json', { 'config.json': { link: join(secrets, 'short.txt') } }, ConfigError, /\/config\.json: not valid JSON/],
    ['passwd as model.safetensors', { 'config.json': JSON.stringify(storiesConfig()), 'model.safetensors': { link: join(secrets, 'passwd') } }, SafetensorsError, /\/model\.safetensors: header length is over the limit of 100000000 bytes$/],
  ];
  for (const [what, files, type, pattern] of cases) {
    const e = await loadError(craft(files));
    assertTyped(e, type, pattern);
    assert.not.match(e.message, /SECRET|hunter2|root:x/, `${what}: ${e.message}`);
  }
});

test.run();

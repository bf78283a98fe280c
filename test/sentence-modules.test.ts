// sentence-transformers modules on tiny-bert: the classic and sentence-transformers 6 names in modules.json,
// both Pooling config layouts, Dense modules (against a float64 reference from the oracle's pooled
// vectors), prompts from config_sentence_transformers.json, one-string input and the maxSeqLength option.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, DtypeError, loadEmbedderFrom, OptionError, SafetensorsError, ShapeError } from '../src/index.js';
import { firstMismatches, oracle, rng } from './paths.js';
import { safetensorsFile, tinyBertFiles, wordpieceTokenizerJson } from './models/bert-files.js';

/** The bound against the float64 oracle. Measured through the three Dense layers: max abs error 3.7e-8 (baseline and relaxed). */
const EMBED_ATOL = 1e-4;

const o = oracle('tiny-bert.json');
const seqs: number[][] = o.input_ids.map((row: number[], i: number) => row.filter((_, t) => o.attention_mask[i][t] === 1));
const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, atol = EMBED_ATOL) => {
  assert.is(got.length, want.length, `${what}: length`);
  const bad = firstMismatches(got, want, () => atol);
  assert.equal(bad, [], `${what}: ${bad.join('; ')}`);
};
const load = (over: Parameters<typeof tinyBertFiles>[0] = {}, opts = {}) => loadEmbedderFrom(tinyBertFiles(over), { threads: 1, ...opts });
async function rejects(p: Promise<unknown>, cls: Function, re: RegExp): Promise<void> {
  try { await p; } catch (e) {
    assert.instance(e, cls, `${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${re}`);
}

const CLASSIC = 'sentence_transformers.models.', ST6 = 'sentence_transformers.sentence_transformer.models.';
/** modules.json from [type, path] pairs. */
const modules = (...m: [string, string][]) => JSON.stringify(m.map(([type, path], idx) => ({ idx, name: String(idx), path, type })));

test('sentence-transformers 6 module names and the pooling_mode config layout load as the classic ones', async () => {
  const e = await load({
    'modules.json': modules(['sentence_transformers.base.models.Transformer', ''], [`${ST6}Pooling`, '1_Pooling'], [`${ST6}Normalize`, '2_Normalize']),
    '1_Pooling/config.json': JSON.stringify({ embedding_dimension: 64, pooling_mode: 'mean', include_prompt: true }),
  });
  assert.equal([e.config.pooling, e.config.normalize, e.dim], ['mean', true, 64]);
  (await e.embed(seqs)).forEach((v, i) => close(v, o.sentence_embedding[i], `[${i}]`));
  for (const mode of ['cls', 'max', 'lasttoken'] as const) {
    const named = await load({ '1_Pooling/config.json': JSON.stringify({ embedding_dimension: 64, pooling_mode: mode }) });
    assert.is(named.config.pooling, mode);
  }
});

test('unsupported module setups and pooling modes are ConfigErrors naming the file and field', async () => {
  const pool = (c: object) => load({ '1_Pooling/config.json': JSON.stringify(c) });
  await rejects(pool({ embedding_dimension: 64, pooling_mode: 'weightedmean' }), ConfigError, /1_Pooling\/config\.json: pooling_mode "weightedmean" is not supported; supported: mean, cls, max, lasttoken/);
  await rejects(pool({ embedding_dimension: 64, pooling_mode: 'cls+mean' }), ConfigError, /pooling_mode "cls\+mean" is not supported/);
  await rejects(pool({ embedding_dimension: 32, pooling_mode: 'mean' }), ConfigError, /embedding_dimension 32 but the model's hidden_size is 64/);
  await rejects(pool({ embedding_dimension: 64, pooling_mode: 'mean', include_prompt: false }), ConfigError, /include_prompt false is not supported/);
  const mods = (...m: [string, string][]) => load({ 'modules.json': modules(...m) });
  await rejects(mods([`${CLASSIC}Transformer`, ''], [`${CLASSIC}LSTM`, '1_LSTM']), ConfigError, /modules\.json: module type "sentence_transformers\.models\.LSTM" is not supported/);
  await rejects(mods([`${CLASSIC}Transformer`, ''], [`${CLASSIC}Pooling`, '1_Pooling'], [`${CLASSIC}Normalize`, '2'], [`${CLASSIC}Dense`, '3_Dense']), ConfigError,
    /modules\.json: Dense after Normalize is not supported; expected Transformer, Pooling, Dense, Normalize in that order/);
  await rejects(mods([`${CLASSIC}Transformer`, ''], [`${CLASSIC}Pooling`, '1_Pooling'], [`${CLASSIC}Pooling`, '1_Pooling']), ConfigError, /Pooling after Pooling is not supported/);
  await rejects(mods([`${CLASSIC}Transformer`, ''], [`${CLASSIC}Dense`, '2_Dense']), ConfigError, /modules\.json: Dense before any Pooling module/);
  await rejects(mods([`${CLASSIC}Transformer`, ''], [`${CLASSIC}Pooling`, '../1_Pooling']), ConfigError, /module path "\.\.\/1_Pooling" must be a folder inside the model/);
  await rejects(mods([`${CLASSIC}Transformer`, '']), ConfigError, /modules\.json: no Pooling module/);
});

// ---- Dense ----

/** Seeded values k/1024, |k| ≤ 100: exact in F32, F16 and BF16, so every dtype holds the same numbers. */
const values = (n: number, seed: number) => { const r = rng(seed); return Array.from({ length: n }, () => Math.round(200 * r() - 100) / 1024); };
const ENCODE: Record<string, (v: number[]) => Uint8Array> = {
  F32: (v) => new Uint8Array(Float32Array.from(v).buffer),
  BF16: (v) => new Uint8Array(Uint16Array.from(new Uint32Array(Float32Array.from(v).buffer), (b) => b >>> 16).buffer),
  F16: (v) => new Uint8Array(Uint16Array.from(v, (x) => {
    if (x === 0) return 0;
    const e = Math.floor(Math.log2(Math.abs(x)));
    return (x < 0 ? 0x8000 : 0) | ((e + 15) << 10) | Math.round((Math.abs(x) / 2 ** e - 1) * 1024);
  }).buffer),
};
interface DenseSpec { path: string; inF: number; outF: number; dtype: string; bias: boolean; act: string; w: number[]; b: number[] }
const TANH = 'torch.nn.modules.activation.Tanh', IDENTITY = 'torch.nn.modules.linear.Identity';
const layer = (path: string, inF: number, outF: number, dtype: string, bias: boolean, act: string, seed: number): DenseSpec =>
  ({ path, inF, outF, dtype, bias, act, w: values(outF * inF, seed), b: values(outF, seed + 1) });
/** 64 → 96 (F32, bias, Tanh) → 80 (F16, bias) → 48 (BF16, no bias), then Normalize. */
const LAYERS = [layer('2_Dense', 64, 96, 'F32', true, TANH, 1), layer('3_Dense', 96, 80, 'F16', true, IDENTITY, 3), layer('4_Dense', 80, 48, 'BF16', false, IDENTITY, 5)];

function denseFiles(layers: DenseSpec[], over: Record<string, string | Uint8Array | null> = {}) {
  const files: Record<string, string | Uint8Array | null> = {
    'modules.json': modules([`${CLASSIC}Transformer`, ''], [`${CLASSIC}Pooling`, '1_Pooling'],
      ...layers.map((l, i): [string, string] => [`${i % 2 ? ST6 : CLASSIC}Dense`, l.path]), [`${CLASSIC}Normalize`, '9_Normalize']),
  };
  for (const l of layers) {
    files[`${l.path}/config.json`] = JSON.stringify({ in_features: l.inF, out_features: l.outF, bias: l.bias, activation_function: l.act });
    files[`${l.path}/model.safetensors`] = safetensorsFile({
      'linear.weight': { dtype: l.dtype, shape: [l.outF, l.inF], data: ENCODE[l.dtype](l.w) },
      ...(l.bias ? { 'linear.bias': { dtype: l.dtype, shape: [l.outF], data: ENCODE[l.dtype](l.b) } } : {}),
    });
  }
  return { ...files, ...over };
}
/** sentence-transformers' Dense stack in float64 on the oracle's pooled vector, then L2 normalised. */
function reference(pooled: number[], layers: DenseSpec[]): number[] {
  const x = layers.reduce((v, l) => Array.from({ length: l.outF }, (_, i) => {
    const y = v.reduce((acc, vk, k) => acc + l.w[i * l.inF + k] * vk, l.bias ? l.b[i] : 0);
    return l.act === TANH ? Math.tanh(y) : y;
  }), pooled);
  const n = Math.hypot(...x);
  return x.map((v) => v / n);
}

test('Dense modules (F32 + Tanh, F16, BF16 without bias) after the pooling match a float64 reference', async () => {
  const e = await load(denseFiles(LAYERS));
  assert.equal([e.dim, e.config.dense.map((l) => l.outFeatures)], [48, [96, 80, 48]]);
  (await e.embed(seqs)).forEach((v, i) => close(v, reference(o.mean_pooled[i], LAYERS), `dense [${i}]`));
  const m = await e.embedMatrix(seqs, { normalize: false });
  assert.equal([m.dim, m.data.length], [48, 96]);
});

test('Dense faults: widths, shapes, activations, dtypes and missing tensors are typed errors naming the file', async () => {
  const [a, b] = LAYERS;
  const cfg = (l: DenseSpec, c: object) => ({ [`${l.path}/config.json`]: JSON.stringify({ in_features: l.inF, out_features: l.outF, bias: l.bias, activation_function: l.act, ...c }) });
  await rejects(load(denseFiles([b])), ConfigError, /3_Dense\/config\.json: in_features 96 but the module before it gives 64/);
  await rejects(load(denseFiles([a, b], cfg(b, { in_features: 80 }))), ConfigError, /3_Dense\/config\.json: in_features 80 but the module before it gives 96/);
  await rejects(load(denseFiles([a], cfg(a, { activation_function: 'torch.nn.modules.activation.GELU' }))), ConfigError,
    /2_Dense\/config\.json: activation_function "torch\.nn\.modules\.activation\.GELU" is not supported; supported: .*Identity, .*Tanh/);
  await rejects(load(denseFiles([a], cfg(a, { module_input_name: 'token_embeddings' }))), ConfigError, /module_input_name "token_embeddings" is not supported/);
  await rejects(load(denseFiles([a], cfg(a, { out_features: 0 }))), ConfigError, /out_features must be a positive integer, got 0/);
  await rejects(load(denseFiles([a], cfg(a, { out_features: 95 }))), ShapeError, /2_Dense\/model\.safetensors: tensor "linear\.weight" has shape \[96,64\] but config\.json implies \[95,64\]/);
  await rejects(load(denseFiles([{ ...b, inF: 64, w: values(80 * 64, 3) }], { '3_Dense/config.json': null })), ConfigError, /3_Dense\/config\.json: missing/);
  await rejects(load(denseFiles([{ ...a, bias: false }], cfg(a, { bias: true }))), SafetensorsError, /2_Dense\/model\.safetensors: missing tensor "linear\.bias"/);
  await rejects(load(denseFiles([a], { '2_Dense/model.safetensors': null })), Error, /2_Dense: found neither model\.safetensors\.index\.json nor model\.safetensors/);
  const f64 = safetensorsFile({ 'linear.weight': { dtype: 'F64', shape: [96, 64], data: new Uint8Array(96 * 64 * 8) }, 'linear.bias': { dtype: 'F32', shape: [96], data: new Uint8Array(96 * 4) } });
  await rejects(load(denseFiles([a], { '2_Dense/model.safetensors': f64 })), DtypeError, /tensor "linear\.weight": dtype F64 is not supported; supported: F32, F16, BF16/);
});

// ---- prompts, one string, maxSeqLength ----

const PROMPTS = { prompts: { query: 'hello world ', document: '' }, default_prompt_name: null };
const withPrompts = (c: object = PROMPTS) => load({ 'tokenizer.json': wordpieceTokenizerJson(), 'config_sentence_transformers.json': JSON.stringify(c) });

test('prompts: a name from config_sentence_transformers.json or the text itself is put before each text', async () => {
  const e = await withPrompts();
  // One input per call: the same ids in the same pass give the same bits.
  const plain = [await e.embed('hello world the fox'), await e.embed('the fox')];
  const same = (got: Float32Array[], want: Float32Array[], what: string) => got.forEach((v, i) => assert.equal(Array.from(v), Array.from(want[i]), `${what} [${i}]`));
  same(await e.embed(['the fox'], { prompt: 'query' }), [plain[0]], 'prompt: query');
  same(await e.embed(['the fox'], { promptText: 'hello world ' }), [plain[0]], 'promptText');
  same(await e.embed(['the fox'], { prompt: 'document' }), [plain[1]], 'prompt: document (empty)');
  same(await e.embed(['the fox']), [plain[1]], 'no default_prompt_name: no prompt');
  assert.equal(e.tokenize(['the fox'], { prompt: 'query' }).ids, [[2, 22, 23, 5, 8, 3]]);
  const byDefault = await withPrompts({ ...PROMPTS, default_prompt_name: 'query' });
  same(await byDefault.embed(['the fox']), [plain[0]], 'default_prompt_name: query');
  same(await byDefault.embed(['the fox'], { prompt: 'document' }), [plain[1]], 'a named prompt overrides the default');
  same(await byDefault.embed([[2, 5, 8, 3]]), [plain[1]], 'ids are embedded as given');
});

test('prompt faults: unknown names list the known ones; bad config files name the field', async () => {
  const e = await withPrompts();
  await rejects(e.embed(['x'], { prompt: 'passage' }), OptionError, /prompt "passage" is not one of the model's prompts: query, document/);
  await rejects((await load()).embed([[5]], { prompt: 'query' }), OptionError, /not one of the model's prompts: none/);
  await rejects(e.embed(['x'], { prompt: 'query', promptText: 'q: ' }), OptionError, /prompt or promptText, not both/);
  await rejects(e.embed([[5]], { promptText: 'q: ' }), OptionError, /input 0: a prompt applies to text, not token ids/);
  await rejects(withPrompts({ prompts: { query: 'q' }, default_prompt_name: 'passage' }), ConfigError,
    /config_sentence_transformers\.json: default_prompt_name "passage" is not one of its prompts \(query\)/);
  await rejects(withPrompts({ prompts: ['q'] }), ConfigError, /config_sentence_transformers\.json: prompts must be an object/);
});

test('embed(one string) gives its vector; maxSeqLength overrides max_seq_length', async () => {
  const e = await withPrompts();
  const one = await e.embed('the quick brown fox', { prompt: 'query' });
  assert.instance(one, Float32Array);
  assert.equal(Array.from(one), Array.from((await e.embed(['hello world the quick brown fox']))[0]));
  const cut = await load({ 'tokenizer.json': wordpieceTokenizerJson() }, { maxSeqLength: 4 });
  assert.is(cut.maxSeqLength, 4);
  const v = await cut.embed(['the quick brown fox']);
  assert.equal([v.truncated, v.tokens], [[0], [4]]);
  close(v[0], (await e.embed([[2, 5, 6, 3]]))[0], 'cut to [CLS] the quick [SEP]', 1e-6);
  await rejects(load({}, { maxSeqLength: 0 }), OptionError, /maxSeqLength 0 must be a positive integer/);
});

test.run();

// The embedding API on tiny-bert: sentence-transformers files decide pooling and normalisation, options
// override them, text goes through a WordPiece tokenizer.json, and cosineSimilarity / topK by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, cosineSimilarity, loadEmbedderFrom, OptionError, TokenizerError, topK } from '../src/index.js';
import { FORWARD_TOKENS, packBatches } from '../src/text/embed.js';
import { firstMismatches, oracle } from './paths.js';
import { tinyBertFiles, wordpieceTokenizerJson } from './models/bert-files.js';

/** As in test/models/bert.test.ts: the bound against the float64 oracle. */
const EMBED_ATOL = 1e-4;
/** The same ids through two routes (text vs ids, config vs option): rounding only. */
const SAME_ATOL = 1e-6;

const o = oracle('tiny-bert.json');
const seqs: number[][] = o.input_ids.map((row: number[], i: number) => row.filter((_, t) => o.attention_mask[i][t] === 1));
const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, atol = EMBED_ATOL) => {
  const bad = firstMismatches(got, want, () => atol);
  assert.equal(bad, [], `${what}: ${bad.join('; ')}`);
};
const load = (over: Parameters<typeof tinyBertFiles>[0] = {}, onWarning?: (w: string) => void) =>
  loadEmbedderFrom(tinyBertFiles(over), { threads: 1, onWarning });
async function rejects(p: Promise<unknown>, cls: Function, re: RegExp): Promise<void> {
  try { await p; } catch (e) {
    assert.instance(e, cls);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${re}`);
}
const pooling = (modes: Record<string, boolean>) => JSON.stringify({ word_embedding_dimension: 64, ...modes });
const MODULES = (...types: string[]) => JSON.stringify(types.map((t, idx) => ({ idx, name: String(idx), path: t === 'Pooling' ? '1_Pooling' : '', type: `sentence_transformers.models.${t}` })));

test('no modules.json: mean pooling + L2 normalisation, with a warning', async () => {
  const warnings: string[] = [];
  const e = await load({ 'modules.json': null }, (w) => warnings.push(w));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /no modules\.json; using mean pooling and L2 normalisation/);
  (await e.embed(seqs)).forEach((v, i) => close(v, o.sentence_embedding[i], `fallback [${i}]`));
});

test('modules.json without Normalize: vectors are the oracle\'s mean_pooled, unnormalised; normalize: true overrides', async () => {
  const e = await load({ 'modules.json': MODULES('Transformer', 'Pooling') });
  assert.is(e.config.normalize, false);
  (await e.embed(seqs)).forEach((v, i) => close(v, o.mean_pooled[i], `mean_pooled [${i}]`));
  (await e.embed(seqs, { normalize: true })).forEach((v, i) => close(v, o.sentence_embedding[i], `normalize: true [${i}]`));
});

test('1_Pooling/config.json picks the mode; the pooling option overrides it', async () => {
  const e = await load({ '1_Pooling/config.json': pooling({ pooling_mode_cls_token: true }) });
  assert.is(e.config.pooling, 'cls');
  const byConfig = await e.embed(seqs);
  const mean = await e.embed(seqs, { pooling: 'mean' });
  mean.forEach((v, i) => close(v, o.sentence_embedding[i], `pooling: mean [${i}]`));
  const base = await (await load()).embed(seqs, { pooling: 'cls' });
  byConfig.forEach((v, i) => close(v, base[i], `config cls = option cls [${i}]`, SAME_ATOL));
});

test('unsupported sentence-transformers setups are ConfigErrors naming the file', async () => {
  await rejects(load({ '1_Pooling/config.json': pooling({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: true }) }), ConfigError, /1_Pooling\/config\.json: expected exactly one pooling_mode_\* true/);
  await rejects(load({ '1_Pooling/config.json': pooling({ pooling_mode_mean_sqrt_len_tokens: true }) }), ConfigError, /pooling_mode_mean_sqrt_len_tokens is not supported/);
  await rejects(load({ '1_Pooling/config.json': JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true }) }), ConfigError, /word_embedding_dimension 32 but the model's hidden_size is 64/);
  await rejects(load({ 'sentence_bert_config.json': '{"max_seq_length": 0}' }), ConfigError, /sentence_bert_config\.json: max_seq_length must be a positive integer/);
});

test('text through tokenizer.json equals its ids; truncation keeps [SEP]; do_lower_case lowercases first', async () => {
  const e = await load({ 'tokenizer.json': wordpieceTokenizerJson() });
  const [text, ids] = await Promise.all([e.embed(['The quick brown fox']), e.embed([[2, 5, 6, 7, 8, 3]])]);
  close(text[0], ids[0], 'text vs ids', SAME_ATOL);
  const cut = await load({ 'tokenizer.json': wordpieceTokenizerJson(), 'sentence_bert_config.json': '{"max_seq_length": 4}' });
  const v = await cut.embed(['the quick brown fox', 'fox']);
  assert.equal([v.truncated, v.tokens], [[0], [4, 3]]);
  close(v[0], (await e.embed([[2, 5, 6, 3]]))[0], 'cut to [CLS] the quick [SEP]', SAME_ATOL);
});

test('bad inputs and options fail with typed errors', async () => {
  const e = await load();
  await rejects(e.embed(['some text']), TokenizerError, /no tokenizer\.json; pass token ids/);
  await rejects(e.embed([[5, 300]]), TokenizerError, /input 0: token id 300 is outside the vocabulary 0\.\.299/);
  await rejects(e.embed([[5], []]), OptionError, /input 1: no tokens/);
  await rejects(e.embed(seqs, { batchSize: 0 }), OptionError, /batchSize 0/);
  await rejects(e.embed(seqs, { pooling: 'sum' as 'mean' }), OptionError, /pooling "sum" is not supported/);
  assert.equal((await e.embed([])).length, 0);
  await rejects(loadEmbedderFrom(tinyBertFiles(), { threads: 1, quantize: 'q3' as 'q8' }), OptionError, /quantize "q3" must be 'q8', 'q4' or 'none'/);
});

test('embedMatrix packs the same vectors row-major', async () => {
  const e = await load();
  const m = await e.embedMatrix(seqs);
  assert.equal([m.rows, m.dim, m.data.length], [2, 64, 128]);
  close(m.data.subarray(64), o.sentence_embedding[1], 'row 1');
});

test('packBatches: longest first, at most batchSize sequences and FORWARD_TOKENS tokens per pass', () => {
  const lens = (...n: number[]) => n.map((k) => new Array<number>(k).fill(5));
  assert.is(FORWARD_TOKENS, 512);
  assert.equal(packBatches(lens(100, 300, 50, 200), 32), [[1, 3], [0, 2]]);  // 300+200; 100+50
  assert.equal(packBatches(lens(100, 300, 50, 200), 1), [[1], [3], [0], [2]]);
  assert.equal(packBatches(lens(3, 600, 3), 32), [[1], [0, 2]]);            // a long one alone
  assert.equal(packBatches([], 4), []);
});

test('cosineSimilarity and topK by hand', () => {
  assert.is(cosineSimilarity([1, 0], [0, 1]), 0);
  assert.is(cosineSimilarity([1, 2], [2, 4]), 1);
  assert.is(cosineSimilarity([3, 4], [-3, -4]), -1);
  assert.ok(Math.abs(cosineSimilarity([1, 1], [1, 0]) - Math.SQRT1_2) < 1e-15);
  assert.is(cosineSimilarity([0, 0], [1, 0]), 0);
  assert.throws(() => cosineSimilarity([1], [1, 2]), (e: Error) => e instanceof OptionError && /lengths? 1 and 2/.test(e.message));
  const corpus = [[0, 1], [1, 1], [1, 0], [-1, 0], [2, 0]];
  assert.equal(topK([1, 0], corpus, 3).map((r) => r.index), [2, 4, 1]);
  assert.ok(Math.abs(topK([1, 0], corpus, 3)[2].score - Math.SQRT1_2) < 1e-15);
  // Scores −1, −0.71, 0, 0, 0: the three ties come back in index order.
  assert.equal(topK([0, -1], corpus).map((r) => r.index), [2, 3, 4, 1, 0]);
  assert.equal(topK([1, 0], corpus, 0), []);
});

test.run();

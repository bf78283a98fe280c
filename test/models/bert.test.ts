// The BERT encoder against an outside oracle: HF transformers BertModel + sentence-transformers pooling in
// float64 (test/oracles/tiny-bert.json) for a padded batch, plus the checkpoint rules and the encoder spec.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { bertSpecFromConfig, ConfigError, cosineSimilarity, loadEmbedder, loadEmbedderFrom, SafetensorsError, type Embedder } from '../../src/index.js';
import { firstMismatches, fixtureConfig, oracle } from '../paths.js';
import { rewriteCheckpoint, TINY_BERT, tinyBertFiles } from './bert-files.js';

/** The bound. Measured vs float64: max abs error 3.8e-8 / 6.1e-8 (embeddings, baseline / relaxed), 9.8e-7 (hidden states). */
const EMBED_ATOL = 1e-4;
/**
 * A sequence alone vs in a batch with longer ones: the same arithmetic on the same rows, except that
 * the matmul may take a row in a multi-row tile or in its tail (summation order). Leaked padding or
 * cross-sequence attention moves vectors by ~1e-2; 1e-6 is rounding only (measured 3.7e-8).
 */
const BATCH_ATOL = 1e-6;

interface BertOracle {
  input_ids: number[][]; attention_mask: number[][];
  last_hidden_state: number[][][]; mean_pooled: number[][]; sentence_embedding: number[][];
}
const o = oracle<BertOracle>('tiny-bert.json');
/** The oracle's padded batch as Tide takes it: each row's ids where the mask is 1. */
const seqs = o.input_ids.map((row, i) => row.filter((_, t) => o.attention_mask[i][t] === 1));

let shared: Promise<Embedder> | undefined;
const tiny = () => (shared ??= loadEmbedder(TINY_BERT, { threads: 1 }));

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, atol = EMBED_ATOL) => {
  assert.is(got.length, want.length, `${what}: length`);
  const bad = firstMismatches(got, want, () => atol);
  assert.equal(bad, [], `${what}: ${bad.join('; ')}`);
};
const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };

test('tiny-bert: sentence embeddings of the padded batch match sentence-transformers within 1e-4', async () => {
  const e = await tiny();
  assert.equal(e.config.pooling, 'mean');
  assert.is(e.config.normalize, true);
  const v = await e.embed(seqs);
  v.forEach((row, i) => close(row, o.sentence_embedding[i], `sentence_embedding[${i}]`));
  const raw = await e.embed(seqs, { normalize: false });
  raw.forEach((row, i) => close(row, o.mean_pooled[i], `mean_pooled[${i}]`));
});

test('tiny-bert: last hidden states at every unpadded position match BertModel within 1e-4', async () => {
  const e = await tiny();
  e.encoder.run([seqs], (h, offsets) => seqs.forEach((ids, i) => ids.forEach((_, t) => {
    const r = offsets[i] + t;
    close(h.subarray(r * e.dim, (r + 1) * e.dim), o.last_hidden_state[i][t], `last_hidden_state[${i}][${t}]`);
  })));
});

test('tiny-bert: cls, max and last-token pooling match the oracle hidden states', async () => {
  const e = await tiny();
  const h = (i: number) => o.last_hidden_state[i].slice(0, seqs[i].length);
  const want = {
    cls: (i: number) => h(i)[0],
    lasttoken: (i: number) => h(i)[seqs[i].length - 1],
    max: (i: number) => h(i)[0].map((_, j) => Math.max(...h(i).map((row) => row[j]))),
  };
  for (const [mode, f] of Object.entries(want)) {
    const v = await e.embed(seqs, { pooling: mode as 'cls' | 'max' | 'lasttoken' });
    v.forEach((row, i) => close(row, unit(f(i)), `${mode}[${i}]`));
  }
});

test('tiny-bert: a text alone equals the same text in a batch with longer ones, in any batch size', async () => {
  const e = await tiny();
  const rnd = (n: number, seed: number) => Array.from({ length: n }, (_, t) => 1 + ((seed * 7919 + t * 104729) % 299));
  const short = seqs[0];
  const alone = (await e.embed([short]))[0];
  const mixed = [rnd(40, 1), short, rnd(128, 2), rnd(3, 3), seqs[1], rnd(17, 4)];
  for (const batchSize of [1, 2, 4, 32]) {
    const v = await e.embed(mixed, { batchSize });
    close(v[1], alone, `batchSize ${batchSize}: short text among longer ones`, BATCH_ATOL);
    close(v[4], o.sentence_embedding[1], `batchSize ${batchSize}: results come back in input order`);
  }
});

test('tiny-bert: two threads (heads and matmul rows split) give bit-identical vectors', async () => {
  const e2 = await loadEmbedder(TINY_BERT, { threads: 2 });
  e2.ops.minParallelWork = 0; // tiny-bert is tiny: split every op so the pool really runs
  try {
    const [one, two] = [await (await tiny()).embed([...seqs, seqs[0].slice(2)]), await e2.embed([...seqs, seqs[0].slice(2)])];
    // Each row and head is computed whole by one thread (README, Threads), so not even rounding differs
    // on the baseline module. The relaxed one may fuse relaxed_madd in one V8 tier and not another.
    if (e2.encoder.arena.flavor === 'baseline') two.forEach((v, i) => assert.equal(Array.from(v), Array.from(one[i]), `threads 2 [${i}]`));
    else two.forEach((v, i) => close(v, Array.from(one[i]), `threads 2 [${i}]`, 1e-6));
  } finally {
    await e2.dispose();
  }
});

/**
 * quantize q8/q4 (the linear layers only; embeddings and vectors stay f32) against the f32 encoder: the
 * least cosine over the oracle batch and longer texts. Measured 0.999995 (q8) and 0.998798 (q4) on both
 * modules at 1 and 2 threads; bounds leave 10× that distance from 1.
 */
const QUANT_COS = { q8: 0.99995, q4: 0.988 };

for (const quantize of ['q8', 'q4'] as const) {
  test(`tiny-bert ${quantize}: linear layers quantized, cosine to f32 ≥ ${QUANT_COS[quantize]}; 2 threads give the same vectors as 1`, async () => {
    const rnd = (n: number, seed: number) => Array.from({ length: n }, (_, t) => 1 + ((seed * 7919 + t * 104729) % 299));
    const inputs = [...seqs, rnd(40, 1), rnd(128, 2), rnd(3, 3), rnd(17, 4)];
    const ref = await (await tiny()).embed(inputs);
    const at: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      const e = await loadEmbedder(TINY_BERT, { threads, quantize });
      e.ops.minParallelWork = 0;
      try {
        assert.ok(e.encoder.info.weightBytes < (await tiny()).encoder.info.weightBytes);
        const v = await e.embed(inputs);
        v.forEach((row, i) => assert.ok(cosineSimilarity(row, ref[i]) >= QUANT_COS[quantize], `input ${i}: cosine ${cosineSimilarity(row, ref[i])}`));
        at.push(v);
        if (threads === 2 && e.encoder.arena.flavor === 'baseline') v.forEach((row, i) => assert.equal(Array.from(row), Array.from(at[0][i]), `threads 2 [${i}]`));
        else if (threads === 2) v.forEach((row, i) => close(row, Array.from(at[0][i]), `threads 2 [${i}]`, 1e-6));
      } finally {
        await e.dispose();
      }
    }
  });
}

test('tiny-bert: inputs past max_seq_length are truncated and reported', async () => {
  const e = await loadEmbedderFrom(tinyBertFiles({ 'sentence_bert_config.json': '{"max_seq_length": 5}' }), { threads: 1 });
  assert.is(e.maxSeqLength, 5);
  const v = await e.embed([seqs[1], seqs[0].slice(0, 4)]);
  assert.equal(v.truncated, [0]);
  assert.equal(v.tokens, [5, 4]);
  const cut = await (await tiny()).embed([seqs[1].slice(0, 5)]);
  close(v[0], cut[0], 'truncated input = its first 5 ids', BATCH_ATOL);
});

test('checkpoint: a task model\'s "bert." prefix loads; pooler/MLM extras are ignored; a missing tensor names itself', async () => {
  const prefixed = rewriteCheckpoint((n) => `bert.${n}`);
  const e = await loadEmbedderFrom(tinyBertFiles({ 'model.safetensors': prefixed }), { threads: 1 });
  (await e.embed(seqs)).forEach((row, i) => close(row, o.sentence_embedding[i], `bert.-prefixed [${i}]`));
  const missing = rewriteCheckpoint((n) => (n === 'encoder.layer.1.attention.self.key.bias' ? null : n));
  try {
    await loadEmbedderFrom(tinyBertFiles({ 'model.safetensors': missing }), { threads: 1 });
    assert.unreachable('loaded without encoder.layer.1.attention.self.key.bias');
  } catch (err) {
    assert.instance(err, SafetensorsError);
    assert.match((err as Error).message, /missing tensor "encoder\.layer\.1\.attention\.self\.key\.bias"/);
  }
});

test('spec: all-MiniLM-L6-v2 config; roberta position offset; unsupported activation and position types', () => {
  const mini = JSON.parse(readFileSync(`${fixtureConfig('all-minilm-l6-v2')}/config.json`, 'utf8'));
  const s = bertSpecFromConfig(mini);
  assert.equal([s.dim, s.nLayers, s.nHeads, s.headDim, s.hiddenDim, s.vocabSize, s.seqLen, s.positionOffset, s.normEps],
    [384, 6, 12, 32, 1536, 30522, 512, 0, 1e-12]);
  const r = bertSpecFromConfig({ ...mini, model_type: 'roberta', pad_token_id: 1, max_position_embeddings: 514 });
  assert.equal([r.positionOffset, r.seqLen, r.maxPositions], [2, 512, 514]);
  for (const [field, value] of [['hidden_act', 'gelu_new'], ['position_embedding_type', 'relative_key'], ['model_type', 'llama']]) {
    assert.throws(() => bertSpecFromConfig({ ...mini, [field]: value }, 'x/config.json'),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('x/config.json: ') && err.message.includes(value));
  }
});

test.run();

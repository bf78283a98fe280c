// `tide embed` as external checks call it, through bin/tide.js: ids → JSON vectors against the oracle,
// the similarity matrix, and --file → JSONL with a tokenizer.json laid beside tiny-bert's files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cosineSimilarity } from '../src/index.js';
import { firstMismatches, oracle, ROOT } from './paths.js';
import { TINY_BERT, wordpieceTokenizerJson } from './models/bert-files.js';

const run = promisify(execFile);
const o = oracle('tiny-bert.json');
const idArgs = o.input_ids.flatMap((row: number[], i: number) => ['--ids', row.filter((_, t) => o.attention_mask[i][t] === 1).join(',')]);

// The child runs plain `node`, so a TIDE_SIMD=relaxed run of this suite must not pass that choice on.
const { TIDE_SIMD: _simd, ...env } = process.env;

async function tide(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/tide.js', ...args], { cwd: ROOT, env: { ...env, TIDE_DEBUG: '', TIDE_THREADS: '1' } });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

test('embed --ids … --json prints {"embeddings": …} within 1e-4 of sentence-transformers', async () => {
  const r = await tide('embed', TINY_BERT, ...idArgs, '--json');
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(Object.keys(j), ['embeddings']);
  j.embeddings.forEach((v: number[], i: number) => {
    const bad = firstMismatches(v, o.sentence_embedding[i], () => 1e-4);
    assert.equal(bad, [], `embedding ${i}: ${bad.join('; ')}`);
  });
});

test('embed --pooling cls --no-normalize --batch-size 1 prints BertModel\'s raw [CLS] states', async () => {
  const r = await tide('embed', TINY_BERT, ...idArgs, '--pooling', 'cls', '--no-normalize', '--batch-size', '1', '--json');
  assert.is(r.code, 0, r.stderr);
  JSON.parse(r.stdout).embeddings.forEach((v: number[], i: number) => {
    const bad = firstMismatches(v, o.last_hidden_state[i][0], () => 1e-4);
    assert.equal(bad, [], `embedding ${i}: ${bad.join('; ')}`);
  });
});

test('embed --quant q8 quantizes the linear layers: vectors within cosine 0.99995 of the oracle (measured 0.999995)', async () => {
  const r = await tide('embed', TINY_BERT, ...idArgs, '--json', '--quant', 'q8');
  assert.is(r.code, 0, r.stderr);
  JSON.parse(r.stdout).embeddings.forEach((v: number[], i: number) => {
    const cos = cosineSimilarity(v, o.sentence_embedding[i]);
    assert.ok(cos >= 0.99995 && cos < 1 - 1e-9, `embedding ${i}: cosine ${cos}`);
  });
});

test('embed without --json prints the cosine similarity matrix', async () => {
  const r = await tide('embed', TINY_BERT, ...idArgs);
  assert.is(r.code, 0, r.stderr);
  const cos = cosineSimilarity(o.sentence_embedding[0], o.sentence_embedding[1]).toFixed(4);
  assert.equal(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)), [
    ['cosine', 'similarity', '(2', 'inputs,', 'dim', '64)'], ['0', '1.0000', cos], ['1', cos, '1.0000']]);
});

test('embed --file writes one JSON line per input line; text without a tokenizer is a one-line error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-embed-'));
  try {
    for (const f of ['config.json', 'model.safetensors', 'modules.json', '1_Pooling', 'sentence_bert_config.json']) symlinkSync(join(TINY_BERT, f), join(dir, f));
    writeFileSync(join(dir, 'tokenizer.json'), wordpieceTokenizerJson());
    writeFileSync(join(dir, 'lines.txt'), 'The quick brown fox\nhello world\nunbelievable!\n');
    const r = await tide('embed', dir, '--file', join(dir, 'lines.txt'), '--out', join(dir, 'out.jsonl'));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /\] 3\/3 lines/);
    const rows = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.map((x) => x.line), [1, 2, 3]);
    const ids = JSON.parse((await tide('embed', dir, '--ids', '2,5,6,7,8,3', '--json')).stdout).embeddings[0];
    assert.equal(firstMismatches(rows[0].embedding, ids, () => 1e-6), []);
    const bad = await tide('embed', TINY_BERT, '--text', 'hello');
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /^tide: .*no tokenizer\.json; pass token ids/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

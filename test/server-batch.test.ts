// tide serve --parallel N decodes its requests together (src/text/scheduler.ts): concurrent requests get
// what each gets alone, a shared prompt prefix is reused and reported as usage.prompt_tokens_details.
// cached_tokens, concurrent embeddings share encoder calls, speculative decoding keeps greedy output, and
// GET /metrics reports it all in Prometheus' text format.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { loadEmbedder, type Embedder } from '../src/text/embed.js';
import { loadModel, type Model } from '../src/index.js';
import { startServer, type TideServer } from '../src/server/index.js';
import { fixtureModel, oracle, WEIGHTS } from './paths.js';
import { chatModelDir, tokenizerFiles } from './server-fixture.js';

const greedy = oracle('stories260K-greedy.json');
let model: Model, embedder: Embedder, chatDir: string, srv: TideServer;

test.before(async () => {
  chatDir = chatModelDir();
  model = await loadModel(chatDir, { threads: 2 });
  embedder = await loadEmbedder(fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  srv = await startServer({ model, modelId: 'stories', tokenizer: await tokenizerFiles(chatDir), embedder, embedModelId: 'bert',
    port: 0, parallel: 4, log: () => {} });
});

test.after(async () => {
  await srv?.close();
  await Promise.all([model?.dispose(), embedder?.dispose()]);
  rmSync(chatDir, { recursive: true, force: true });
});

async function post(path: string, body: object): Promise<any> {
  const res = await fetch(srv.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const j = await res.json();
  assert.is(res.status, 200, JSON.stringify(j));
  return j;
}

/** GET /metrics as name{labels} → value; every line must be a comment or a sample. */
async function metrics(): Promise<Map<string, number>> {
  const res = await fetch(srv.url + '/metrics');
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const m = new Map<string, number>();
  for (const line of (await res.text()).trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const s = /^([a-z_]+(?:\{[^}]*\})?) (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(s, `not a Prometheus sample: ${line}`);
    m.set(s[1], Number(s[2]));
  }
  return m;
}

test('four concurrent completions of 1 to 40 prompt ids, greedy and seeded, each as it is alone; the forwards were shared', async () => {
  const prompts = [[1], greedy.greedy_ids.slice(0, 40), [1, 403, 407], greedy.greedy_ids.slice(0, 12)];
  const bodies = prompts.map((prompt, i) => ({ model: 'stories', prompt, max_tokens: 30 + 5 * i, logit_bias: { 1: -100, 2: -100 },
    temperature: i === 2 ? 1 : 0, seed: i === 2 ? 11 : undefined }));
  const before = await metrics();
  const together = await Promise.all(bodies.map((b) => post('/v1/completions', b)));
  const after = await metrics();
  for (const [i, b] of bodies.entries()) {
    const alone = await model.complete(b.prompt, { maxTokens: b.max_tokens, temperature: b.temperature, seed: b.seed, logitBias: b.logit_bias });
    assert.is(together[i].choices[0].text, alone.text, `request ${i}`);
    assert.is(together[i].usage.completion_tokens, b.max_tokens);
  }
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const tokens = bodies.reduce((n, b) => n + b.max_tokens, 0);
  assert.is(d('tide_requests_total{route="/v1/completions",status="200"}'), 4);
  assert.is(d('tide_generation_tokens_total'), tokens);
  assert.is(d('tide_time_to_first_token_seconds_count'), 4);
  assert.is(d('tide_inter_token_latency_seconds_count'), tokens - 4);
  assert.ok(d('tide_batch_rows_total') > 1.5 * d('tide_batch_forwards_total'), `mean batch ${d('tide_batch_rows_total') / d('tide_batch_forwards_total')}`);
  assert.is(after.get('tide_batch_sequences'), 0);
  assert.is(after.get('tide_queue_waiting'), 0);
});

test('a second chat with the same system prompt reuses its rows: usage.prompt_tokens_details.cached_tokens', async () => {
  const system = { role: 'system', content: 'You are a storyteller who tells short stories about a little girl named Lily and her dog.' };
  const ask = (content: string) => post('/v1/chat/completions', { model: 'stories', messages: [system, { role: 'user', content }], max_tokens: 8, temperature: 0 });
  const hits = (await metrics()).get('tide_prefix_cache_hits_total')!;
  const a = await ask('Once upon a time');
  const b = await ask('One day');
  assert.ok(b.usage.prompt_tokens_details.cached_tokens >= 20, JSON.stringify(b.usage));
  assert.ok(b.usage.prompt_tokens_details.cached_tokens < b.usage.prompt_tokens);
  assert.is(typeof a.usage.prompt_tokens_details.cached_tokens, 'number');
  const m = await metrics();
  assert.ok(m.get('tide_prefix_cache_hits_total')! > hits);
  assert.ok(m.get('tide_prompt_tokens_cached_total')! >= b.usage.prompt_tokens_details.cached_tokens);
});

test('concurrent embeddings requests share the encoder\'s calls and get what each gets alone', async () => {
  const inputs = [[[20, 36, 118]], [[20, 36], [101, 7, 9, 12]], [[5, 6, 7]]];
  const before = (await metrics()).get('tide_embedding_batches_total')!;
  const got = await Promise.all(inputs.map((input) => post('/v1/embeddings', { model: 'bert', input })));
  const calls = (await metrics()).get('tide_embedding_batches_total')! - before;
  assert.is(calls, 1, 'three requests in flight, one encoder call');
  for (const [i, input] of inputs.entries()) {
    const alone = await embedder.embed(input);
    got[i].data.forEach((d: { embedding: number[] }, j: number) => assert.ok(d.embedding.every((v, k) => Math.abs(v - alone[j][k]) <= 1e-6), `request ${i} input ${j}`));
  }
});

test('speculative serving (prompt lookup) keeps the greedy output and counts drafts in /metrics', async () => {
  const s = await startServer({ model, modelId: 'stories', tokenizer: await tokenizerFiles(chatDir), port: 0, parallel: 2, lookup: 4, log: () => {} });
  try {
    const res = await fetch(s.url + '/v1/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'stories', prompt: [1], max_tokens: 120, temperature: 0 }) });
    assert.is((await res.json()).choices[0].text, (await model.complete([1], { maxTokens: 120, temperature: 0 })).text);
    const text = await (await fetch(s.url + '/metrics')).text();
    assert.match(text, /^tide_speculative_drafted_total [1-9]\d*$/m);
  } finally {
    await s.close();
  }
});

test.run();

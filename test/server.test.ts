// tide serve (src/server/) over raw HTTP: greedy text against the llama2.c/transformers oracles, chat
// through a template, embeddings against sentence-transformers, and the behaviour under abuse: API key,
// body limit, malformed fields, context, disconnects, a full queue. test/e2e/openai.test.ts drives the
// same server with the official `openai` client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { loadEmbedder, type Embedder } from '../src/text/embed.js';
import { loadModel, type Model } from '../src/index.js';
import { startServer, type TideServer } from '../src/server/index.js';
import { JobQueue } from '../src/server/queue.js';
import { ApiError } from '../src/server/errors.js';
import { Session } from '../src/runtime/session.js';
import { firstMismatches, fixtureModel, oracle, WEIGHTS } from './paths.js';
import { chatModelDir, freePort, sseData, THINK_TEMPLATE, tokenizerFiles } from './server-fixture.js';

const greedy = oracle('stories260K-greedy.json');
const prompts = oracle('stories260K-prompts.json');
const bert = oracle('tiny-bert.json');
const KEY = 'test-key';
const MAX_BODY = 64 * 1024;
const EMBED_TOL = 1e-4; // issue 5's bound for tiny-bert against sentence-transformers (float64)
const NO_EOS = { 1: -100, 2: -100 }; // logit_bias that bans stories260K's eos ids, so a run lasts to max_tokens

let model: Model, chatModel: Model, embedder: Embedder, chatDir: string | undefined;
let srv: TideServer, chatSrv: TideServer;
const logs: string[] = [];

test.before(async () => {
  model = await loadModel(`${WEIGHTS}/stories260K`, { threads: 1 });
  chatDir = chatModelDir();
  chatModel = await loadModel(chatDir, { threads: 1 });
  embedder = await loadEmbedder(fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  srv = await startServer({ model, modelId: 'stories260K', tokenizer: await tokenizerFiles(`${WEIGHTS}/stories260K`), embedder, embedModelId: 'tiny-bert', apiKey: KEY,
    port: await freePort(), maxBodyBytes: MAX_BODY, parallel: 1, maxQueue: 1, log: (l) => logs.push(l) });
  chatSrv = await startServer({ model: chatModel, modelId: 'stories260K-chat', tokenizer: await tokenizerFiles(chatDir), port: await freePort(), log: () => {} });
});

test.after(async () => {
  await Promise.all([srv?.close(), chatSrv?.close()]);
  await Promise.all([model?.dispose(), chatModel?.dispose(), embedder?.dispose()]);
  if (chatDir) rmSync(chatDir, { recursive: true, force: true });
});

const JSON_KEY = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
const post = (path: string, body: unknown, headers: Record<string, string> = {}, base = srv.url) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { ...JSON_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body) });

/** POST a request that must succeed; its JSON answer. */
async function ok(path: string, body: object, base = srv.url): Promise<any> {
  const res = await post(path, body, {}, base);
  const j = await res.json();
  assert.is(res.status, 200, JSON.stringify(j));
  return j;
}

/** POST a streamed request; its chunks, parsed, after checking that the stream ends with [DONE]. */
async function chunks(path: string, body: object, base = srv.url): Promise<any[]> {
  const res = await post(path, { ...body, stream: true }, {}, base);
  assert.is(res.status, 200);
  const data: string[] = [];
  for await (const d of sseData(res)) data.push(d);
  assert.is(data.pop(), '[DONE]');
  return data.map((d) => JSON.parse(d));
}

async function expectError(res: Response, status: number, param: string | null, code?: string): Promise<void> {
  const j = await res.json();
  assert.is(res.status, status, JSON.stringify(j));
  assert.type(j.error?.message, 'string');
  assert.type(j.error?.type, 'string');
  assert.is(j.error.param, param, JSON.stringify(j));
  if (code) assert.is(j.error.code, code, JSON.stringify(j));
}

test('completions: greedy from BOS is llama2.c\'s 200-token story, with usage and finish_reason', async () => {
  const r = await ok('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 200, temperature: 0 });
  assert.is(r.object, 'text_completion');
  assert.is(r.choices[0].text, greedy.text);
  assert.is(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage, { prompt_tokens: 1, completion_tokens: 200, total_tokens: 201 });
});

test('completions: text prompts continue as transformers does; streaming gives the same text', async () => {
  for (const c of prompts.cases) {
    const request = { model: 'stories260K', prompt: c.prompt, max_tokens: prompts.steps, temperature: 0 };
    const r = await ok('/v1/completions', request);
    assert.is(r.choices[0].text, c.continuation);
    assert.is(r.usage.prompt_tokens, c.prompt_ids.length);
    let text = '', finish: string | null = null, usage: unknown;
    for (const chunk of await chunks('/v1/completions', { ...request, stream_options: { include_usage: true } })) {
      for (const ch of chunk.choices) { text += ch.text; finish = ch.finish_reason ?? finish; }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.is(text, c.continuation);
    assert.is(finish, 'length');
    assert.equal(usage, { prompt_tokens: c.prompt_ids.length, completion_tokens: prompts.steps, total_tokens: c.prompt_ids.length + prompts.steps });
  }
});

test('completions: a prompt longer than one prefill slice (64) continues exactly as llama2.c', async () => {
  const prompt = [1, ...greedy.greedy_ids.slice(0, 150)];
  const r = await ok('/v1/completions', { model: 'stories260K', prompt, max_tokens: 50, temperature: 0 });
  assert.is(r.usage.completion_tokens, 50);
  assert.ok(r.choices[0].text.length > 50 && greedy.text.endsWith(r.choices[0].text), r.choices[0].text);
});

test('completions: stop strings end the text before them (finish_reason stop); seed and sampling fields change the output', async () => {
  const r = await ok('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 200, temperature: 0, stop: [' Lily'] });
  assert.is(r.choices[0].text, greedy.text.slice(0, greedy.text.indexOf(' Lily')));
  assert.is(r.choices[0].finish_reason, 'stop');
  const sample = async (extra: object) => (await ok('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 40, temperature: 1, ...extra })).choices[0].text;
  const a = await sample({ seed: 1 }), b = await sample({ seed: 1 }), c = await sample({ seed: 2 });
  assert.is(a, b);
  assert.is.not(a, c);
  // top_k 1 keeps only the most likely token: the greedy text whatever the temperature and seed.
  assert.is(await sample({ seed: 3, top_k: 1 }), (await ok('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 40, temperature: 0 })).choices[0].text);
  assert.is.not(await sample({ seed: 1, min_p: 0.5 }), a);
  assert.is.not(await sample({ seed: 1, repetition_penalty: 1.5 }), a);
});

test('chat: a model without a chat template answers 400 chat_template_missing; completions still work', async () => {
  await expectError(await post('/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }] }), 400, 'messages', 'chat_template_missing');
});

test('chat: the template renders the prompt (one BOS); the answer equals completions on the same ids; streaming matches', async () => {
  const request = { model: 'stories260K-chat', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 30, temperature: 0 };
  const r = await ok('/v1/chat/completions', request, chatSrv.url);
  const ids = chatModel.tokenizer!.encode('<s>user: Once upon a time\nassistant:', { addSpecialTokens: false });
  assert.is(ids.filter((id) => id === 1).length, 1, 'BOS written once, by the template');
  assert.is(r.usage.prompt_tokens, ids.length);
  assert.is(r.choices[0].message.role, 'assistant');
  const plain = await ok('/v1/completions', { model: 'stories260K-chat', prompt: ids, max_tokens: 30, temperature: 0 }, chatSrv.url);
  assert.is(r.choices[0].message.content, plain.choices[0].text);
  assert.ok(r.choices[0].message.content.length > 0);

  let text = '', role: string | undefined, finish: string | null = null;
  for (const chunk of await chunks('/v1/chat/completions', request, chatSrv.url)) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    role ??= ch.delta.role;
    text += ch.delta.content ?? '';
    finish = ch.finish_reason ?? finish;
  }
  assert.is(role, 'assistant');
  assert.is(text, r.choices[0].message.content);
  assert.is(finish, r.choices[0].finish_reason);
});

test('chat: a template that opens <think> sends the output as reasoning_content (DeepSeek\'s field)', async () => {
  const dir = chatModelDir(THINK_TEMPLATE);
  const m = await loadModel(dir, { threads: 1 });
  const s = await startServer({ model: m, modelId: 'think', tokenizer: await tokenizerFiles(dir), port: await freePort(), log: () => {} });
  try {
    const messages = [{ role: 'user', content: 'Once upon a time' }];
    const r = await ok('/v1/chat/completions', { model: 'think', messages, max_tokens: 20, temperature: 0 }, s.url);
    const ids = m.tokenizer!.encode('<s>user: Once upon a time\nassistant:<think>\n', { addSpecialTokens: false });
    const plain = await ok('/v1/completions', { model: 'think', prompt: ids, max_tokens: 20, temperature: 0 }, s.url);
    const msg = r.choices[0].message;
    assert.is(msg.reasoning_content, plain.choices[0].text); // no </think> yet: all of it is reasoning
    assert.is(msg.content, '');
  } finally {
    await s.close();
    await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('embeddings: token-id inputs match sentence-transformers (float, the default, and base64)', async () => {
  const input = bert.input_ids.map((row: number[], i: number) => row.filter((_, j) => bert.attention_mask[i][j] === 1));
  const floats = (e: number[] | string) => (typeof e === 'string' ? new Float32Array(new Uint8Array(Buffer.from(e, 'base64')).buffer) : e);
  for (const encoding_format of [undefined, 'base64'] as const) {
    const r = await ok('/v1/embeddings', { model: 'tiny-bert', input, ...(encoding_format ? { encoding_format } : {}) });
    assert.is(r.data.length, 2);
    r.data.forEach((d: { index: number; embedding: number[] | string }, i: number) => {
      assert.is(d.index, i);
      assert.type(d.embedding, encoding_format === 'base64' ? 'string' : 'object');
      assert.equal(firstMismatches(floats(d.embedding), bert.sentence_embedding[i], () => EMBED_TOL), [], `input ${i} (${encoding_format ?? 'float'})`);
    });
    assert.is(r.usage.prompt_tokens, input[0].length + input[1].length);
  }
  await expectError(await post('/v1/embeddings', { model: 'tiny-bert', input: 'text' }), 400, 'input', 'no_tokenizer'); // no tokenizer.json
  await expectError(await post('/v1/embeddings', { model: 'tiny-bert', input: [[1, 2, 100000]] }), 400, 'input');
});

test('models and health; an unknown model name is 404 model_not_found', async () => {
  const get = (path: string) => fetch(`${srv.url}${path}`, { headers: { Authorization: `Bearer ${KEY}` } });
  const list = await (await get('/v1/models')).json();
  assert.is(list.object, 'list');
  assert.equal(list.data.map((m: { id: string }) => m.id), ['stories260K', 'tiny-bert']);
  assert.is((await (await get('/v1/models/tiny-bert')).json()).id, 'tiny-bert');
  await expectError(await get('/v1/models/gpt-4'), 404, 'model', 'model_not_found');
  await expectError(await get('/v1/models/%E0%A4%A'), 400, null);
  const h = await fetch(`${srv.url}/health`); // no key needed
  assert.is(h.status, 200);
  assert.is((await h.json()).status, 'ok');
  await expectError(await post('/v1/completions', { model: 'gpt-4', prompt: 'x' }), 404, 'model', 'model_not_found');
});

test('API key: missing or wrong → 401 with an OpenAI error object', async () => {
  await expectError(await fetch(`${srv.url}/v1/models`), 401, null, 'invalid_api_key');
  await expectError(await post('/v1/completions', { model: 'stories260K', prompt: 'x' }, { Authorization: 'Bearer nope' }), 401, null, 'invalid_api_key');
  await expectError(await fetch(`${srv.url}/v1/models`, { headers: { Authorization: 'Bearer nope' } }), 401, null, 'invalid_api_key');
});

test('malformed requests: 413, 400 for bad JSON, wrong types and a prompt over the context; 404/405; the server lives on', async () => {
  const ok = { model: 'stories260K', prompt: 'Once' };
  const logged = logs.length;
  await expectError(await post('/v1/completions', { ...ok, prompt: 'x'.repeat(MAX_BODY) }), 413, null, 'request_too_large');
  await expectError(await post('/v1/completions', '{"model": "stories260K", '), 400, null, 'invalid_json');
  await expectError(await post('/v1/completions', '[1, 2]'), 400, null);
  for (const [field, value] of [['temperature', 'hot'], ['max_tokens', -1], ['max_tokens', 1.5], ['stream', 'yes'], ['stop', 7],
    ['top_p', 2], ['top_k', -1], ['seed', 'x'], ['logit_bias', [1]], ['prompt', { text: 'x' }], ['prompt', []], ['model', 5], ['n', 2]] as const) {
    await expectError(await post('/v1/completions', { ...ok, [field]: value }), 400, field);
  }
  await expectError(await post('/v1/completions', { model: 'stories260K' }), 400, 'prompt', 'missing_required_parameter');
  await expectError(await post('/v1/completions', { ...ok, logit_bias: { 512: 1 } }), 400, null, 'E_OPTION'); // past the vocabulary
  await expectError(await post('/v1/chat/completions', { model: 'stories260K', messages: 'hi' }), 400, 'messages');
  await expectError(await post('/v1/chat/completions', { model: 'stories260K-chat', messages: [{ role: 'user', content: 5 }] }, {}, chatSrv.url), 400, 'messages[0].content');
  await expectError(await post('/v1/chat/completions', { model: 'stories260K-chat', messages: [{ role: 'wizard', content: 'x' }] }, {}, chatSrv.url), 400, 'messages');
  const long = Array.from({ length: 600 }, () => 300);
  await expectError(await post('/v1/completions', { ...ok, prompt: long }), 400, null, 'context_length_exceeded');
  await expectError(await post('/v1/completions', { ...ok, prompt: [1, 512] }), 400, 'prompt');
  await expectError(await post('/v1/nothing', ok), 404, null, 'unknown_url');
  await expectError(await fetch(`${srv.url}/v1/completions`, { headers: { Authorization: `Bearer ${KEY}` } }), 405, null, 'method_not_allowed');
  const h = await fetch(`${srv.url}/health`);
  assert.is(h.status, 200);
  // 24 requests went to srv (the two chat ones above went to chatSrv): one line each.
  const lines = logs.slice(logged);
  assert.is(lines.length, 24, lines.join('\n'));
  assert.is(lines.filter((l) => / POST \/v1\/completions 400 tokens=- \d+ms$/.test(l)).length, 19);
});

test('disconnect mid-stream: the generation stops at once and its session is disposed; /health answers meanwhile', async () => {
  const dispose = Session.prototype.dispose;
  let disposed = 0;
  Session.prototype.dispose = function (this: Session) { disposed++; return dispose.call(this); };
  try {
    const ac = new AbortController();
    const res = await fetch(`${srv.url}/v1/completions`, { method: 'POST', signal: ac.signal, headers: JSON_KEY,
      body: JSON.stringify({ model: 'stories260K', prompt: [1], max_tokens: 511, temperature: 0, logit_bias: NO_EOS, stream: true }) });
    const events = sseData(res);
    await events.next(); // the generation is running
    const health = await (await fetch(`${srv.url}/health`)).json();
    assert.is(health.queue.running, 1, 'health answered while the generation ran');
    ac.abort();
    while (srv.queue.stats.running > 0) await new Promise((r) => setTimeout(r, 5));
    assert.is(disposed, 1, 'the KV cache went back to the model');
    const line = logs.at(-1)!; // the stream had begun (200 sent), but the client left: 499, as nginx logs it
    const m = /POST \/v1\/completions 499 tokens=1\+(\d+) \d+ms abort$/.exec(line);
    assert.ok(m, line);
    assert.ok(Number(m![1]) < 510, `stopped after ${m![1]} of 511 tokens`);

    // Not streamed: the client gives up while the answer is being generated; nothing was sent (logged 499).
    const ac2 = new AbortController();
    const pending = fetch(`${srv.url}/v1/completions`, { method: 'POST', signal: ac2.signal, headers: JSON_KEY,
      body: JSON.stringify({ model: 'stories260K', prompt: [1], max_tokens: 511, temperature: 0, logit_bias: NO_EOS }) }).catch((e) => e);
    while (srv.queue.stats.running === 0) await new Promise((r) => setImmediate(r));
    ac2.abort();
    assert.is((await pending).name, 'AbortError');
    while (srv.queue.stats.running > 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 5));
    const line2 = logs.at(-1)!;
    const m2 = /POST \/v1\/completions 499 tokens=1\+(\d+) \d+ms abort$/.exec(line2);
    assert.ok(m2 && Number(m2[1]) < 510, line2);
    assert.is(disposed, 2);
  } finally {
    Session.prototype.dispose = dispose;
  }
});

test('a full queue answers 429 with Retry-After; waiting requests run once the slot frees', async () => {
  let release!: () => void;
  const blocker = srv.queue.run(new AbortController().signal, () => new Promise<void>((r) => { release = r; }));
  const waiting = post('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 5, temperature: 0 });
  while (srv.queue.stats.waiting < 1) await new Promise((r) => setTimeout(r, 5));
  const full = await post('/v1/completions', { model: 'stories260K', prompt: [1], max_tokens: 5, temperature: 0 });
  assert.ok(Number(full.headers.get('retry-after')) >= 1, String(full.headers.get('retry-after')));
  await expectError(full, 429, null, 'queue_full');
  release();
  await blocker;
  const r = await waiting;
  assert.is(r.status, 200);
  const j = await r.json();
  assert.is(j.usage.completion_tokens, 5);
  assert.ok(j.choices[0].text.length > 0 && greedy.text.startsWith(j.choices[0].text), j.choices[0].text);
});

test('JobQueue: slots, a bounded wait list, and waiters that abort leave it', async () => {
  const q = new JobQueue(1, 1);
  let release!: () => void;
  const first = q.run(new AbortController().signal, () => new Promise<string>((r) => { release = () => r('a'); }));
  const ac = new AbortController();
  const second = q.run(ac.signal, async () => 'b');
  const third = await q.run(new AbortController().signal, async () => 'c').catch((e) => e);
  assert.instance(third, ApiError);
  assert.is(third.status, 429);
  ac.abort();
  assert.is(await second, undefined, 'an aborted waiter never runs');
  assert.equal(q.stats, { running: 1, waiting: 0, slots: 1, maxWaiting: 1 });
  release();
  assert.is(await first, 'a');
  assert.is(await q.run(new AbortController().signal, async () => 'd'), 'd');
});

test.run();

// tide serve through the official `openai` client (the e2e suite's own dependency): completions and chat,
// plain and streamed, reasoning_content, embeddings in the client's default base64 and in float, models,
// and the client's error classes. test/server.test.ts checks the same server field by field over raw HTTP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import OpenAI from 'openai';
import { loadEmbedder, type Embedder } from '../../src/text/embed.js';
import { loadModel, type Model } from '../../src/index.js';
import { startServer, type TideServer } from '../../src/server/index.js';
import { firstMismatches, fixtureModel, oracle, WEIGHTS } from '../paths.js';
import { chatModelDir, freePort, THINK_TEMPLATE, tokenizerFiles } from '../server-fixture.js';

const greedy = oracle('stories260K-greedy.json');
const prompts = oracle('stories260K-prompts.json');
const bert = oracle('tiny-bert.json');
const KEY = 'test-key';
const EMBED_TOL = 1e-4; // as test/server.test.ts

let model: Model, chatModel: Model, embedder: Embedder, chatDir: string | undefined;
let srv: TideServer, chatSrv: TideServer;
let client: OpenAI, chatClient: OpenAI;

test.before(async () => {
  model = await loadModel(`${WEIGHTS}/stories260K`, { threads: 1 });
  chatDir = chatModelDir(THINK_TEMPLATE);
  chatModel = await loadModel(chatDir, { threads: 1 });
  embedder = await loadEmbedder(fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  srv = await startServer({ model, modelId: 'stories260K', tokenizer: await tokenizerFiles(`${WEIGHTS}/stories260K`), embedder, embedModelId: 'tiny-bert', apiKey: KEY,
    port: await freePort(), log: () => {} });
  chatSrv = await startServer({ model: chatModel, modelId: 'think', tokenizer: await tokenizerFiles(chatDir), port: await freePort(), log: () => {} });
  client = new OpenAI({ apiKey: KEY, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  chatClient = new OpenAI({ apiKey: 'unused', baseURL: `${chatSrv.url}/v1`, maxRetries: 0 });
});

test.after(async () => {
  await Promise.all([srv?.close(), chatSrv?.close()]);
  await Promise.all([model?.dispose(), chatModel?.dispose(), embedder?.dispose()]);
  if (chatDir) rmSync(chatDir, { recursive: true, force: true });
});

test('completions: greedy from BOS is llama2.c\'s story; a streamed text prompt gives transformers\' continuation and usage', async () => {
  const r = await client.completions.create({ model: 'stories260K', prompt: [1], max_tokens: 200, temperature: 0 });
  assert.is(r.choices[0].text, greedy.text);
  assert.equal(r.usage, { prompt_tokens: 1, completion_tokens: 200, total_tokens: 201, prompt_tokens_details: { cached_tokens: 0 } });
  const c = prompts.cases[0];
  const stream = await client.completions.create({ model: 'stories260K', prompt: c.prompt, max_tokens: prompts.steps, temperature: 0,
    stream: true, stream_options: { include_usage: true } });
  let text = '', usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    for (const ch of chunk.choices) text += ch.text;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.is(text, c.continuation);
  assert.is(usage?.completion_tokens, prompts.steps);
});

test('chat: a template that opens <think> answers in reasoning_content, plain and streamed', async () => {
  const messages = [{ role: 'user' as const, content: 'Once upon a time' }];
  const r = await chatClient.chat.completions.create({ model: 'think', messages, max_tokens: 20, temperature: 0 });
  const msg = r.choices[0].message as { role: string; content: string; reasoning_content?: string };
  assert.is(msg.role, 'assistant');
  assert.ok(msg.reasoning_content && msg.reasoning_content.length > 0, JSON.stringify(msg));
  assert.is(msg.content, '');
  const stream = await chatClient.chat.completions.create({ model: 'think', messages, max_tokens: 20, temperature: 0, stream: true });
  let reasoning = '', finish: string | null = null;
  for await (const chunk of stream) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    reasoning += (ch.delta as { reasoning_content?: string }).reasoning_content ?? '';
    finish = ch.finish_reason ?? finish;
  }
  assert.is(reasoning, msg.reasoning_content);
  assert.is(finish, r.choices[0].finish_reason);
});

test('embeddings: the client\'s default (base64) and float both match sentence-transformers', async () => {
  const input = bert.input_ids.map((row: number[], i: number) => row.filter((_, j) => bert.attention_mask[i][j] === 1));
  for (const encoding_format of [undefined, 'float'] as const) {
    const r = await client.embeddings.create({ model: 'tiny-bert', input, ...(encoding_format ? { encoding_format } : {}) });
    r.data.forEach((d, i) => {
      assert.equal(firstMismatches(d.embedding, bert.sentence_embedding[i], () => EMBED_TOL), [], `input ${i} (${encoding_format ?? 'base64'})`);
    });
  }
});

test('models, and errors as the client\'s classes: 400, 401, 404', async () => {
  assert.equal((await client.models.list()).data.map((m) => m.id), ['stories260K', 'tiny-bert']);
  assert.is((await client.models.retrieve('tiny-bert')).id, 'tiny-bert');
  const noTemplate = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }] }).catch((e) => e);
  assert.instance(noTemplate, OpenAI.BadRequestError);
  assert.equal([noTemplate.code, noTemplate.param], ['chat_template_missing', 'messages']);
  const unknown = await client.completions.create({ model: 'gpt-4', prompt: 'x' }).catch((e) => e);
  assert.instance(unknown, OpenAI.NotFoundError);
  assert.is(unknown.code, 'model_not_found');
  const badKey = await new OpenAI({ apiKey: 'nope', baseURL: `${srv.url}/v1`, maxRetries: 0 }).models.list().catch((e) => e);
  assert.instance(badKey, OpenAI.AuthenticationError);
});

test.run();

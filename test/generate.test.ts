// model.generate / complete / chat on the shipped stories260K and on tiny-qwen2 with the byte-level
// ChatML fixture tokenizer: greedy equals the oracles; seeds, stops, abort, session reuse, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, type Model } from '../src/index.js';
import { dirSource } from '../src/node/dir-source.js';
import type { ModelFiles } from '../src/sources/sources.js';
import { ContextOverflowError, OptionError, TemplateError, TokenizerError } from '../src/errors.js';
import { readFile } from 'node:fs/promises';
import { fixtureModel, fixtureTokenizer, oracle, ROOT, WEIGHTS } from './paths.js';

const greedy = oracle('stories260K-greedy.json');
const qwenOracle = oracle('tiny-qwen2.json').greedy[0];
const stories = await loadModel(`${WEIGHTS}/stories260K`);

/** tiny-qwen2 with the fixture tokenizer and, optionally, a generation_config.json. */
async function tinyQwen(generationConfig?: object, tokenizerConfig?: string): Promise<Model> {
  const model = await dirSource(fixtureModel('tiny-qwen2'));
  const tok = await dirSource(`${ROOT}/test/fixtures/tiny-chatml`);
  const files: ModelFiles = {
    label: model.label, open: model.open,
    async text(name) {
      if (name === 'generation_config.json' && generationConfig) return JSON.stringify(generationConfig);
      if (name === 'tokenizer_config.json' && tokenizerConfig) return readFile(tokenizerConfig, 'utf8');
      return name.startsWith('tokenizer') ? tok.text(name) : model.text(name);
    },
  };
  return loadModel(files);
}
const qwen = await tinyQwen();
const errorOf = (cls: Function, re: RegExp) => (e: Error) => e instanceof cls && re.test(e.message);
async function rejects(p: Promise<unknown>, ok: (e: Error) => boolean): Promise<void> {
  const e = await p.then(() => undefined, (err: Error) => err);
  assert.ok(e && ok(e), e ? `${e.name}: ${e.message}` : 'did not reject');
}

test('greedy from BOS: the oracle ids; streamed pieces join to the oracle text', async () => {
  const g = stories.generate([1], { maxTokens: 200, temperature: 0 });
  const pieces: string[] = [];
  for await (const p of g) pieces.push(p);
  const r = await g.result;
  assert.equal(r.ids, greedy.greedy_ids);
  assert.is(pieces.join(''), greedy.text);
  assert.is(r.text, greedy.text);
  assert.is(r.finishReason, 'length');
  assert.ok(r.prefillTokS > 0 && r.decodeTokS > 0);
});

test('no options: generation_config.json without do_sample means greedy', async () => {
  assert.equal((await stories.complete([1], { maxTokens: 50 })).ids, greedy.greedy_ids.slice(0, 50));
});

test('the same seed gives the same 64 sampled tokens; another seed other tokens', async () => {
  const opts = { maxTokens: 64, temperature: 1, stopIds: [], seed: 1234 };
  const a = await stories.complete([1], opts), b = await stories.complete([1], opts);
  const other = await (await loadModel(`${WEIGHTS}/stories260K`)).complete([1], opts); // a second load
  const c = await stories.complete([1], { ...opts, seed: 1235 });
  assert.is(a.ids.length, 64);
  assert.equal(a.ids, b.ids);
  assert.equal(a.ids, other.ids);
  assert.not.equal(a.ids, c.ids);
  assert.not.equal(a.ids, greedy.greedy_ids.slice(0, 64));
});

test('each sampling option changes the sampled tokens', async () => {
  const base = { maxTokens: 48, temperature: 1.2, seed: 5, stopIds: [] };
  const ref = (await stories.complete([1], base)).ids;
  const variants = [{ topK: 3 }, { topP: 0.5 }, { minP: 0.2 }, { repetitionPenalty: 1.5 }, { presencePenalty: 1.5 },
    { frequencyPenalty: 1 }, { logitBias: { [ref[3]]: -Infinity } }, { temperature: 0.5 }];
  for (const v of variants) assert.not.equal((await stories.complete([1], { ...base, ...v })).ids, ref, JSON.stringify(v));
});

test('generation_config.json sets the defaults; options override them', async () => {
  const sampled = await tinyQwen({ do_sample: true, temperature: 1, top_k: 1 });
  const ids = qwenOracle.prompt_ids;
  // top_k 1 from the config: the greedy path whatever the seed.
  assert.equal((await sampled.complete(ids, { maxTokens: 16, stopIds: [], seed: 9 })).ids, qwenOracle.greedy_ids);
  const free = (await sampled.complete(ids, { maxTokens: 16, stopIds: [], seed: 9, topK: 0 })).ids;
  assert.not.equal(free, qwenOracle.greedy_ids);
  assert.equal((await sampled.complete(ids, { maxTokens: 16, stopIds: [], temperature: 0, topK: 0 })).ids, qwenOracle.greedy_ids);
  const short = await tinyQwen({ max_new_tokens: 5 });
  assert.is((await short.complete(ids, { stopIds: [] })).ids.length, 5);
  assert.is((await short.complete(ids, { stopIds: [], maxTokens: 7 })).ids.length, 7);
});

test('a stop string ends generation and never appears, streamed or in the result', async () => {
  const cut = greedy.text.indexOf(' Lily');
  const g = stories.generate([1], { maxTokens: 200, temperature: 0, stop: [' Lily', 'zzz'] });
  let streamed = '';
  for await (const p of g) { streamed += p; assert.not.ok(p.includes('Lily'), p); }
  const r = await g.result;
  assert.is(r.finishReason, 'stop');
  assert.is(r.text, greedy.text.slice(0, cut));
  assert.is(streamed, r.text);
});

test('a stop id ends generation before it; maxTokens ends it with "length"', async () => {
  const r = await stories.complete([1], { maxTokens: 200, temperature: 0, stopIds: [greedy.greedy_ids[7]] });
  assert.equal(r.ids, greedy.greedy_ids.slice(0, greedy.greedy_ids.indexOf(greedy.greedy_ids[7])));
  assert.is(r.finishReason, 'stop');
  assert.is((await stories.complete([1], { maxTokens: 3 })).finishReason, 'length');
});

test('AbortSignal: stops with finishReason "abort" and the text so far; leaving the loop aborts too', async () => {
  const ac = new AbortController();
  const g = stories.generate([1], { maxTokens: 200, temperature: 0, signal: ac.signal });
  let n = 0;
  for await (const _ of g) if (++n === 3) ac.abort();
  const r = await g.result;
  assert.is(r.finishReason, 'abort');
  assert.ok(r.ids.length < 200 && r.ids.length > 0, String(r.ids.length));
  assert.equal(r.ids, greedy.greedy_ids.slice(0, r.ids.length));

  const pre = AbortSignal.abort();
  const r2 = await stories.complete([1], { signal: pre });
  assert.equal([r2.finishReason, r2.ids.length], ['abort', 0]);

  const g3 = stories.generate([1], { maxTokens: 200, temperature: 0 });
  for await (const _ of g3) break;
  assert.is((await g3.result).finishReason, 'abort');
});

test('a session keeps its cache: a prompt extending the last one prefills only the new ids', async () => {
  const s = stories.session();
  const fed: number[] = [];
  const prefill = s.prefill.bind(s);
  s.prefill = (ids, o) => { fed.push(ids.length); return prefill(ids, o); };
  const a = await stories.complete([1], { maxTokens: 10, temperature: 0, session: s });
  const next = [1, ...a.ids, ...greedy.greedy_ids.slice(10, 12)];
  const b = await stories.complete(next, { maxTokens: 10, temperature: 0, session: s });
  assert.equal(b.ids, greedy.greedy_ids.slice(12, 22));
  assert.is(fed[0], 1);
  assert.is(fed[fed.length - 10], 3); // a.ids' last id and the two new ones; 9 steps follow
  await stories.complete([5, 6], { maxTokens: 1, session: s }); // not an extension: starts over
  assert.is(s.pos, 2);
});

test('the context limit: a prompt that does not fit is an error; generation stops at the end with "length"', async () => {
  const s = stories.session({ contextLength: 8 });
  await rejects(stories.complete(greedy.greedy_ids.slice(0, 9), { session: s }), errorOf(ContextOverflowError, /9 tokens > context length 8/));
  const r = await stories.complete([1, 403, 407], { maxTokens: 100, temperature: 0, session: s });
  assert.equal([r.ids.length, r.finishReason], [6, 'length']);
});

test('bad prompts: empty text, no ids, ids outside the vocabulary, messages without a template, unknown role', async () => {
  await rejects(stories.complete(''), errorOf(OptionError, /prompt: empty/));
  await rejects(stories.complete([]), errorOf(OptionError, /no token ids/));
  await rejects(stories.complete([1, 512]), errorOf(TokenizerError, /token id 512 at index 1 is outside the model's vocabulary \(0\.\.511\)/));
  await rejects(stories.complete([{ role: 'user', content: 'hi' }]), errorOf(TemplateError, /no chat_template/));
  await rejects(qwen.complete([{ role: 'robot', content: 'hi' }]), errorOf(OptionError, /messages\[0\]\.role "robot"/));
  await rejects(stories.complete([1], { temperature: -1 }), errorOf(OptionError, /temperature/));
  await rejects(stories.complete([1], { stop: [''] }), errorOf(OptionError, /stop \[""\]: expected non-empty strings/));
  await rejects(stories.complete([1], { maxTokens: -1 }), errorOf(OptionError, /maxTokens -1/));
});

test('chat messages go through the template, encoded without extra special tokens', async () => {
  const r = await qwen.complete([{ role: 'user', content: 'Hi' }], { maxTokens: 4, temperature: 0 });
  const rendered = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'; // the qwen3 oracle's shape
  assert.equal(r.promptIds, qwen.tokenizer!.encode(rendered, { addSpecialTokens: false }));
  assert.is(r.promptIds[0], 1); // <|im_start|>
});

test('R1-Distill\'s template ends in <think>: the result splits reasoning from answer; chat gives reasoning_content', async () => {
  const r1 = await tinyQwen(undefined, `${fixtureTokenizer('deepseek-r1-distill-qwen')}/tokenizer_config.json`);
  const opts = { maxTokens: 12, temperature: 1, seed: 4, logitBias: { 2: -Infinity, 35: 3 } };
  const r = await r1.complete([{ role: 'user', content: 'Hi' }], opts);
  assert.ok(r1.tokenizer!.decode(r.promptIds).endsWith('<think>\n'));
  assert.equal({ reasoning: r.reasoning, answer: r.answer }, { reasoning: r.text.trim(), answer: '' }); // random weights never close it
  const c = await r1.chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 12, temperature: 1, seed: 4, logit_bias: { 2: -Infinity, 35: 3 } });
  assert.equal([c.choices[0].message.content, c.choices[0].message.reasoning_content], ['', r.reasoning]);
});

test('model.chat: OpenAI-style completion, and streamed chunks that add up to it', async () => {
  const req = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 12, temperature: 0.8, seed: 3, logit_bias: { 2: -Infinity } };
  const c = await qwen.chat(req);
  assert.is(c.object, 'chat.completion');
  assert.is(c.choices[0].finish_reason, 'length');
  assert.equal(c.usage.completion_tokens, 12);
  let content = '', last;
  for await (const chunk of qwen.chat({ ...req, stream: true })) { content += chunk.choices[0].delta.content ?? ''; last = chunk; }
  assert.is(content, c.choices[0].message.content);
  assert.is(last!.choices[0].finish_reason, 'length');
});

test.run();

// The text commands through bin/tide.js: run, chat (stdin piped in), tokenize, prompt, and generate's sampling flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadModel } from '../src/index.js';
import { fixtureModel, fixtureTokenizer, oracle, ROOT, tokenizerDir, WEIGHTS } from './paths.js';

const exec = promisify(execFile);
const greedy = oracle('stories260K-greedy.json');
const QWEN = [fixtureModel('tiny-qwen2'), '--tokenizer', 'test/fixtures/tiny-chatml'];
const SPEED = /prefill: \d+ tokens, [\d.]+ tok\/s; decode: \d+ tokens, [\d.]+ tok\/s/;

async function tide(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const p = execFile('node', ['bin/tide.js', ...args], { cwd: ROOT, env: { ...process.env, TIDE_DEBUG: '' } }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? (err as { code?: number }).code ?? 1 : 0 }));
    p.stdin!.end(input ?? '');
  });
}

test('run on stories260K (no chat template) streams the continuation, then tokens/s', async () => {
  const r = await tide(['run', 'weights/stories260K', '--prompt', 'Once upon a time', '--max-tokens', '20', '--temperature', '0']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(greedy.text.startsWith('Once upon a time' + r.stdout.trimEnd()), r.stdout);
  assert.match(r.stderr, SPEED);
});

test('generate samples with --seed: two runs give the same 64 tokens, the same as the API in this process', async () => {
  const args = ['generate', 'weights/stories260K', '--prompt-ids', '1', '--max-tokens', '64', '--temperature', '1', '--top-p', '0.95', '--seed', '77', '--json'];
  const [a, b] = await Promise.all([tide(args), tide(args)]);
  assert.is(a.code, 0, a.stderr);
  const ja = JSON.parse(a.stdout), jb = JSON.parse(b.stdout);
  const model = await loadModel(`${WEIGHTS}/stories260K`);
  const r = await model.complete([1], { maxTokens: 64, temperature: 1, topP: 0.95, seed: 77 });
  assert.equal(ja.ids, jb.ids);
  assert.equal(ja.ids, r.ids);
  assert.not.equal(ja.ids, greedy.greedy_ids.slice(0, ja.ids.length));
});

test('chat on stories260K: a clear message that there is no chat template', async () => {
  const r = await tide(['chat', 'weights/stories260K'], 'hello\n');
  assert.is(r.code, 1);
  assert.match(r.stderr, /weights\/stories260K: tokenizer_config\.json has no chat_template.*tide run/);
});

test('chat on tiny-qwen2 with piped lines: an answer per line, /reset, /exit ends it', async () => {
  const r = await tide(['chat', ...QWEN, '--max-tokens', '8', '--seed', '1', '--temperature', '0.7'], 'Hello\nHow are you?\n/reset\nAgain\n/exit\nignored\n');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr.match(new RegExp(SPEED, 'g'))?.length, 3, r.stderr);
  assert.match(r.stderr, /\(history cleared\)/);
});

test('chat: Ctrl-C (SIGINT) stops the current answer, the chat goes on', async () => {
  // No end token (id 2 banned) and frequent spaces (id 35, byte 0x20) so that text streams: the answer runs
  // to 400 tokens unless interrupted.
  const p = spawn('node', ['bin/tide.js', 'chat', ...QWEN, '--max-tokens', '400', '--temperature', '1', '--seed', '1',
    '--logit-bias', '2=-Infinity,35=3'], { cwd: ROOT });
  const closed = new Promise((r) => p.on('close', r));
  let stderr = '';
  p.stderr.on('data', (d) => { stderr += d; });
  p.stdin.write('Hello\n');
  await Promise.race([new Promise((r) => p.stdout.once('data', r)), closed]); // the answer has started
  p.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  p.stdin.end('/exit\n');
  const code = await closed;
  assert.is(code, 0, stderr);
  assert.match(stderr, /decode: \d+ tokens.*\[stopped\]/);
});

test('R1-Distill\'s template opens <think>: the answer prints as reasoning, --hide-reasoning drops it', async () => {
  // The fixture's byte-level vocabulary with DeepSeek-R1-Distill's chat template (its special tokens become bytes).
  const dir = mkdtempSync(join(tmpdir(), 'tide-r1-'));
  copyFileSync(join(ROOT, 'test/fixtures/tiny-chatml/tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(fixtureTokenizer('deepseek-r1-distill-qwen'), 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const args = ['run', fixtureModel('tiny-qwen2'), '--tokenizer', dir, '--prompt', 'Hi', '--max-tokens', '30', '--temperature', '1', '--seed', '2', '--logit-bias', '2=-Infinity,35=3'];
  const shown = await tide(args), hidden = await tide([...args, '--hide-reasoning']);
  assert.is(shown.code, 0, shown.stderr);
  assert.ok(shown.stdout.startsWith('<think>') && shown.stdout.trim().length > 10, shown.stdout);
  assert.is(hidden.stdout, '\n');
});

test('tokenize --json: the oracle ids (with BOS), tokenizer.json from --tokenizer', async () => {
  const r = await tide(['tokenize', tokenizerDir('llama2'), '--text', 'Hello world', '--json']);
  assert.equal(JSON.parse(r.stdout), { ids: [1, 15043, 3186] });
  const l3 = await tide(['tokenize', fixtureTokenizer('llama3'), '--tokenizer', tokenizerDir('llama3'), '--text', 'Hello world', '--json']);
  assert.equal(JSON.parse(l3.stdout), { ids: oracle('tokenize.json').find((c: { tokenizer: string; text: string }) => c.tokenizer === 'llama3' && c.text === 'Hello world').ids });
});

test('prompt prints every oracle case exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-prompt-'));
  for (const [i, c] of oracle('chat-templates.json').entries()) {
    const file = join(dir, `${i}.json`);
    writeFileSync(file, JSON.stringify(c.messages));
    const r = await tide(['prompt', fixtureTokenizer(c.template), '--messages', file, ...(c.add_generation_prompt ? [] : ['--no-generation-prompt'])]);
    assert.is(r.stdout, c.expected, `${c.template} case ${i}: ${r.stderr}`);
  }
});

test('prompt reads chat_template.jinja, gives a messages file\'s other keys to the template, and --now is strftime_now\'s time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-prompt-'));
  const two = oracle('chat-templates-2.json');
  const cases = [
    ...oracle('chat-template-kwargs.json').cases.filter((c: { template?: string }) => c.template),
    ...two.cases.filter((c: { template: string }) => c.template === 'smollm3').map((c: object) => ({ ...c, now: two.rendered_on })),
  ];
  for (const [i, c] of cases.entries()) {
    const file = join(dir, `${i}.json`);
    writeFileSync(file, JSON.stringify({ messages: c.messages, tools: c.tools, ...c.kwargs }));
    const r = await tide(['prompt', fixtureTokenizer(c.template), '--messages', file, '--now', c.now]);
    assert.is(r.stdout, c.expected, `${c.template} ${JSON.stringify(c.kwargs)}: ${r.stderr}`);
  }
  writeFileSync(join(dir, 'off.json'), JSON.stringify({ messages: [{ role: 'user', content: 'a' }], add_generation_prompt: false }));
  const off = await tide(['prompt', fixtureTokenizer('qwen3'), '--messages', join(dir, 'off.json')]);
  assert.is(off.stdout, '<|im_start|>user\na<|im_end|>\n', off.stderr);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ messages: [{ role: 'user', content: 'a' }], limits: { maxSteps: 1e12 } }));
  const bad = await tide(['prompt', fixtureTokenizer('qwen3'), '--messages', join(dir, 'bad.json')]);
  assert.equal([bad.code, bad.stderr.trim()], [1, `tide: ${join(dir, 'bad.json')}.limits: a chat option, not a template variable`]);
  const badNow = await tide(['prompt', fixtureTokenizer('qwen3'), '--messages', join(dir, 'off.json'), '--now', 'soon']);
  assert.match(badNow.stderr, /--now "soon": expected a date like 2026-12-06/);
});

test('errors are one line and exit 1: empty prompt, missing tokenizer, a template that raises', async () => {
  const empty = await tide(['run', 'weights/stories260K', '--prompt', '']);
  assert.equal([empty.code, empty.stderr.trim()], [1, 'tide: prompt: empty text']);
  const noTok = await tide(['chat', fixtureModel('tiny-qwen2')]);
  assert.match(noTok.stderr, /tiny-qwen2: no tokenizer\.json; give --tokenizer DIR/);
  const dir = mkdtempSync(join(tmpdir(), 'tide-raise-'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: "{{ raise_exception('System role not supported') }}" }));
  writeFileSync(join(dir, 'm.json'), '[{"role":"system","content":"x"}]');
  const raised = await tide(['prompt', dir, '--messages', join(dir, 'm.json')]);
  assert.equal([raised.code, raised.stderr.trim()], [1, `tide: ${dir}/tokenizer_config.json: chat template raised: System role not supported`]);
});

test.run();

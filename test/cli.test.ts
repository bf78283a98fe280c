// The `tide` command as external checks call it (issue 2's exact forms), through bin/tide.js.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { firstMismatches, oracle, ROOT, sharedModel } from './paths.js';

const run = promisify(execFile);
const greedy = oracle('stories260K-greedy.json');

async function tide(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/tide.js', ...args], { cwd: ROOT, env: { ...process.env, TIDE_DEBUG: '' } });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

test('generate --prompt streams llama2.c\'s story, then prefill and decode tok/s on stderr', async () => {
  const r = await tide('generate', 'weights/stories260K', '--prompt', 'Once upon a time', '--max-tokens', '200', '--temperature', '0');
  assert.is(r.code, 0, r.stderr);
  // The prompt encodes to BOS + the first 4 greedy ids, so the output starts with the 200-token oracle text.
  assert.ok(r.stdout.startsWith(greedy.text), r.stdout.slice(0, 200));
  assert.match(r.stderr, /prefill: 5 tokens, [\d.]+ tok\/s; decode: 200 tokens, [\d.]+ tok\/s/);
});

test('generate --prompt-ids 1 --json prints the oracle ids and text in one JSON object', async () => {
  const r = await tide('generate', 'weights/stories260K', '--prompt-ids', '1', '--max-tokens', '200', '--temperature', '0', '--json');
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.prompt_ids, [1]);
  assert.equal(j.ids, greedy.greedy_ids);
  assert.is(j.text, greedy.text);
  assert.type(j.prefill_tok_s, 'number');
  assert.type(j.decode_tok_s, 'number');
});

test('logits --ids prints the last position; --all every position', async () => {
  const c = greedy.logit_checks[0];
  const last = JSON.parse((await tide('logits', 'weights/stories260K', '--ids', c.ids.join(','), '--json')).stdout);
  assert.is(last.logits.length, 1);
  assert.equal(firstMismatches(last.logits[0], c.last_logits, () => 5e-4), []);
  const all = JSON.parse((await tide('logits', sharedModel('tiny-qwen2'), '--ids', '1,2,3', '--all', '--json')).stdout);
  assert.equal([all.logits.length, all.logits[2].length], [3, 300]);
});

test('info prints architecture, parameter count, dtypes and memory', async () => {
  const r = await tide('info', 'weights/stories260K');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /llama: 5 layers, dim 64, 8 heads \/ 4 kv heads × 8, ffn 172, vocab 512/);
  assert.match(r.stdout, /parameters\s+260,032/);
  assert.match(r.stdout, /F32 ×47/);
  assert.match(r.stdout, /weights 1\.00 MiB/); // as stored: f32 packed in 8-row panels (the 172-row w1, w3 pad to 176)
});

test('errors: one line on stderr, non-zero exit, no stack trace', async () => {
  for (const args of [
    ['info', 'no/such/dir'],
    ['logits', 'weights/stories260K', '--ids', '1,2,512'],
    ['generate', 'weights/stories260K', '--prompt-ids', '1,2', '--context', '1'],
  ]) {
    const r = await tide(...args);
    assert.is.not(r.code, 0, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tide: /);
    assert.not.match(r.stderr, /\n\s+at /);
  }
});

test.run();

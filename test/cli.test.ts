// The `tide` command as external checks call it (issue 2's exact forms), through bin/tide.js; the
// generate --json form also with --quant q8 at 1 and 2 threads, under q8's bounds (models/bounds.ts).
import { test } from 'uvu';
import { readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadModel, generateIds } from '../src/index.js';
import { firstMismatches, fixtureConfig, fixtureModel, oracle, ROOT, WEIGHTS } from './paths.js';
import { BOUNDS, firstDifference, type Mode } from './models/bounds.js';

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

/** The exact form, then q8 at each thread count. */
const JSON_FORMS: [Mode, string[]][] = [['none', []], ['q8', ['--quant', 'q8', '--threads', '1']], ['q8', ['--quant', 'q8', '--threads', '2']]];

for (const [mode, flags] of JSON_FORMS) {
  const b = BOUNDS[mode];
  test(`generate --prompt-ids 1 --json ${flags.join(' ')}: the first ${b.greedySteps} of the oracle ids (and text when all equal) in one JSON object`, async () => {
    const r = await tide('generate', 'weights/stories260K', '--prompt-ids', '1', '--max-tokens', '200', '--temperature', '0', '--json', ...flags);
    assert.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.prompt_ids, [1]);
    assert.is(j.ids.length, 200);
    const first = firstDifference(j.ids, greedy.greedy_ids);
    assert.ok(first === -1 || first >= b.greedySteps, `first differing step ${first}: want ${greedy.greedy_ids[first]} got ${j.ids[first]}`);
    if (first === -1) assert.is(j.text, greedy.text);
    if (mode !== 'none') { // the flag reached loadModel: the same 200 ids as the API's quantized path (q8 leaves f32's at step 114)
      const m = await loadModel(`${WEIGHTS}/stories260K`, { quantize: mode, threads: 1 });
      assert.equal(j.ids, generateIds(m, m.session(), [1], { maxTokens: 200 }).ids);
    }
    assert.type(j.prefill_tok_s, 'number');
    assert.type(j.decode_tok_s, 'number');
  });
}

test('generate --json with --draft-quant q4 (a q4 copy drafts) or --lookup 3: the plain greedy ids, with drafted and accepted counts', async () => {
  for (const flags of [['--draft-quant', 'q4', '--draft-tokens', '3'], ['--lookup', '3']]) {
    const r = await tide('generate', 'weights/stories260K', '--prompt-ids', '1', '--max-tokens', '80', '--temperature', '0', '--json', ...flags);
    assert.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.ids, greedy.greedy_ids.slice(0, 80), flags.join(' '));
    assert.ok(j.drafted > 0 && j.accepted > 0 && j.accepted <= j.drafted, `${flags}: ${j.accepted} of ${j.drafted}`);
  }
  const r = await tide('generate', 'weights/stories260K', '--prompt-ids', '1', '--draft-quant', 'q3');
  assert.match(r.stderr, /--draft-quant <type>' argument 'q3' is invalid/);
});

for (const [mode, flags] of JSON_FORMS) {
  test(`logits --ids ${flags.join(' ')} prints the last position within ${BOUNDS[mode].storiesLogitAtol} of the oracle; --all every position`, async () => {
    const c = greedy.logit_checks[0];
    const last = JSON.parse((await tide('logits', 'weights/stories260K', '--ids', c.ids.join(','), '--json', ...flags)).stdout);
    assert.is(last.logits.length, 1);
    assert.equal(firstMismatches(last.logits[0], c.last_logits, () => BOUNDS[mode].storiesLogitAtol), []);
    const all = JSON.parse((await tide('logits', fixtureModel('tiny-qwen2'), '--ids', '1,2,3', '--all', '--json', ...flags)).stdout);
    assert.equal([all.logits.length, all.logits[2].length], [3, 300]);
  });
}

test('info prints architecture, parameter count, dtypes and memory', async () => {
  const r = await tide('info', 'weights/stories260K');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /llama \(llama family\): 5 layers, dim 64, 8 heads \/ 4 kv heads × 8, ffn 172 \(silu\), vocab 512/);
  assert.match(r.stdout, /parameters\s+260,032/);
  assert.match(r.stdout, /F32 ×47/);
  assert.match(r.stdout, /weights\s+as stored 1\.0 MiB, q8 0\.3 MiB/); // as stored: f32 packed in 8-row panels (the 172-row w1, w3 pad to 176)
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

test('option errors name the option: empty id lists, --simd, --quant, --threads, sampling ranges', async () => {
  const stories = ['weights/stories260K'];
  for (const [args, option] of [
    [['generate', ...stories, '--prompt-ids', ''], '--prompt-ids'],
    [['generate', ...stories, '--prompt-ids', '1,,2'], '--prompt-ids'],
    [['logits', ...stories, '--ids', ''], '--ids'],
    [['inspect', ...stories, '--ids', ' '], '--ids'],
    [['embed', fixtureModel('tiny-bert'), '--ids', ''], '--ids'],
    [['--simd', 'avx', 'info', ...stories], '--simd'],
    [['logits', ...stories, '--ids', '1', '--quant', 'q3'], '--quant'],
    [['info', ...stories, '--context', '0'], '--context'],
    [['embed', fixtureModel('tiny-bert'), '--ids', '1', '--quant', 'q5'], '--quant'],
    [['run', ...stories, '--prompt', 'x', '--threads', '0'], '--threads'],
    [['generate', ...stories, '--prompt-ids', '1', '--top-p', '2'], '--top-p'],
    [['generate', ...stories, '--prompt-ids', '1', '--context', '0'], '--context'],
  ] as [string[], string][]) {
    const r = await tide(...args);
    assert.is.not(r.code, 0, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(`'${option} <`), `${args.join(' ')}: ${r.stderr}`);
    assert.not.match(r.stderr, /TIDE_SIMD|\n\s+at /);
  }
});

// That the values reach the loader: generate and logits above (--quant q8 at 1 and 2 threads); run and
// chat load through the same loadText.
test('every command that loads a model takes --threads and --quant', async () => {
  for (const cmd of ['generate', 'run', 'chat', 'logits', 'inspect', 'embed', 'serve']) {
    const help = (await tide(cmd, '--help')).stdout;
    assert.ok(help.includes('--threads <n>') && help.includes('--quant <type>'), `${cmd}:\n${help}`);
  }
});

test('a -Infinity bias on every id is a typed error (greedy and sampled), not token 0', async () => {
  const banAll = Array.from({ length: 512 }, (_, id) => `${id}=-Infinity`).join(',');
  for (const temperature of ['0', '1']) {
    const r = await tide('generate', 'weights/stories260K', '--prompt-ids', '1', '--max-tokens', '3', '--temperature', temperature, '--logit-bias', banAll, '--json');
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /^tide: sampling: every token was masked/);
  }
});

test('info reads every real config (no weights): architecture, parameters and the memory at each layout', async () => {
  const dirs = readdirSync(fixtureConfig('.'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.ok(dirs.length >= 8, dirs.join(', '));
  const results = await Promise.all(dirs.map((d) => tide('info', fixtureConfig(d))));
  results.forEach((r, i) => {
    assert.is(r.code, 0, `${dirs[i]}: ${r.stderr}`);
    assert.match(r.stdout, /architecture\s+\S+/);
    assert.match(r.stdout, /parameters\s+[\d,]+/);
    assert.match(r.stdout, /no checkpoint here; planned as/);
  });
  const phi = results[dirs.indexOf('phi-4-mini-instruct')].stdout;
  assert.match(phi, /phi3 \(phi3 family\): 32 layers/);
  assert.match(phi, /longrope θ 10000 on 96\/128 dims/);
  assert.match(phi, /q8 \d+\.\d MiB \(over wasm32's 4 GiB\), q4 \d+\.\d MiB$/m);
  assert.match(results[dirs.indexOf('all-minilm-l6-v2')].stdout, /bert encoder: 6 layers, dim 384/);
});

test.run();

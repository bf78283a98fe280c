// A bounded load test: `tide serve` in a second process (loopback only), 50 requests from 8 concurrent
// HTTP clients, half of them streamed. Every answer must be complete and exactly the oracle's greedy
// text (two interleaved slots must not disturb each other's KV cache), with no 5xx. Throughput and
// p50/p95 latency are printed, not asserted (timings belong in bench/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { oracle, ROOT } from './paths.js';
import { freePort, sseData } from './server-fixture.js';

const REQUESTS = 50;
const CONCURRENCY = 8;
const STEPS = 48;
const KEY = 'load-key'; // given through env TIDE_API_KEY
const prompts = oracle('stories260K-prompts.json');
const greedy = oracle('stories260K-greedy.json');

// The CLI from source (tsx), so the suite does not depend on a fresh dist/. --threads 1: for a 260K model a
// worker pool costs more than it saves, most of all on a 2-core machine that the client shares.
const ENTRY = "import { main } from './src/cli/index.ts'; await main(['node', 'tide', ...process.argv.slice(1)]);";

let child: ChildProcess | undefined;
let stderr = '';

test.after(() => { if (child && child.exitCode === null) child.kill('SIGKILL'); });

async function startChild(port: number): Promise<void> {
  child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY,
    'serve', 'weights/stories260K', '--host', '127.0.0.1', '--port', String(port), '--threads', '1', '--parallel', '2', '--queue', '16'],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TIDE_API_KEY: KEY } });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tide serve did not start in 60 s: ${stderr}`)), 60_000);
    child!.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    child!.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tide serve exited with ${code}: ${stderr}`)); });
  });
}

/** POST /v1/completions with the key; a non-2xx answer is an error carrying its status. */
async function complete(base: string, body: object): Promise<Response> {
  const res = await fetch(`${base}/v1/completions`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(60_000),
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' } });
  if (!res.ok) throw Object.assign(new Error(await res.text()), { status: res.status });
  return res;
}

/** Request i: one of three oracle prompts, streamed when i is odd; returns its text and what ended it. */
async function one(base: string, i: number): Promise<{ text: string; finish: string | null; tokens: number; expected: (t: string) => boolean }> {
  const c = prompts.cases[i % 3] as { prompt: string; continuation: string } | undefined;
  const prompt = c ? c.prompt : [1];
  // The BOS case: the first 48 of llama2.c's 200 greedy tokens are a prefix of its text.
  const expected = c ? (t: string) => t === c.continuation : (t: string) => t.length > 0 && greedy.text.startsWith(t);
  const params = { model: 'stories260K', prompt, max_tokens: STEPS, temperature: 0 };
  if (i % 2 === 0) {
    const r = await (await complete(base, params)).json();
    return { text: r.choices[0].text, finish: r.choices[0].finish_reason, tokens: r.usage?.completion_tokens ?? -1, expected };
  }
  const res = await complete(base, { ...params, stream: true, stream_options: { include_usage: true } });
  let text = '', finish: string | null = null, tokens = -1;
  for await (const data of sseData(res)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data) as { choices: { text: string; finish_reason: string | null }[]; usage?: { completion_tokens: number } };
    for (const ch of chunk.choices) { text += ch.text; finish = ch.finish_reason ?? finish; }
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { text, finish, tokens, expected };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

test(`load: ${REQUESTS} requests, ${CONCURRENCY} concurrent, from a second process: all complete and exact, no 5xx`, async () => {
  const port = await freePort();
  await startChild(port);
  const anonymous = await fetch(`http://127.0.0.1:${port}/v1/models`);
  assert.is(anonymous.status, 401, 'TIDE_API_KEY is enforced');
  const latencies: number[] = [], failures: string[] = [];
  let next = 0, tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < REQUESTS; i = next++) {
      const start = performance.now();
      try {
        const r = await one(`http://127.0.0.1:${port}`, i);
        latencies.push(performance.now() - start);
        tokens += r.tokens;
        if (r.finish !== 'length' || r.tokens !== STEPS || !r.expected(r.text)) failures.push(`#${i}: finish ${r.finish}, ${r.tokens} tokens, text ${JSON.stringify(r.text.slice(0, 60))}`);
      } catch (e) {
        failures.push(`#${i}: ${(e as { status?: number }).status ?? ''} ${(e as Error).message}`);
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(`  load: ${REQUESTS} requests (${CONCURRENCY} concurrent, --parallel 2) in ${seconds.toFixed(2)} s: ` +
    `${(REQUESTS / seconds).toFixed(1)} req/s, ${(tokens / seconds).toFixed(0)} tok/s; latency p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`);
  assert.equal(failures, [], failures.join('\n'));

  const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
  assert.equal([health.queue.running, health.queue.waiting], [0, 0]);
  child!.kill('SIGTERM');
  const code = await new Promise((resolve) => child!.once('exit', resolve));
  assert.is(code, 0, 'SIGTERM closes the server cleanly');
  const lines = stderr.split('\n').filter((l) => / POST \/v1\/completions /.test(l));
  assert.is(lines.length, REQUESTS, 'one log line per request');
  assert.ok(lines.every((l) => / 200 tokens=\d+\+48 \d+ms length$/.test(l)), lines.find((l) => !/ 200 /.test(l)));
});

test.run();

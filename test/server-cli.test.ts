// `tide serve` as a child process (loopback only): SIGTERM and SIGINT mid-stream exit 0 within the
// bound, with an idle keep-alive connection open; an embeddings-only server; the serve options' errors
// and the warning for a non-loopback host without a key. Each child is killed if a test leaves it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { ROOT, fixtureModel } from './paths.js';
import { sseData } from './server-fixture.js';

const SHUTDOWN_BOUND_MS = 5000;      // the bound on a clean exit
const START_MS = 60_000;
const NO_EOS = { 1: -100, 2: -100 }; // stories260K's eos ids: a generation runs to max_tokens
// The CLI from source (tsx), so the suite does not depend on a fresh dist/.
const ENTRY = "import { main } from './src/cli/index.ts'; await main(['node', 'tide', ...process.argv.slice(1)]);";

const children: ChildProcess[] = [];
test.after(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });

interface Child { child: ChildProcess; stderr: () => string; exited: Promise<number | null> }

function tide(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...args],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TIDE_API_KEY: '', TIDE_DEBUG: '', ...env } });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** `tide serve ARGS --port 0`, resolved with its URL once it listens. */
async function serve(args: string[]): Promise<Child & { url: string }> {
  const c = tide(['serve', ...args, '--port', '0', '--threads', '1']);
  const t0 = performance.now();
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(c.stderr());
    if (m) return { ...c, url: m[1] };
    if (c.child.exitCode !== null) throw new Error(`tide serve exited with ${c.child.exitCode}: ${c.stderr()}`);
    if (performance.now() - t0 > START_MS) throw new Error(`tide serve did not start in ${START_MS} ms: ${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Milliseconds until `c` exits, and its code; rejects past `ms`. */
async function exitWithin(c: Child, ms: number): Promise<{ ms: number; code: number | null }> {
  const t0 = performance.now();
  const code = await Promise.race([c.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit in ${ms} ms: ${c.stderr()}`)), ms))]);
  return { ms: performance.now() - t0, code };
}

const noStack = (stderr: string) => assert.not.match(stderr, /\n\s+at |Error:/, stderr);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} mid-stream, with an idle keep-alive connection: exit 0 within ${SHUTDOWN_BOUND_MS} ms, the stream cut before [DONE], no stack`, async () => {
    const c = await serve(['weights/stories260K']);
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => request(`${c.url}/health`, { agent }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
    const res = await fetch(`${c.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: [1], max_tokens: 511, temperature: 0, logit_bias: NO_EOS, stream: true }) });
    const events = sseData(res);
    assert.ok(!(await events.next()).done, 'the stream started');
    c.child.kill(signal);
    const rest: string[] = [];
    const drained = (async () => { try { for await (const e of events) rest.push(e); } catch { /* the connection was cut */ } })();
    const { ms, code } = await exitWithin(c, SHUTDOWN_BOUND_MS);
    await drained;
    agent.destroy();
    console.log(`  ${signal}: exit ${code} after ${ms.toFixed(0)} ms, ${rest.length} more events`);
    assert.is(code, 0, c.stderr());
    assert.not.ok(rest.includes('[DONE]'), 'the generation was cut, not finished');
    noStack(c.stderr());
  });
}

test('--embed-model alone: an embeddings-only server; chat is a 404 saying so', async () => {
  const c = await serve(['--embed-model', fixtureModel('tiny-bert')]);
  const post = (path: string, body: object) => fetch(`${c.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const e = await post('/v1/embeddings', { model: 'tiny-bert', input: [[20, 36, 118]] });
  assert.is(e.status, 200);
  assert.is((await e.json()).data[0].embedding.length, 64);
  const chat = await post('/v1/chat/completions', { model: 'tiny-bert', messages: [{ role: 'user', content: 'x' }] });
  assert.is(chat.status, 404);
  assert.match((await chat.json()).error.message, /only embeds/);
  assert.equal((await (await fetch(`${c.url}/v1/models`)).json()).data.map((m: { id: string }) => m.id), ['tiny-bert']);
  assert.match(c.stderr(), /listening on .* \(embeddings "tiny-bert"\)/);
  c.child.kill('SIGTERM');
  assert.is((await exitWithin(c, SHUTDOWN_BOUND_MS)).code, 0);
});

test('serve option errors name the option; a non-loopback --host without a key warns in one line', async () => {
  for (const [args, want] of [
    [['serve', 'weights/stories260K', '--api-key', ''], /'--api-key <key>' argument '' is invalid\. an empty key/],
    [['serve', 'weights/stories260K', '--cors', 'http://app.example/path'], /'--cors <origin>' argument .* is not an origin/],
    [['serve', 'weights/stories260K', '--max-connections', '0'], /'--max-connections <n>'/],
    [['serve'], /^tide: give a model to generate with, --embed-model MODEL to embed, or both$/m],
    [['serve', '--embed-model', fixtureModel('tiny-bert'), '--model-id', 'x'], /^tide: --model-id names the text-generation model/m],
  ] as [string[], RegExp][]) {
    const c = tide(args);
    const { code } = await exitWithin(c, START_MS);
    assert.is(code, 1, args.join(' '));
    assert.is(c.stderr().trim().split('\n').length, 1, c.stderr());
    assert.match(c.stderr(), want);
  }
  // The warning comes before the model loads; this one fails to load, so nothing is ever bound.
  const c = tide(['serve', 'no/such/model', '--host', '0.0.0.0']);
  assert.is((await exitWithin(c, START_MS)).code, 1);
  const lines = c.stderr().trim().split('\n');
  assert.is(lines.length, 2, c.stderr());
  assert.match(lines[0], /^tide serve: warning: --host 0\.0\.0\.0 without an API key: .*set --api-key$/);
  assert.match(lines[1], /^tide: no\/such\/model: not a directory$/);
});

test.run();

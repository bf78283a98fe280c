// The Cloudflare Worker example (examples/worker) in workerd, the Workers runtime, on 127.0.0.1: the
// kernel wasm arrives as a module import, the weights as a data module; greedy ids must match the oracle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { oracle, ROOT } from '../paths.js';
import { startProcess, stopProcess } from './helpers.js';

const greedy = oracle('stories260K-greedy.json');
const PORT = 18611;
const URL_ = `http://127.0.0.1:${PORT}/generate`;
let workerd: ChildProcess | undefined;

const post = (body: unknown) => fetch(URL_, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

test.before(async () => {
  await promisify(execFile)('node', [join(ROOT, 'examples/worker/build.mjs')]);
  const bin = join(ROOT, 'test/e2e/node_modules/.bin/workerd');
  const started = await startProcess(bin, ['serve', join(ROOT, 'examples/worker/config.capnp'), '--socket-addr', `http=127.0.0.1:${PORT}`],
    async () => (await fetch(`http://127.0.0.1:${PORT}/`)).status === 404);
  workerd = started.child;
});
test.after(async () => { if (workerd) await stopProcess(workerd); });

test('POST /generate from "Once upon a time" gives the oracle\'s greedy continuation', async () => {
  const res = await post({ prompt: 'Once upon a time', max_tokens: 60 });
  assert.is(res.status, 200, await res.clone().text());
  const r = await res.json() as { prompt_ids: number[]; ids: number[]; text: string; finish_reason: string };
  // The prompt encodes to BOS + the oracle's first 4 greedy ids, so the continuation is the oracle from id 4 on.
  assert.equal(r.prompt_ids, [1, ...greedy.greedy_ids.slice(0, 4)]);
  assert.equal(r.ids, greedy.greedy_ids.slice(4, 64));
  assert.ok(greedy.text.includes(r.text.trim()), r.text);
  assert.is(r.finish_reason, 'length');
});

test('bad requests get 400 or 404 with a message naming the field', async () => {
  let res = await post({ prompt: 42 });
  assert.is(res.status, 400);
  assert.match((await res.json() as { error: string }).error, /^prompt:/);
  res = await post({ prompt: 'hi', max_tokens: 0 });
  assert.is(res.status, 400);
  assert.match((await res.json() as { error: string }).error, /^max_tokens: expected an integer in 1\.\.256, got 0/);
  res = await fetch(URL_);
  assert.is(res.status, 404);
});

test.run();

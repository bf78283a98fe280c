// Deno and Bun (npm packages `deno`, `bun`) run the ESM bundle: a local directory and a URL through the
// file cache must give the oracle's greedy ids. A runtime that cannot start here is skipped with a reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { oracle, ROOT } from '../paths.js';
// @ts-expect-error: a plain .mjs file with no types
import { serve } from '../../examples/browser/serve.mjs';

const exec = promisify(execFile);
const greedy = oracle('stories260K-greedy.json');
const PORT = 18630;
const SMOKE = join(ROOT, 'test/e2e/smoke.mjs');
const RUNTIMES: Record<string, string[]> = {
  deno: ['run', '--allow-read', '--allow-write', '--allow-env', '--allow-sys', '--allow-net=127.0.0.1'],
  bun: [],
};

let server: Server | undefined;
test.before(async () => {
  await exec('node', [join(ROOT, 'scripts/bundle.mjs')]);
  server = await serve({ port: PORT });
});
test.after(async () => {
  const closed = new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  server?.closeAllConnections(); // don't wait for idle keep-alive connections
  await closed;
});

for (const [name, flags] of Object.entries(RUNTIMES)) {
  const bin = join(ROOT, 'test/e2e/node_modules/.bin', name);
  const version = await exec(bin, ['--version']).then((r) => r.stdout.trim(), (e: Error) => `unavailable: ${e.message.split('\n')[0]}`);
  if (version.startsWith('unavailable')) {
    console.log(`runtimes.test.ts: SKIPPED ${name}, ${version}`);
    test.skip(`${name}: the bundle loads from a directory and a URL`, () => {});
    continue;
  }
  test(`${name} (${version.split('\n')[0]}): the bundle loads from a directory and a URL`, async () => {
    const cache = await mkdtemp(join(tmpdir(), `tide-${name}-`));
    try {
      const { stdout } = await exec(bin, [...flags, SMOKE, join(ROOT, 'weights/stories260K'), `http://127.0.0.1:${PORT}/weights/stories260K`],
        { env: { ...process.env, TIDE_CACHE: cache }, timeout: 120_000 });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(r.dir, greedy.greedy_ids.slice(0, 20));
      assert.equal(r.url, greedy.greedy_ids.slice(0, 20));
      assert.ok((await readdir(join(cache, `http_127.0.0.1_${PORT}`, 'weights', 'stories260K'))).includes('model.safetensors'));
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
}

test.run();

// The package as a user gets it: build, `npm pack`, `npm install` the tarball into a fresh project, then
// (a) plain ESM in Node (1 and 2 threads) and the installed `tide` command, (b) a page (package-app/) bundled
// by esbuild and by Vite, each served on localhost and run in headless Chromium on one thread and, cross-origin
// isolated, on two (the Web Worker and the threads wasm). Every run is stories260K, greedy, 20 tokens from
// "Once upon a time", and must give the oracle's ids and text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { oracle, ROOT, WEIGHTS } from '../paths.js';
// @ts-expect-error: a plain .mjs file with no types
import { serve } from '../../examples/browser/serve.mjs';
// @ts-expect-error: a plain .mjs file with no types
import { wasmUrls } from '../../scripts/bundle-plugins.mjs';

const exec = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];
const VITE = join(ROOT, 'test/e2e/node_modules/.bin/vite');
const PORT = 18640;
const PROMPT = 'Once upon a time';
const greedy = oracle('stories260K-greedy.json');
const WANT_IDS = greedy.greedy_ids.slice(4, 24); // the prompt is BOS + the oracle's first 4 ids
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));

let tmp = '', app = '', port = PORT;
let browser: Browser | undefined;
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tide-package-'));
  app = join(tmp, 'app');
  await exec('npm', ['run', 'build:ts'], { cwd: ROOT });
  const { stdout } = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: ROOT });
  const tarball = join(tmp, JSON.parse(stdout)[0].filename);
  await cp(join(ROOT, 'test/e2e/package-app'), join(app, 'page'), { recursive: true });
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // --ignore-scripts: the tarball's `prepare` (the repo's own build) is not for installs.
  await exec('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app });
});
test.after(async () => {
  await browser?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** The oracle's continuation: ids, and the text that follows the prompt in its story. */
function assertStory(r: { text: string; ids: number[]; error?: string }): void {
  assert.is(r.error, undefined);
  assert.equal(r.ids, WANT_IDS);
  assert.ok(r.text.length > 20 && greedy.text.startsWith(PROMPT + r.text), JSON.stringify(r.text));
}

for (const threads of [1, 2]) {
  test(`Node, plain ESM: import { loadModel } from '${pkg.name}', ${threads} thread(s)`, async () => {
    const { stdout } = await exec('node', [join(app, 'page/node.mjs'), join(WEIGHTS, 'stories260K'), String(threads)], { cwd: app });
    const r = JSON.parse(stdout);
    assertStory(r);
    assert.is(r.threads, threads);
    assert.is(r.dirSource, 'function');
  });
}

test('the installed tide command: --version, and generate', async () => {
  const tide = join(app, 'node_modules/.bin/tide');
  assert.is((await exec(tide, ['--version'])).stdout.trim(), pkg.version);
  const { stdout } = await exec(tide, ['generate', join(WEIGHTS, 'stories260K'), '--prompt', PROMPT, '--max-tokens', '20', '--temperature', '0']);
  const text = stdout.trimEnd(); // generate ends its text with a newline
  assert.ok(text.length > PROMPT.length + 20 && greedy.text.startsWith(text), text);
});

/** Every file under dir, relative to it. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** The four kernel wasm files and the thread worker are in the output, and no Node-only code is. */
async function assertEmitted(out: string): Promise<void> {
  const list = await files(out);
  for (const k of ['simd128', 'relaxed', 'simd128-threads', 'relaxed-threads']) {
    assert.ok(list.some((f) => new RegExp(`kernels-${k}[-.][\\w.-]*wasm$`).test(f)), `kernels-${k} wasm missing from ${list}`);
  }
  assert.ok(list.some((f) => /web-worker[\w.-]*\.js$/.test(f)), `no web-worker js in ${list}`);
  for (const f of list.filter((f) => f.endsWith('.js'))) {
    const js = await readFile(join(out, f), 'utf8');
    assert.not.match(js, /node:(fs|os|path|crypto|worker_threads)|__vite-browser-external/, `${f} holds Node-only code`);
  }
}

const BUNDLERS: Record<string, (out: string) => Promise<void>> = {
  // esbuild does not follow new URL(…, import.meta.url): the wasmUrls plugin and the file loader emit the wasm,
  // and the worker is an entry of its own beside the page's script (threads.ts names './web-worker.js').
  esbuild: async (out) => {
    await esbuild.build({
      absWorkingDir: app, entryPoints: { main: 'page/main.js', 'web-worker': `${pkg.name}/web-worker` }, outdir: out,
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, logLevel: 'warning',
      loader: { '.wasm': 'file' }, plugins: [wasmUrls],
    });
    await cp(join(app, 'page/index.html'), join(out, 'index.html'));
  },
  vite: async (out) => {
    const { stdout, stderr } = await exec(VITE, ['build', 'page', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: app });
    assert.is((stdout + stderr).trim(), '', 'vite build warns');
  },
};

const canBrowse = existsSync(CHROMIUM);
if (!canBrowse) console.log(`installed.test.ts: bundles SKIPPED, ${CHROMIUM} not found (apt-get install -y chromium; .ci/run does this)`);

for (const [name, bundle] of Object.entries(BUNDLERS)) {
  const ready = canBrowse && (name !== 'vite' || existsSync(VITE));
  if (canBrowse && !ready) console.log(`installed.test.ts: vite SKIPPED, ${VITE} missing (npm ci --prefix test/e2e)`);
  (ready ? test : test.skip)(`${name}: the bundle emits the wasm and the worker, and runs in Chromium on 1 and 2 threads`, async () => {
    const out = join(tmp, `out-${name}`);
    await bundle(out);
    await assertEmitted(out);
    await mkdir(join(out, 'stories260K'));
    for (const f of await readdir(join(WEIGHTS, 'stories260K'))) await cp(join(WEIGHTS, 'stories260K', f), join(out, 'stories260K', f));
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    for (const isolated of [false, true]) {
      const at = port++;
      const server: Server = await serve({ root: out, port: at, isolated });
      const page = await browser.newPage();
      const fetched: string[] = [], problems: string[] = [];
      page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
      page.on('pageerror', (e) => problems.push(e.message));
      try {
        await page.goto(`http://127.0.0.1:${at}/`);
        const r = await page.evaluate(() => (window as unknown as { result: Promise<{ text: string; ids: number[]; threads: number }> }).result);
        assertStory(r);
        assert.is(r.threads, isolated ? 2 : 1);
        assert.ok(fetched.some((p) => /kernels-(simd128|relaxed)(-threads)?[-.][\w.-]*wasm$/.test(p) && p.includes('-threads') === isolated), fetched.join(' '));
        assert.is(fetched.some((p) => /web-worker[\w.-]*\.js$/.test(p)), isolated, fetched.join(' '));
        assert.equal(problems, []);
      } finally {
        await page.close();
        const closed = new Promise((ok) => server.close(ok));
        server.closeAllConnections();
        await closed;
      }
    }
  });
}

test.run();

// The browser example (examples/browser) in headless Debian Chromium via playwright-core: the page loads,
// the model loads over HTTP (then again from the Cache API, offline), greedy generation from
// "Once upon a time" gives Node's ids, Stop aborts, and a cross-origin isolated page uses threads.
// A screenshot is left in test/out/browser.png.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { generateIds, loadModel } from '../../src/index.js';
import { oracle, ROOT } from '../paths.js';
// @ts-expect-error: a plain .mjs file with no types
import { serve } from '../../examples/browser/serve.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];
const PORT = 18620;
const PAGE = `http://127.0.0.1:${PORT}/examples/browser/?model=/weights/stories260K/`;
const PROMPT = 'Once upon a time';
const MAX_TOKENS = 60;
const greedy = oracle('stories260K-greedy.json');

let server: Server | undefined, browser: Browser | undefined, context: BrowserContext | undefined;
const problems: string[] = []; // page errors and console errors, shown with any failure

test.before(async () => {
  await promisify(execFile)('node', [join(ROOT, 'scripts/bundle.mjs')]);
  server = await serve({ port: PORT });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  context = await browser.newContext({ viewport: { width: 900, height: 760 } }); // one profile: its Cache API persists across pages
});
test.after(async () => {
  await browser?.close();
  if (server) await stop(server);
});

/** close() alone waits for Chromium's idle keep-alive connections, which it may hold open indefinitely. */
async function stop(s: Server): Promise<void> {
  const closed = new Promise((ok) => s.close(ok));
  s.closeAllConnections();
  await closed;
}

async function openPage(url = PAGE): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // The optional files a model lacks (model.safetensors.index.json here) are 404s the browser logs.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  return page;
}

/** Wait until #status reaches `state`; an 'error' state fails at once with the page's message. */
async function waitState(page: Page, state: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction((s) => ['error', s].includes(document.getElementById('status')!.dataset.state!), state, { timeout });
  const got = await page.$eval('#status', (e) => [(e as HTMLElement).dataset.state, e.textContent]);
  assert.is(got[0], state, `${got[1]} ${problems.join(' | ')}`);
}

async function generateOnPage(page: Page, maxTokens: number): Promise<{ ids: number[]; promptIds: number[]; text: string; finishReason: string }> {
  await page.fill('#prompt', PROMPT);
  await page.fill('#max-tokens', String(maxTokens));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await waitState(page, 'done');
  return JSON.parse(await page.textContent('#result') ?? '');
}

const run = existsSync(CHROMIUM) ? test : test.skip;
if (!existsSync(CHROMIUM)) console.log(`browser.test.ts: SKIPPED, ${CHROMIUM} not found (apt-get install -y chromium; .ci/run does this)`);

run('the page loads the model over HTTP and greedy ids from "Once upon a time" match Node', async () => {
  const node = await loadModel(join(ROOT, 'weights/stories260K'), { threads: 1 });
  const nodeIds = generateIds(node, node.session(), node.tokenizer!.encode(PROMPT), { maxTokens: MAX_TOKENS, temperature: 0 }).ids;
  await node.dispose();
  const page = await openPage();
  assert.is(await page.title(), 'Tide: generation in the browser');
  await page.click('#load');
  await waitState(page, 'ready');
  assert.match(await page.textContent('#status') ?? '', /260K parameters, (baseline|relaxed) SIMD, 1 thread/);
  assert.is(await page.$eval('#progress', (e) => (e as HTMLElement).style.width), '100%');
  const r = await generateOnPage(page, MAX_TOKENS);
  assert.equal(r.promptIds, [1, 403, 407, 261, 378]);
  assert.equal(r.ids, nodeIds);
  assert.equal(r.ids, greedy.greedy_ids.slice(4, 4 + MAX_TOKENS)); // and both are the oracle's continuation
  assert.ok((await page.textContent('#output'))!.startsWith(`${PROMPT}, there was a little girl named Lily`));
  assert.match(await page.textContent('#speed') ?? '', /^60 tokens, \d+ tokens\/s$/);
  await mkdir(join(ROOT, 'test/out'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'test/out/browser.png'), fullPage: true });
  assert.equal(problems, []);
  await page.close();
});

run('a second visit loads from the Cache API with offline=1, and Stop aborts a generation', async () => {
  const page = await openPage(`${PAGE}&offline=1`);
  await page.click('#load');
  await waitState(page, 'ready');
  // Generate and Stop in one task: the worker sees the stop message before its run ends (the scheduler checks
  // the signal between steps, so that may be before the first token).
  await page.evaluate(() => { document.getElementById('generate')!.click(); document.getElementById('stop')!.click(); });
  await waitState(page, 'done');
  const r = JSON.parse(await page.textContent('#result') ?? '');
  assert.is(r.finishReason, 'abort');
  assert.ok(r.ids.length < 200, `${r.ids.length} ids after Stop`);
  assert.equal(r.ids, greedy.greedy_ids.slice(4, 4 + r.ids.length));
  assert.equal(problems, []);
  await page.close();
});

run('served cross-origin isolated, the page runs on threads and gives the same ids', async () => {
  const isolated: Server = await serve({ port: PORT + 1, isolated: true });
  try {
    const page = await openPage(PAGE.replace(`:${PORT}/`, `:${PORT + 1}/`));
    assert.ok(await page.evaluate(() => crossOriginIsolated));
    await page.click('#load');
    await waitState(page, 'ready');
    const threads = await page.evaluate(() => Math.min(4, navigator.hardwareConcurrency || 1));
    assert.match(await page.textContent('#status') ?? '', `, ${threads} thread(s)`);
    const r = await generateOnPage(page, MAX_TOKENS);
    assert.equal(r.ids, greedy.greedy_ids.slice(4, 4 + MAX_TOKENS));
    assert.equal(problems, []);
    await page.close();
  } finally {
    await stop(isolated);
  }
});

test.run();

// `tide inspect`'s HTML page (src/inspect/html.ts) in headless Debian Chromium via playwright-core: it
// opens without errors or requests, holds a cell per attention weight and lens entry, and is screenshotted
// to test/out/inspect.png.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadModel } from '../../src/index.js';
import { inspect } from '../../src/inspect/inspect.js';
import { inspectionHtml } from '../../src/inspect/html.js';
import { ROOT, WEIGHTS } from '../paths.js';

const OUT = resolve(ROOT, 'test/out');
const CHROMIUM = '/usr/bin/chromium';

test('the HTML page opens in headless Chromium without errors or requests, and is screenshotted', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`, { threads: 1 });
  const ids = m.tokenizer!.encode('Once upon a time there was a little girl');
  const r = inspect(m, ids, { layer: 4, head: 2 });
  mkdirSync(OUT, { recursive: true });
  const file = resolve(OUT, 'inspect.html');
  writeFileSync(file, inspectionHtml(r));
  const browser = await chromium.launch({
    timeout: 60_000,
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (req) => { if (req.url() !== pathToFileURL(file).href) problems.push(`request: ${req.url()}`); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const T = ids.length;
    const filled = await page.locator('table.att td[title]').count();
    const lensCells = await page.locator('table.lens td').count();
    const heads = await page.locator('.heads svg').count();
    const headCells = await page.locator('.heads figure.chosen rect').count();
    await page.screenshot({ path: resolve(OUT, 'inspect.png'), fullPage: true });
    assert.equal(problems, []);
    assert.is(filled, (T * (T + 1)) / 2);
    assert.is(lensCells, (m.spec.nLayers + 1) * T);
    assert.is(heads, m.spec.nHeads);
    assert.is(headCells, 1 + (T * (T + 1)) / 2); // a white background, then the causal triangle
    assert.ok(existsSync(resolve(OUT, 'inspect.png')));
  } finally {
    await browser.close();
    await m.dispose();
  }
});

test.run();

// Tests for src/sources/remote.ts, src/sources/download.ts and the caches: loading over HTTP from a local node:http
// server that serves the test models, with 404s, cut-off bodies and stalls. Hub ids: test/sources-hub.test.ts;
// hostile servers: test/sources-hostile.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generateIds, loadEmbedder, loadModel, modelBaseUrl, OptionError, readHeader, SourceError, type DownloadProgress } from '../src/index.js';
import { fileReader } from '../src/node/dir-source.js';
import { cachePath } from '../src/node/cache.js';
import { fixtureModel, oracle } from './paths.js';
import { listFiles } from './fake-hub.js';

const greedy = oracle('stories260K-greedy.json');
let PORT = 0;   // a free port, picked when the server starts
let BASE = '';
const N = 12; // greedy ids compared per load: enough to show the weights arrived intact

type Fault = '404' | 'cut' | 'stall-body' | 'stall-headers';
const faults = new Map<string, Fault>();  // URL path → what the server does instead of answering
const requests: string[] = [];
let extraRoot: string | undefined;        // a temp folder served under /tmp-models/

/** /NAME/FILE from fixtureModel(NAME), /tmp-models/… from extraRoot. */
function fileFor(path: string): string | undefined {
  if (path.startsWith('/tmp-models/') && extraRoot) return join(extraRoot, path.slice('/tmp-models/'.length));
  const local = /^\/([^/]+)\/(.+)$/.exec(path);
  return local ? join(fixtureModel(local[1]), local[2]) : undefined;
}

async function answer(path: string, res: ServerResponse): Promise<void> {
  requests.push(path);
  const fault = faults.get(path);
  if (fault === 'stall-headers') return; // never answers; the client's timeout must end it
  const file = fileFor(decodeURIComponent(path));
  const body = await readFile(file!).catch(() => undefined);
  if (!body || fault === '404') { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
  if (fault === 'cut') { res.write(body.subarray(0, body.length >> 1), () => res.destroy()); return; }
  if (fault === 'stall-body') { res.write(body.subarray(0, 1000)); return; }
  res.end(body);
}

let server: Server;
test.before(async () => {
  server = createServer((req, res) => void answer(new URL(req.url!, 'http://127.0.0.1').pathname, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  PORT = (server.address() as AddressInfo).port;
  BASE = `http://127.0.0.1:${PORT}`;
});
test.after(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
  if (extraRoot) await rm(extraRoot, { recursive: true, force: true });
});

const newCache = () => mkdtemp(join(tmpdir(), 'tide-cache-'));


async function greedyIds(source: string, opts: Parameters<typeof loadModel>[1]): Promise<number[]> {
  const model = await loadModel(source, { threads: 1, ...opts });
  const ids = generateIds(model, model.session(), [1], { maxTokens: N, temperature: 0 }).ids;
  await model.dispose();
  return ids;
}

/** A failure must leave no temporary file and no file for the URL that failed. */
async function assertNoPartial(cacheDir: string, url: string): Promise<void> {
  const files = await listFiles(cacheDir);
  assert.equal(files.filter((f) => f.endsWith('.part')), [], `temporary files left: ${files}`);
  assert.not.ok(await stat(cachePath(cacheDir, url)).catch(() => undefined), `${url} is in the cache after a failed download`);
}

test('a base URL loads, reports per-file and overall progress, and fills the cache', async () => {
  const cacheDir = await newCache();
  const events: DownloadProgress[] = [];
  const ids = await greedyIds(`${BASE}/stories260K`, { cacheDir, onDownloadProgress: (p) => events.push(p) });
  assert.equal(ids, greedy.greedy_ids.slice(0, N));
  const weights = (await stat(join(fixtureModel('stories260K'), 'model.safetensors'))).size;
  const last = events.filter((e) => e.file === 'model.safetensors').at(-1)!;
  assert.equal([last.fileLoadedBytes, last.fileTotalBytes, last.cached], [weights, weights, false]);
  const end = events.at(-1)!;
  assert.is(end.loadedBytes, end.totalBytes);
  assert.ok(end.totalBytes > weights, `overall total ${end.totalBytes} should include config and tokenizer`);
  const files = await listFiles(cacheDir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(files.includes(`http_127.0.0.1_${PORT}/stories260K/${f}`), files.join());
  assert.is(files.length, 5, `only the files that exist are kept (a 404 is not remembered): ${files}`);

  // offline: the same load with no request at all, progress from the cache
  const before = requests.length;
  const again: DownloadProgress[] = [];
  assert.equal(await greedyIds(`${BASE}/stories260K`, { cacheDir, offline: true, onDownloadProgress: (p) => again.push(p) }), ids);
  assert.is(requests.length, before, 'offline load sent requests');
  assert.ok(again.every((e) => e.cached));
  await rm(cacheDir, { recursive: true });
});

test('offline with an empty cache names the URL and the cache, and sends nothing', async () => {
  const cacheDir = await newCache();
  const before = requests.length;
  try {
    await loadModel(`${BASE}/stories260K`, { cacheDir, offline: true });
    assert.unreachable('loaded with an empty cache');
  } catch (e) {
    assert.instance(e, SourceError);
    assert.match((e as Error).message, `${BASE}/stories260K/config.json: not in the cache (${cacheDir}) and offline is set`);
  }
  assert.is(requests.length, before);
  await rm(cacheDir, { recursive: true });
});

test('hf: ids resolve to {hub}/{id}/resolve/{rev}/{file}', () => {
  assert.is(modelBaseUrl('hf:HuggingFaceTB/SmolLM2-135M'), 'https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/');
  assert.is(modelBaseUrl('hf:Qwen/Qwen2.5-0.5B@v1.0'), 'https://huggingface.co/Qwen/Qwen2.5-0.5B/resolve/v1.0/');
  assert.is(modelBaseUrl('hf:gpt2@refs/pr/1'), 'https://huggingface.co/gpt2/resolve/refs%2Fpr%2F1/');
  for (const bad of ['hf:', 'hf:a/b/c', 'hf:org/name@', 'hf:org/../x', 'hf:a@b@c']) {
    assert.throws(() => modelBaseUrl(bad), (e: Error) => e instanceof OptionError && e.message.startsWith(bad), bad);
  }
});

test('a sharded checkpoint downloads every shard named by the index', async () => {
  extraRoot = await mkdtemp(join(tmpdir(), 'tide-shards-'));
  const dir = join(extraRoot, 'sharded');
  await mkdir(dir);
  await writeShards(fixtureModel('stories260K'), dir);
  const cacheDir = await newCache();
  const ids = await greedyIds(`${BASE}/tmp-models/sharded`, { cacheDir });
  assert.equal(ids, greedy.greedy_ids.slice(0, N));
  const files = await listFiles(cacheDir);
  for (const s of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
    assert.ok(files.some((f) => f.endsWith(`sharded/${s}`)), files.join());
  }
  await rm(cacheDir, { recursive: true });
});

/** Split a single-file checkpoint into two shards and an index (tensors alternate between them). */
async function writeShards(src: string, dir: string): Promise<void> {
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    await writeFile(join(dir, f), await readFile(join(src, f)));
  }
  const reader = await fileReader(join(src, 'model.safetensors'));
  const { tensors } = await readHeader(reader);
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  for (const [s, name] of names.entries()) {
    const mine = tensors.filter((_, i) => i % 2 === s);
    const header: Record<string, unknown> = {};
    const blobs: Uint8Array[] = [];
    let pos = 0;
    for (const t of mine) {
      const data = new Uint8Array(t.bytes);
      await reader.read(t.offset, data);
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.bytes] };
      blobs.push(data);
      pos += t.bytes;
      weightMap[t.name] = name;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    await writeFile(join(dir, name), Buffer.concat([len, json, ...blobs]));
  }
  await reader.close();
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

const WEIGHTS_PATH = '/stories260K/model.safetensors';
const FAULTS: { fault: Fault; path: string; message: string; timeoutMs?: number }[] = [ // regexps after the URL
  { fault: '404', path: WEIGHTS_PATH, message: ': HTTP 404 Not Found$' },
  { fault: 'cut', path: WEIGHTS_PATH, message: ': (connection lost after \\d+ of \\d+ bytes|body ended after \\d+ of \\d+ bytes)' },
  { fault: 'stall-body', path: WEIGHTS_PATH, timeoutMs: 300, message: ': no data for 300 ms \\(timeoutMs\\)$' },
  { fault: 'stall-headers', path: '/stories260K/config.json', timeoutMs: 300, message: ': no data for 300 ms \\(timeoutMs\\)$' },
];

for (const { fault, path, message, timeoutMs } of FAULTS) {
  test(`${fault} on ${path}: a SourceError naming the URL, no partial file, and a retry succeeds`, async () => {
    const cacheDir = await newCache();
    faults.set(path, fault);
    try {
      await loadModel(`${BASE}/stories260K`, { cacheDir, timeoutMs });
      assert.unreachable(`${fault} did not fail the load`);
    } catch (e) {
      assert.instance(e, SourceError, String(e));
      assert.match((e as Error).message, new RegExp(`^${(BASE + path).replace(/\./g, '\\.')}${message}`));
    } finally {
      faults.delete(path);
    }
    await assertNoPartial(cacheDir, BASE + path);
    assert.equal(await greedyIds(`${BASE}/stories260K`, { cacheDir, timeoutMs }), greedy.greedy_ids.slice(0, N));
    await rm(cacheDir, { recursive: true });
  });
}

test('loadEmbedder takes a base URL too: the same vectors as from the directory, then offline from the cache', async () => {
  const cacheDir = await newCache();
  const texts = [[20, 36, 118, 81, 189, 48, 157], [5, 9]];
  const vectors = async (source: string, opts = {}) => {
    const e = await loadEmbedder(source, { threads: 1, ...opts });
    try { return (await e.embed(texts)).map((v) => Array.from(v)); } finally { await e.dispose(); }
  };
  const local = await vectors(fixtureModel('tiny-bert'));
  assert.equal(await vectors(`${BASE}/tiny-bert`, { cacheDir }), local);
  const before = requests.length;
  assert.equal(await vectors(`${BASE}/tiny-bert`, { cacheDir, offline: true }), local);
  assert.is(requests.length, before, 'offline sent requests');
});

test('cache: false keeps downloads in memory and writes nothing to the cache directory', async () => {
  const cacheDir = await newCache();
  assert.equal(await greedyIds(`${BASE}/stories260K`, { cache: false, cacheDir }), greedy.greedy_ids.slice(0, N));
  assert.equal(await listFiles(cacheDir), []);
  await rm(cacheDir, { recursive: true });
});

test('TIDE_CACHE sets the default cache directory', async () => {
  const cacheDir = await newCache();
  const saved = process.env.TIDE_CACHE;
  process.env.TIDE_CACHE = cacheDir;
  try {
    await (await loadModel(`${BASE}/stories260K`, { threads: 1 })).dispose();
  } finally {
    if (saved === undefined) delete process.env.TIDE_CACHE; else process.env.TIDE_CACHE = saved;
  }
  assert.ok((await listFiles(cacheDir)).includes(`http_127.0.0.1_${PORT}/stories260K/model.safetensors`));
  await rm(cacheDir, { recursive: true });
});

test.run();

// Hostile hosts (all on 127.0.0.1): indexes naming other hosts or climbing out of the model, redirects that
// would carry credentials elsewhere, short, long, endless and gzip-bombed bodies, transient 404s, a 5,000-shard
// index, SIGINT mid-download, poisoned cache entries. Model files here are self-made.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { memoryCache, openModelFiles, SafetensorsError, SourceError, type ModelCache, type ModelFiles, type SourceOptions } from '../src/index.js';
import { cachePath, fileCache } from '../src/node/index.js';
import { FakeHub, fileServer, listFiles, rejects, safetensors } from './fake-hub.js';
import { ROOT } from './paths.js';

const HF_VARS = ['HF_TOKEN', 'HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HOME', 'HF_HUB_OFFLINE'];
const savedEnv = new Map(HF_VARS.map((k) => [k, process.env[k]]));
const utf8 = (s: string) => new TextEncoder().encode(s);
const MiB = 2 ** 20;

const WEIGHTS = safetensors({ w: { shape: [4, 64], data: new Float32Array(256).map((_, i) => i) } });
const CONFIG = utf8('{"model_type":"llama"}');
const TOKENIZER = utf8('{"version":"1.0"}');

/** Server A: /m/ a small model; `override` answers a path its own way. Server B: another host, which must see nothing. */
const filesA = new Map<string, Uint8Array>([['/m/config.json', CONFIG], ['/m/model.safetensors', WEIGHTS], ['/m/tokenizer.json', TOKENIZER]]);
const override = new Map<string, (res: ServerResponse, body?: Uint8Array) => void>();
const A = fileServer(filesA, override);
const B = fileServer(new Map([['/evil.safetensors', WEIGHTS], ['/blob', WEIGHTS]]));
const hub = new FakeHub();

test.before(async () => {
  for (const k of HF_VARS) delete process.env[k];
  await Promise.all([A.start(), B.start(), hub.start()]);
  process.env.HF_ENDPOINT = hub.hub.url;
});
test.after(async () => {
  await Promise.all([A.stop(), B.stop(), hub.stop()]);
  for (const [k, v] of savedEnv) if (v === undefined) delete process.env[k]; else process.env[k] = v;
});
test.before.each(() => { A.reset(); B.reset(); hub.hub.reset(); hub.cdn.reset(); override.clear(); hub.tamper.clear(); });

const newCache = () => mkdtemp(join(tmpdir(), 'tide-hostile-'));


/** A cache that counts the bytes written through it per file name (what reached the disk, for a file cache). */
function counting(cache: ModelCache): { cache: ModelCache; written: (name: string) => number } {
  const written = new Map<string, number>();
  return {
    written: (name) => written.get(name) ?? 0,
    cache: {
      ...cache,
      async begin(url) {
        const w = await cache.begin(url);
        const name = url.slice(url.lastIndexOf('/') + 1);
        return { ...w, write: async (chunk: Uint8Array) => { written.set(name, (written.get(name) ?? 0) + chunk.length); await w.write(chunk); } };
      },
    },
  };
}

async function withFiles<T>(source: string, opts: SourceOptions, fn: (f: ModelFiles) => Promise<T>): Promise<T> {
  const files = await openModelFiles(source, opts.cacheDir || opts.cache ? opts : { ...opts, cache: false });
  try { return await fn(files); } finally { await files.close?.(); }
}

const index = (weightMap: Record<string, string>) => utf8(JSON.stringify({ metadata: {}, weight_map: weightMap }));

test('an index naming a shard on another host: a typed error before any shard request; that host sees nothing', async () => {
  for (const shard of [`${B.url}/evil.safetensors`, `//${new URL(B.url).host}/evil.safetensors`]) {
    filesA.set('/sharded/model.safetensors.index.json', index({ w: shard }));
    A.reset();
    await rejects(openModelFiles(`${A.url}/sharded`, { cache: false, headers: { Authorization: 'Bearer secret' } }), SafetensorsError,
      /model\.safetensors\.index\.json: weight_map "w" is .*, expected a shard file name in the model's folder$/);
    assert.equal(A.seen.map((s) => s.path), ['/sharded/model.safetensors.index.json'], 'only the index was requested');
  }
  assert.is(B.seen.length, 0, 'the other host saw a request');
});

const TRAVERSALS = ['../m/model.safetensors', '%2e%2e%2fm%2fmodel.safetensors', '..%2Fx.safetensors', '%2E%2E', 'a\\..\\x.safetensors',
  'x.safetensors?y=1', 'x.safetensors#y', '/m/model.safetensors', 'sub/x.safetensors', 'file:///etc/passwd', '..'];

test(`${TRAVERSALS.length} traversal shard names: each a typed error with no request past the index`, async () => {
  for (const shard of TRAVERSALS) {
    filesA.set('/sharded/model.safetensors.index.json', index({ w: shard }));
    A.reset();
    await rejects(openModelFiles(`${A.url}/sharded`, { cache: false }), SafetensorsError, /expected a shard file name in the model's folder$/);
    assert.equal(A.seen.map((s) => s.path), ['/sharded/model.safetensors.index.json'], shard);
  }
});

test('names a config gives (modules.json paths) cannot leave the model either: SourceError, no request', async () => {
  await withFiles(`${A.url}/m`, {}, async (files) => {
    const before = A.seen.length;
    for (const name of ['../x/config.json', `${B.url}/x`, 'a/%2e%2e/b', '/etc/passwd', 'x?y']) {
      await rejects(files.text(name), SourceError, /is not a file inside the model$/);
    }
    assert.is(A.seen.length, before);
  });
  assert.is(B.seen.length, 0);
});

test('credentials stay on their origin: kept on a same-origin redirect, dropped on a redirect to another host', async () => {
  override.set('/m/model.safetensors', (res) => res.writeHead(302, { location: `${B.url}/blob` }).end());
  override.set('/m/config.json', (res) => res.writeHead(307, { location: '/m2/config.json' }).end());
  filesA.set('/m2/config.json', CONFIG);
  await withFiles(`${A.url}/m`, { headers: { Authorization: 'Bearer secret' } }, async (files) => {
    assert.is(await files.text('config.json'), new TextDecoder().decode(CONFIG));
  });
  assert.ok(A.seen.length >= 4 && A.seen.every((s) => s.authorization === 'Bearer secret'), JSON.stringify(A.seen));
  assert.equal(B.seen.map((s) => [s.path, s.authorization]), [['/blob', undefined]]);

  // HF_TOKEN is for the hub's host only: not sent to a base URL elsewhere
  A.reset();
  process.env.HF_TOKEN = 'hf_secret';
  try {
    await withFiles(`${A.url}/m`, {}, async () => undefined);
  } finally {
    delete process.env.HF_TOKEN;
  }
  assert.ok(A.seen.length > 0 && A.seen.every((s) => s.authorization === undefined));
});

test('redirects to another scheme are refused', async () => {
  override.set('/m/config.json', (res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
  await rejects(openModelFiles(`${A.url}/m`, { cache: false }), SourceError, /config\.json: refusing a redirect to file:\/\/$/);
});

test('short and long bodies against the hub\'s declared size: errors, nothing cached, a long one stopped at the size', async () => {
  const weights = WEIGHTS;
  hub.push('evil/sizes', { 'config.json': CONFIG, 'model.safetensors': weights });
  const cases: [string, (res: ServerResponse, body: Uint8Array) => void, RegExp][] = [
    ['short, chunked', (res, body) => { res.writeHead(200); res.end(body.subarray(0, 100)); }, /body ended after 100 of \d+ bytes$/],
    ['long, chunked', (res, body) => { res.writeHead(200); res.write(body); res.write(body); res.end(body); }, /body passes the declared \d+ bytes$/],
    ['long, Content-Length', (res, body) => { res.writeHead(200, { 'content-length': body.length * 2 }); res.end(Buffer.concat([body, body])); },
      new RegExp(`Content-Length ${weights.length * 2}, the hub lists ${weights.length} bytes$`)],
  ];
  for (const [what, answer, message] of cases) {
    hub.tamper.set('model.safetensors', answer);
    const c = counting(memoryCache());
    await rejects(openModelFiles('evil/sizes', { cache: c.cache }), SourceError, message);
    assert.ok(c.written('model.safetensors') <= weights.length, `${what}: wrote ${c.written('model.safetensors')}`);
    assert.not.ok(await c.cache.get(`${hub.hub.url}/evil/sizes/resolve/${hub.repos.get('evil/sizes')!.refs.get('main')}/model.safetensors`), what);
  }
});

/** 1,024 gzip members of 1 MiB of zeros: about 1 MB on the wire, 1 GiB decompressed. */
const BOMB = Buffer.concat(Array(1024).fill(gzipSync(Buffer.alloc(MiB), { level: 9 })));
const sendBomb = (res: ServerResponse) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': BOMB.length }).end(BOMB);

test('gzip bombs stop at the bound: the hub\'s declared size, or the cap when nothing declares one', async () => {
  assert.ok(BOMB.length < 1.1e6, `${BOMB.length} bytes on the wire`);
  hub.push('evil/bomb', { 'config.json': CONFIG, 'model.safetensors': WEIGHTS });
  hub.tamper.set('model.safetensors', sendBomb);
  const c = counting(memoryCache());
  await rejects(openModelFiles('evil/bomb', { cache: c.cache }), SourceError, new RegExp(`body passes the declared ${WEIGHTS.length} bytes$`));
  assert.ok(c.written('model.safetensors') <= WEIGHTS.length, `wrote ${c.written('model.safetensors')}`);

  const dir = await newCache();
  override.set('/m/tokenizer.json', sendBomb);
  const d = counting(fileCache(dir));
  await rejects(openModelFiles(`${A.url}/m`, { cache: d.cache, maxJsonBytes: 4 * MiB }), SourceError,
    new RegExp(`tokenizer\\.json: body passes ${4 * MiB} bytes with no size declared \\(maxJsonBytes\\)$`));
  assert.ok(d.written('tokenizer.json') <= 4 * MiB, `wrote ${d.written('tokenizer.json')}`);
  assert.equal((await listFiles(dir)).filter((f) => f.includes('tokenizer') || f.endsWith('.part')), []);
  await rm(dir, { recursive: true });
});

/** A body with no Content-Length that never ends (until the client goes away). */
function endless(res: ServerResponse): void {
  res.writeHead(200);
  const chunk = Buffer.alloc(256 * 1024);
  const more = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', more); };
  res.on('close', () => res.removeAllListeners('drain'));
  more();
}

test('endless bodies with no size stop at the cap (default 64 MiB for JSON, maxWeightBytes for weights); disk use stays under it', async () => {
  const dir = await newCache();
  override.set('/m/config.json', endless);
  const c = counting(fileCache(dir));
  await rejects(openModelFiles(`${A.url}/m`, { cache: c.cache }), SourceError, new RegExp(`config\\.json: body passes ${64 * MiB} bytes with no size declared \\(maxJsonBytes\\)$`));
  assert.ok(c.written('config.json') <= 64 * MiB, `wrote ${c.written('config.json')}`);

  override.clear();
  override.set('/m/model.safetensors', endless);
  const dir2 = await newCache();
  const d = counting(fileCache(dir2));
  await rejects(openModelFiles(`${A.url}/m`, { cache: d.cache, maxWeightBytes: 8 * MiB }), SourceError,
    new RegExp(`model\\.safetensors: body passes ${8 * MiB} bytes with no size declared \\(maxWeightBytes\\)$`));
  assert.ok(d.written('model.safetensors') <= 8 * MiB, `wrote ${d.written('model.safetensors')}`);
  assert.equal([...await listFiles(dir), ...await listFiles(dir2)].filter((f) => f.endsWith('.part')), []);
  assert.equal((await listFiles(dir2)).filter((f) => f.endsWith('model.safetensors')), []);

  // a declared size over the cap is refused before any byte is read
  override.clear();
  await rejects(openModelFiles(`${A.url}/m`, { cache: false, maxWeightBytes: 100 }), SourceError,
    new RegExp(`model\\.safetensors: ${WEIGHTS.length} bytes declared, over the 100-byte limit \\(maxWeightBytes\\)$`));
  await rm(dir, { recursive: true });
  await rm(dir2, { recursive: true });
});

test('a transient 404 is remembered for one load only: asked once in it, asked again by the next', async () => {
  const dir = await newCache();
  let first = true;
  override.set('/m/tokenizer.json', (res, body) => {
    if (first) { first = false; res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': body!.length }).end(body);
  });
  await withFiles(`${A.url}/m`, { cache: fileCache(dir) }, async (files) => {
    assert.is(await files.text('tokenizer.json'), undefined);
    assert.is(await files.text('tokenizer.json'), undefined);
  });
  assert.is(A.count('/m/tokenizer.json'), 1, 'one request in one load');
  await withFiles(`${A.url}/m`, { cache: fileCache(dir) }, async (files) => {
    assert.is(await files.text('tokenizer.json'), new TextDecoder().decode(TOKENIZER));
  });
  assert.is(A.count('/m/tokenizer.json'), 2);
  assert.equal((await listFiles(dir)).filter((f) => f.includes('missing')), []);
  await rm(dir, { recursive: true });
});

test('an index of 5,000 shards: every shard fetched, never more than 4 requests at once', async () => {
  const files = new Map<string, Uint8Array>();
  const weightMap: Record<string, string> = {};
  const tiny = safetensors({});
  for (let i = 0; i < 5000; i++) {
    const shard = `model-${String(i + 1).padStart(5, '0')}-of-05000.safetensors`;
    weightMap[`t${i}`] = shard;
    files.set(`/big/${shard}`, tiny);
  }
  files.set('/big/model.safetensors.index.json', index(weightMap));
  files.set('/big/config.json', CONFIG);
  // The `fetch` option, answering from memory: 5,000 loopback requests would cost seconds on a busy machine.
  // A request is in flight from the call until its body has been read.
  let calls = 0, inFlight = 0, maxInFlight = 0;
  const fetch = async (input: string | URL | Request): Promise<Response> => {
    calls++;
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await new Promise((ok) => setImmediate(ok)); // let every other request that can start, start
    const body = files.get(new URL(String(input)).pathname);
    if (!body) { inFlight--; return new Response(null, { status: 404 }); }
    const stream = new ReadableStream<Uint8Array>({ pull(c) { c.enqueue(body); c.close(); inFlight--; } });
    return new Response(stream, { headers: { 'content-length': String(body.length) } });
  };
  await withFiles('http://127.0.0.1:9/big', { fetch: fetch as typeof globalThis.fetch }, async () => undefined);
  assert.is(calls, 1 + 5 + 5000, 'index, five extras (config, generation config, tokenizer, its config, chat_template.jinja), every shard');
  assert.is(maxInFlight, 4);
});

test('SIGINT mid-download: the process ends and leaves no .part file', async () => {
  const dir = await newCache();
  let sent!: () => void;
  const started = new Promise<void>((ok) => { sent = ok; });
  const big = new Uint8Array(4 * MiB);
  override.set('/m/model.safetensors', (res) => { res.writeHead(200, { 'content-length': big.length }); res.write(big.subarray(0, MiB), () => sent()); });
  const code = `import { openModelFiles } from './src/index.ts'; await openModelFiles(process.env.URL, { cacheDir: process.env.CACHE, timeoutMs: 60000 });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, URL: `${A.url}/m`, CACHE: dir } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d; });
  const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_c, signal) => ok(signal)));
  await started;
  let parts: string[] = [];
  for (let i = 0; i < 200 && parts.length === 0; i++) {
    parts = (await listFiles(dir)).filter((f) => f.includes('model.safetensors.') && f.endsWith('.part'));
    if (parts.length === 0) await new Promise((ok) => setTimeout(ok, 25));
  }
  assert.is(parts.length, 1, `a .part file while downloading: ${stderr}`);
  child.kill('SIGINT');
  assert.is(await exited, 'SIGINT', stderr);
  assert.equal((await listFiles(dir)).filter((f) => f.endsWith('.part')), []);
  await rm(dir, { recursive: true });
});

test('a download aborted because another file failed leaves no .part', async () => {
  const dir = await newCache();
  override.set('/m/model.safetensors', (res, body) => { res.writeHead(200, { 'content-length': body!.length }); res.write(body!.subarray(0, 100)); });
  override.set('/m/tokenizer.json', (res) => setTimeout(() => res.writeHead(500).end(), 50));
  await rejects(openModelFiles(`${A.url}/m`, { cacheDir: dir }), SourceError, /tokenizer\.json: HTTP 500 Internal Server Error$/);
  assert.equal((await listFiles(dir)).filter((f) => f.endsWith('.part') || f.endsWith('model.safetensors')), []);
  await rm(dir, { recursive: true });
});

test('a poisoned cache entry (bad safetensors header) is evicted and downloaded again; offline, it is an error', async () => {
  const dir = await newCache();
  await withFiles(`${A.url}/m`, { cacheDir: dir }, async () => undefined);
  const path = cachePath(dir, `${A.url}/m/model.safetensors`);
  const poison = () => writeFile(path, Buffer.from([255, 255, 255, 255, 255, 255, 255, 0, 1, 2, 3]));
  await poison();
  await rejects(openModelFiles(`${A.url}/m`, { cacheDir: dir, offline: true }), SourceError,
    /model\.safetensors: header length is over the limit of \d+ bytes; removed from the cache, and offline is set$/);
  assert.not.ok(await stat(path).catch(() => undefined), 'evicted');
  await poison();
  A.reset();
  await withFiles(`${A.url}/m`, { cacheDir: dir }, async (files) => {
    const r = await files.open('model.safetensors');
    assert.is(r.size, WEIGHTS.length);
    await r.close();
  });
  assert.is(A.count('/m/model.safetensors'), 1, 'downloaded again');
  assert.equal(new Uint8Array(await readFile(path)), WEIGHTS);
  await rm(dir, { recursive: true });
});

test('cache keys keep the scheme, the port and every character: distinct URLs never share a file', () => {
  const keys = [
    'http://h/m/config.json', 'https://h/m/config.json', 'http://h:443/m/config.json', 'https://h:80/m/config.json',
    'https://h/m/resolve/refs%2Fpr%2F1/config.json', 'https://h/m/resolve/refs_pr_1/config.json', 'https://h/m/resolve/refs/pr/1/config.json',
    'https://h/a%2Fb/config.json', 'https://h/a_b/config.json', 'https://h/a:b/config.json', 'https://h_1/x', 'https://h:1/x',
  ].map((u) => cachePath('/c', u));
  assert.is(new Set(keys).size, keys.length, keys.join('\n'));
  assert.is(cachePath('/c', 'http://h/a/%2e%2e/%2e%2e/x'), '/c/http_h_80/x'); // the URL parser resolves these
  assert.is(cachePath('/c', 'http://h/..%2F..%2Fx'), '/c/http_h_80/..%2F..%2Fx');
  assert.is(cachePath('/c', 'https://127.0.0.1:8080/m/config.json'), '/c/https_127.0.0.1_8080/m/config.json');
});

test.run();

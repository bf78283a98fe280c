// Hub ids against the local fake hub (test/fake-hub.ts): `org/name` and `hf:org/name[@rev]`, the standard
// Hugging Face cache layout (shared with Python tools), revalidation of branches, offline mode, tokens that
// go to the hub and never to its CDN, digests checked, poisoned entries healed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIds, loadModel, memoryCache, openModelFiles, OptionError, RemoteFiles, SourceError, type ModelFiles } from '../src/index.js';
import { bufferedHasher } from '../src/sources/hash.js';
import { FakeHub, gitBlobId, rejects, sha256, tinyLlama } from './fake-hub.js';

const HF_VARS = ['HF_TOKEN', 'HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HOME', 'HF_HUB_OFFLINE'];
const savedEnv = new Map(HF_VARS.map((k) => [k, process.env[k]]));
const hub = new FakeHub();
const MODEL = tinyLlama(7);
let modelDir = '';
let COMMIT = '';

test.before(async () => {
  for (const k of HF_VARS) delete process.env[k];
  await hub.start();
  process.env.HF_ENDPOINT = hub.hub.url; // every hub request of this file goes to the fake hub
  COMMIT = hub.push('tide-test/tiny', MODEL);
  modelDir = await mkdtemp(join(tmpdir(), 'tide-tiny-'));
  for (const [name, body] of Object.entries(MODEL)) await writeFile(join(modelDir, name), body);
});
test.after(async () => {
  await hub.stop();
  await rm(modelDir, { recursive: true, force: true });
  for (const [k, v] of savedEnv) if (v === undefined) delete process.env[k]; else process.env[k] = v;
});

const newCache = () => mkdtemp(join(tmpdir(), 'tide-hub-cache-'));

async function greedy(source: string | ModelFiles, opts: Parameters<typeof loadModel>[1] = {}): Promise<number[]> {
  const model = await loadModel(source, { threads: 1, ...opts });
  try {
    return generateIds(model, model.session(), [1], { maxTokens: 6, temperature: 0 }).ids;
  } finally {
    await model.dispose();
  }
}

/** Run fn with environment variables set (undefined: unset), then restore them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => { for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k]; else process.env[k] = x; };
  set(vars);
  try { return await fn(); } finally { set(before); }
}

const repoDir = (cache: string) => join(cache, 'models--tide-test--tiny');
const fileDownloads = () => hub.hub.seen.filter((s) => s.path.includes('/resolve/')).length + hub.cdn.seen.length;

test('org/name loads from the hub: same tokens as the local directory, in the standard cache layout', async () => {
  const cache = await newCache();
  hub.hub.reset(); hub.cdn.reset();
  const want = await greedy(modelDir);
  assert.equal(await greedy('tide-test/tiny', { cacheDir: cache }), want);
  const repo = repoDir(cache);
  assert.is((await readFile(join(repo, 'refs/main'), 'utf8')), COMMIT);
  const weightsSha = sha256(MODEL['model.safetensors']);
  const configId = gitBlobId(MODEL['config.json']);
  assert.equal((await readdir(join(repo, 'blobs'))).sort(), [configId, weightsSha].sort());
  for (const [file, blob] of [['model.safetensors', weightsSha], ['config.json', configId]]) {
    const link = join(repo, 'snapshots', COMMIT, file);
    assert.ok((await lstat(link)).isSymbolicLink(), `${file} is a symlink`);
    assert.is(await readlink(link), join('..', '..', 'blobs', blob));
  }
  // one API call; only the files the listing has are requested (no 404 for tokenizer.json); weights via the CDN
  assert.equal(hub.hub.seen.map((s) => s.path).sort(), [
    `/api/models/tide-test/tiny/revision/main`, `/tide-test/tiny/resolve/${COMMIT}/config.json`, `/tide-test/tiny/resolve/${COMMIT}/model.safetensors`]);
  assert.equal(hub.cdn.seen.map((s) => s.path), [`/lfs/${weightsSha}`]);
  assert.equal(await greedy(`hf:tide-test/tiny@${COMMIT}`, { cacheDir: cache }), want, 'hf: prefix and a commit revision');
  await rm(cache, { recursive: true });
});

test('a branch is revalidated with one API call; an unchanged commit downloads nothing, a new one only what changed', async () => {
  const cache = await newCache();
  hub.push('tide-test/moving', MODEL);
  await greedy('tide-test/moving', { cacheDir: cache });
  hub.hub.reset(); hub.cdn.reset();
  await greedy('tide-test/moving', { cacheDir: cache });
  assert.equal(hub.hub.seen.map((s) => s.path), ['/api/models/tide-test/moving/revision/main']);
  assert.is(hub.cdn.seen.length, 0);

  const config = JSON.parse(new TextDecoder().decode(MODEL['config.json']));
  const next = hub.push('tide-test/moving', { ...MODEL, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, rms_norm_eps: 1e-6 })) });
  hub.hub.reset();
  await greedy('tide-test/moving', { cacheDir: cache });
  assert.equal(hub.hub.seen.map((s) => s.path), ['/api/models/tide-test/moving/revision/main', `/tide-test/moving/resolve/${next}/config.json`]);
  assert.is(hub.cdn.seen.length, 0, 'the weights blob is reused for the new commit');
  assert.is(await readFile(join(cache, 'models--tide-test--moving/refs/main'), 'utf8'), next);
  await rm(cache, { recursive: true });
});

test('offline (option or HF_HUB_OFFLINE=1) loads from the cache with no request; a missing file or revision is named', async () => {
  const cache = await newCache();
  const want = await greedy('tide-test/tiny', { cacheDir: cache });
  hub.hub.reset(); hub.cdn.reset();
  assert.equal(await greedy('tide-test/tiny', { cacheDir: cache, offline: true }), want);
  assert.equal(await withEnv({ HF_HUB_OFFLINE: '1' }, () => greedy('hf:tide-test/tiny', { cacheDir: cache })), want);
  assert.is(hub.hub.seen.length + hub.cdn.seen.length, 0, 'offline sent requests');

  await rm(join(repoDir(cache), 'snapshots', COMMIT, 'config.json'));
  await rejects(loadModel('tide-test/tiny', { cacheDir: cache, offline: true }), SourceError,
    new RegExp(`^hf:tide-test/tiny@main: config\\.json is not in the cache \\(${repoDir(cache)}/snapshots/${COMMIT}/config\\.json\\) and offline is set$`));
  await rejects(loadModel('hf:tide-test/tiny@v2', { cacheDir: cache, offline: true }), SourceError,
    /^hf:tide-test\/tiny@v2: revision not in the cache \(.*models--tide-test--tiny\) and offline is set$/);
  assert.is(hub.hub.seen.length, 0);
  await rm(cache, { recursive: true });
});

test('files Python tools put in the cache (blobs, relative symlinks, refs) are used as they are', async () => {
  const cache = await newCache();
  const repo = repoDir(cache);
  for (const [name, body] of Object.entries(MODEL)) {
    const blob = name.endsWith('.safetensors') ? sha256(body) : gitBlobId(body);
    await mkdir(join(repo, 'blobs'), { recursive: true });
    await mkdir(join(repo, 'snapshots', COMMIT), { recursive: true });
    await writeFile(join(repo, 'blobs', blob), body);
    await symlink(join('..', '..', 'blobs', blob), join(repo, 'snapshots', COMMIT, name));
  }
  await mkdir(join(repo, 'refs'));
  await writeFile(join(repo, 'refs/main'), COMMIT);
  hub.hub.reset(); hub.cdn.reset();
  assert.equal(await greedy('tide-test/tiny', { cacheDir: cache }), await greedy(modelDir));
  assert.is(fileDownloads(), 0);
  assert.is(hub.hub.seen.length, 1, 'only the revision check');
  await rm(cache, { recursive: true });
});

test('HF_HUB_CACHE, else HF_HOME/hub, is the default cache', async () => {
  const home = await newCache();
  await withEnv({ HF_HOME: home }, () => greedy('tide-test/tiny'));
  assert.ok((await readdir(join(home, 'hub/models--tide-test--tiny/snapshots'))).includes(COMMIT));
  const hubCache = await newCache();
  await withEnv({ HF_HOME: home, HF_HUB_CACHE: hubCache }, () => greedy('tide-test/tiny'));
  assert.ok((await readdir(join(hubCache, 'models--tide-test--tiny/snapshots'))).includes(COMMIT));
  await rm(home, { recursive: true });
  await rm(hubCache, { recursive: true });
});

test('HF_TOKEN or token goes to the hub as a Bearer token, never to the CDN it redirects to', async () => {
  const cache = await newCache();
  hub.hub.reset(); hub.cdn.reset();
  await withEnv({ HF_TOKEN: 'hf_env' }, () => greedy('tide-test/tiny', { cacheDir: cache }));
  assert.ok(hub.hub.seen.length >= 3 && hub.hub.seen.every((s) => s.authorization === 'Bearer hf_env'), JSON.stringify(hub.hub.seen));
  assert.equal(hub.cdn.seen.map((s) => s.authorization), [undefined]);
  await rm(cache, { recursive: true });

  hub.hub.reset(); hub.cdn.reset();
  await withEnv({ HF_TOKEN: 'hf_env' }, () => greedy('tide-test/tiny', { cache: false, token: 'hf_option' }));
  assert.ok(hub.hub.seen.every((s) => s.authorization === 'Bearer hf_option'));
  assert.equal(hub.cdn.seen.map((s) => s.authorization), [undefined]);
});

test('a file whose bytes do not match the hub listing fails with nothing cached; a poisoned cache entry heals', async () => {
  const cache = await newCache();
  const weightsSha = sha256(MODEL['model.safetensors']);
  hub.tamper.set('model.safetensors', (res, body) => {
    const bad = Uint8Array.from(body);
    bad[bad.length - 1] ^= 1;
    res.writeHead(200, { 'content-length': bad.length }).end(bad);
  });
  try {
    await rejects(loadModel('tide-test/tiny', { cacheDir: cache }), SourceError, new RegExp(`model\\.safetensors: sha256 is [0-9a-f]{64}, the hub lists ${weightsSha}$`));
  } finally {
    hub.tamper.delete('model.safetensors');
  }
  assert.not.ok((await readdir(join(repoDir(cache), 'blobs'))).some((b) => b.startsWith(weightsSha)), 'no blob kept, no .part left');

  const want = await greedy('tide-test/tiny', { cacheDir: cache });
  await truncate(join(repoDir(cache), 'blobs', weightsSha), 100); // poisoned: a cut-off blob
  hub.cdn.reset();
  assert.equal(await greedy('tide-test/tiny', { cacheDir: cache }), want);
  assert.is(hub.cdn.seen.length, 1, 'downloaded again');
  assert.is((await readFile(join(repoDir(cache), 'blobs', weightsSha))).length, MODEL['model.safetensors'].length);
  await rm(cache, { recursive: true });
});

test('revisions are kept apart: refs/pr/1 and refs_pr_1 are different refs, as huggingface_hub writes them', async () => {
  const cache = await newCache();
  const pr = hub.push('tide-test/tiny', MODEL, 'refs/pr/1');
  const other = hub.push('tide-test/tiny', MODEL, 'refs_pr_1');
  await greedy('tide-test/tiny@refs/pr/1', { cacheDir: cache });
  await greedy('tide-test/tiny@refs_pr_1', { cacheDir: cache });
  assert.is(await readFile(join(repoDir(cache), 'refs/refs/pr/1'), 'utf8'), pr);
  assert.is(await readFile(join(repoDir(cache), 'refs/refs_pr_1'), 'utf8'), other);
  await rm(cache, { recursive: true });
});

test('a ModelCache (browsers, memory) keeps hub files by commit URL, and the ref for offline loads', async () => {
  const cache = memoryCache();
  const want = await greedy('tide-test/tiny', { cache });
  hub.hub.reset(); hub.cdn.reset();
  assert.equal(await greedy('tide-test/tiny', { cache, offline: true }), want);
  assert.is(hub.hub.seen.length + hub.cdn.seen.length, 0);
  assert.ok(await cache.get(`${hub.hub.url}/tide-test/tiny/resolve/${COMMIT}/model.safetensors`));
});

test('a bare org/name that is neither a directory nor on the hub says both; malformed ids are OptionErrors', async () => {
  await rejects(loadModel('tide-test/nope', { cache: false }), SourceError,
    /^tide-test\/nope: not a local directory, nor a model on the hub: .*\/api\/models\/tide-test\/nope\/revision\/main\?blobs=true: HTTP 401 Unauthorized RepoNotFound/);
  await rejects(loadModel('hf:tide-test/tiny@no-such-branch', { cache: false }), SourceError, /no such repository or revision/);
  for (const bad of ['hf:a--b/c', 'hf:a/b@x/../y', 'hf:a/b@']) await rejects(RemoteFiles.open(bad, { cache: false }), OptionError, /not a hub id/);
});

test('hubUrl sets the hub; files of a hub id are requested at the resolved commit', async () => {
  const files = await openModelFiles('tide-test/tiny', { cache: false, hubUrl: hub.hub.url });
  assert.is(files.label, `${hub.hub.url}/tide-test/tiny/resolve/${COMMIT}`);
  assert.is(await files.text('tokenizer.json'), undefined);
  await files.close?.();
});

test('the fake hub answers HEAD as the real one: X-Repo-Commit, ETag; for LFS a 302 to the CDN with X-Linked-Etag/Size', async () => {
  const head = (file: string) => fetch(`${hub.hub.url}/tide-test/tiny/resolve/main/${file}`, { method: 'HEAD', redirect: 'manual' });
  const config = await head('config.json');
  assert.equal([config.status, config.headers.get('x-repo-commit'), config.headers.get('etag'), config.headers.get('content-length')],
    [200, COMMIT, `"${gitBlobId(MODEL['config.json'])}"`, String(MODEL['config.json'].length)]);
  const weights = await head('model.safetensors');
  assert.equal([weights.status, weights.headers.get('x-repo-commit'), weights.headers.get('x-linked-etag'), weights.headers.get('x-linked-size')],
    [302, COMMIT, `"${sha256(MODEL['model.safetensors'])}"`, String(MODEL['model.safetensors'].length)]);
  assert.ok(weights.headers.get('location')!.startsWith(hub.cdn.url));
  assert.equal([(await head('nope.json')).headers.get('x-error-code'), (await head('nope.json')).status], ['EntryNotFound', 404]);
});

test('a hub whose API lists names only (a mirror): sizes and digests come from the resolve headers, and still catch bad bytes', async () => {
  hub.listsBlobs = false;
  const cache = await newCache();
  try {
    assert.equal(await greedy('tide-test/tiny', { cacheDir: cache }), await greedy(modelDir));
    assert.ok((await readdir(join(repoDir(cache), 'blobs'))).includes(sha256(MODEL['model.safetensors'])));
    hub.tamper.set('config.json', (res, body) => res.writeHead(200, { 'content-length': body.length, etag: `"${gitBlobId(body)}"` }).end(Uint8Array.from(body, (b, i) => (i === 0 ? b ^ 1 : b))));
    await rejects(loadModel('tide-test/tiny', { cache: false }), SourceError, new RegExp(`config\\.json: git-sha1 is [0-9a-f]{40}, the hub lists ${gitBlobId(MODEL['config.json'])}$`));
  } finally {
    hub.listsBlobs = true;
    hub.tamper.clear();
    await rm(cache, { recursive: true });
  }
});

test('the WebCrypto hasher (browsers) agrees with node:crypto', async () => {
  for (const algorithm of ['sha256', 'sha1'] as const) {
    const h = bufferedHasher(algorithm);
    h.update(MODEL['model.safetensors'].subarray(0, 100));
    h.update(MODEL['model.safetensors'].subarray(100));
    const { createHash } = await import('node:crypto');
    assert.is(await h.hex(), createHash(algorithm).update(MODEL['model.safetensors']).digest('hex'));
  }
});

test.run();

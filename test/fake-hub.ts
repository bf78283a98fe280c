// Local HTTP servers for the source tests (127.0.0.1 only): a plain file server whose every answer a test
// can replace, and a fake Hugging Face Hub that mirrors the real one's HTTP behaviour (as huggingface_hub's
// file_download.py and hf_api.py read it), with a second server on another port as its CDN. Plus
// self-made model files: safetensors bytes and a tiny llama.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { planModel } from '../src/runtime/plan.js';
import { rng } from './paths.js';

/** One request as a server saw it. */
export interface Seen { method: string; path: string; authorization?: string }

/** A server on 127.0.0.1 at a free port; `handle` answers, `seen` logs, `maxInFlight` counts overlap. */
export class TestServer {
  readonly seen: Seen[] = [];
  inFlight = 0;
  maxInFlight = 0;
  url = '';
  private server?: Server;

  constructor(private readonly handle: (req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      this.seen.push({ method: req.method!, path, authorization: req.headers.authorization });
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      res.on('close', () => this.inFlight--);
      void Promise.resolve(this.handle(req, res, path)).catch((e) => res.destroy(e));
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests whose path is `path`. */
  count(path: string): number { return this.seen.filter((s) => s.path === path).length; }

  reset(): void { this.seen.length = 0; this.maxInFlight = 0; }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((ok) => this.server?.close(ok));
  }
}

/** Serves `files` (path → bytes) with Content-Length; `override` may answer a path instead. */
export function fileServer(files: Map<string, Uint8Array>, override = new Map<string, (res: ServerResponse, body?: Uint8Array) => void>()): TestServer {
  return new TestServer((_req, res, path) => {
    const body = files.get(path);
    const o = override.get(path);
    if (o) return o(res, body);
    if (!body) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** git's blob id: sha1 of "blob SIZE\0" + bytes. */
export const gitBlobId = (b: Uint8Array) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const lfsPointer = (b: Uint8Array) => new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`);

/** A repository: branch and tag names → commits, commit → files. Weights (.safetensors) are LFS files. */
export interface Repo { refs: Map<string, string>; commits: Map<string, Map<string, Uint8Array>> }

/**
 * The hub, as huggingface.co answers: GET/HEAD /{id}/resolve/{rev}/{file} with X-Repo-Commit and ETag
 * (a git blob id) for git files, or a 302 to the CDN with X-Linked-Etag (sha256) and X-Linked-Size for LFS
 * files; 401 RepoNotFound, 404 RevisionNotFound / EntryNotFound; GET /api/models/{id}/revision/{rev}
 * (blobs=true adds each sibling's size, blobId and lfs). `tamper` may replace a body the CDN sends.
 */
export class FakeHub {
  readonly repos = new Map<string, Repo>();
  readonly cdn: TestServer;
  readonly hub: TestServer;
  /** sha256 → bytes the CDN serves. */
  private readonly blobs = new Map<string, Uint8Array>();
  /** false: the API lists names only, as a mirror may; clients then read sizes and digests from the resolve headers. */
  listsBlobs = true;
  /** Replace what the CDN or hub sends for a file (by name): wrong bytes, a bomb, a stall. */
  readonly tamper = new Map<string, (res: ServerResponse, body: Uint8Array) => void>();
  private commitCount = 0;

  constructor() {
    this.cdn = new TestServer((req, res, path) => {
      const sha = /^\/lfs\/([0-9a-f]{64})$/.exec(path)?.[1];
      const body = sha && this.blobs.get(sha);
      if (!body) { res.writeHead(404).end(); return; }
      const name = new URL(req.url!, 'http://x').searchParams.get('name') ?? '';
      const t = this.tamper.get(name);
      if (t && req.method === 'GET') return t(res, body);
      res.writeHead(200, { 'content-length': body.length, etag: `"${sha}"` });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    this.hub = new TestServer((req, res, path) => this.answer(req, res, path));
  }

  async start(): Promise<this> { await this.cdn.start(); await this.hub.start(); return this; }
  async stop(): Promise<void> { await this.hub.stop(); await this.cdn.stop(); }

  /** Commit `files` to `branch` of `id` (created when new); returns the commit id. */
  push(id: string, files: Record<string, Uint8Array>, branch = 'main'): string {
    const repo = this.repos.get(id) ?? { refs: new Map(), commits: new Map() };
    this.repos.set(id, repo);
    const commit = createHash('sha1').update(`${id} ${++this.commitCount}`).digest('hex');
    const tree = new Map(Object.entries(files));
    repo.commits.set(commit, tree);
    repo.refs.set(branch, commit);
    for (const [name, body] of tree) if (isLfs(name)) this.blobs.set(sha256(body), body);
    return commit;
  }

  private resolve(id: string, rev: string): { repo?: Repo; commit?: string } {
    const repo = this.repos.get(id);
    const commit = repo && (repo.commits.has(rev) ? rev : repo.refs.get(rev));
    return { repo, commit };
  }

  private answer(req: IncomingMessage, res: ServerResponse, path: string): void {
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) return this.revision(req, res, api[1], decodeURIComponent(api[2]));
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) { res.writeHead(404).end(); return; }
    const { repo, commit } = this.resolve(m[1], decodeURIComponent(m[2]));
    if (!repo) return notFound(res, 401, 'RepoNotFound', 'Repository not found');
    if (!commit) return notFound(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const name = m[3].split('/').map(decodeURIComponent).join('/');
    const body = repo.commits.get(commit)!.get(name);
    if (!body) { res.setHeader('x-repo-commit', commit); return notFound(res, 404, 'EntryNotFound', 'Entry not found'); }
    const head = req.method === 'HEAD';
    if (isLfs(name)) {
      const sha = sha256(body);
      res.writeHead(302, {
        location: `${this.cdn.url}/lfs/${sha}?name=${encodeURIComponent(name)}`, 'x-repo-commit': commit,
        'x-linked-etag': `"${sha}"`, 'x-linked-size': body.length, etag: `"${gitBlobId(lfsPointer(body))}"`, 'content-length': 0,
      }).end();
      return;
    }
    const t = this.tamper.get(name);
    if (t && !head) return t(res, body);
    res.writeHead(200, { 'content-length': body.length, 'x-repo-commit': commit, etag: `"${gitBlobId(body)}"` });
    res.end(head ? undefined : body);
  }

  private revision(req: IncomingMessage, res: ServerResponse, id: string, rev: string): void {
    const { repo, commit } = this.resolve(id, rev);
    if (!repo) return notFound(res, 401, 'RepoNotFound', 'Repository not found');
    if (!commit) return notFound(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const blobs = this.listsBlobs && new URL(req.url!, 'http://x').searchParams.get('blobs') === 'true';
    const siblings = [...repo.commits.get(commit)!].map(([rfilename, body]) => !blobs ? { rfilename } : isLfs(rfilename)
      ? { rfilename, blobId: gitBlobId(lfsPointer(body)), size: body.length, lfs: { sha256: sha256(body), size: body.length, pointerSize: lfsPointer(body).length } }
      : { rfilename, blobId: gitBlobId(body), size: body.length });
    const json = JSON.stringify({ _id: 'x', id, modelId: id, sha: commit, private: false, siblings });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
  }
}

const isLfs = (name: string) => name.endsWith('.safetensors');

function notFound(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'x-error-code': code, 'x-error-message': message }).end(JSON.stringify({ error: message }));
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A safetensors file of F32 tensors. */
export function safetensors(tensors: Record<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let pos = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [pos, pos + t.data.byteLength] };
    pos += t.data.byteLength;
  }
  const json = utf8(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + pos);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) { out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at); at += t.data.byteLength; }
  return out;
}

/** A tiny llama (1 layer, dim 32, vocab 64) with seeded random weights: config.json and model.safetensors. */
export function tinyLlama(seed = 1): Record<string, Uint8Array> {
  const config = {
    model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-5, tie_word_embeddings: false,
  };
  const rand = rng(seed);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const { hf, shape } of planModel(config, 'config.json').table) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (rand() - 0.5) * 0.5;
    tensors[hf] = { shape, data };
  }
  return { 'config.json': utf8(JSON.stringify(config)), 'model.safetensors': safetensors(tensors) };
}

/** Await `p` and check it rejects with a `type` error whose message matches. */
export async function rejects(p: Promise<unknown>, type: Function, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type, String(e));
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`resolved; expected ${message}`);
}

/** Every file under `dir`, relative. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...await listFiles(join(dir, e.name), `${prefix}${e.name}/`));
    else out.push(prefix + e.name);
  }
  return out;
}

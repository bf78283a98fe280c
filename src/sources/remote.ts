// Model files from a base URL or a Hugging Face hub id, downloaded once into a cache (whole files, not
// range requests: a cached file is then complete and checkable) with progress, at most four at a time.
import type { FileSource, Limit, SourceOptions } from './options.js';
import { defaultCache, memoryCache, type CacheWriter, type ModelCache } from './cache.js';
import { openUrl, save, type Expect, type Opened, type RequestOptions } from './download.js';
import { env, hubEndpoint, parseHubRef, type HubFile } from './hub.js';
import { openHub } from './hub-source.js';
import { fileUrl } from './names.js';
import { parseIndex, readHeader } from '../formats/safetensors.js';
import { OptionError, SafetensorsError, SourceError } from '../errors.js';
import type { ByteReader, ModelFiles } from './sources.js';

export { SOURCE_OPTIONS, type DownloadProgress, type FileSource, type Limit, type SourceOptions } from './options.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_WEIGHT_BYTES = 64 * 2 ** 30;
export const DEFAULT_MAX_JSON_BYTES = 64 * 2 ** 20;
/** Downloads of one load running at once. */
export const MAX_PARALLEL = 4;
const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
/** Files a model may have besides its weights; only config.json is required. */
const EXTRAS = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

/** Whether `ref` names a remote model (http(s) URL or `hf:` id) rather than a local directory. */
export const isRemote = (ref: string) => /^(https?:\/\/|hf:)/i.test(ref);
const isUrl = (ref: string) => /^https?:\/\//i.test(ref);

/** The base URL (ending in "/") for an http(s) URL or a hub id (`hf:org/name[@revision]`). */
export function modelBaseUrl(ref: string, hubUrl?: string): string {
  if (!isUrl(ref)) {
    const r = parseHubRef(ref);
    return `${hubEndpoint(hubUrl)}/${r.id}/resolve/${encodeURIComponent(r.revision)}/`;
  }
  const u = new URL(ref);
  u.search = '';
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/** ModelFiles over a URL or hub id; `prefetch` downloads the standard files together (one overall total). */
export class RemoteFiles implements ModelFiles {
  readonly label: string;
  private readonly pending = new Map<string, Promise<ByteReader | 'missing'>>();
  /** Files answered 404 in this load: not asked again by it, and not remembered after it. */
  private readonly missing = new Set<string>();
  private readonly progress = new Map<string, { loaded: number; total: number }>();
  private loadedBytes = 0;
  private totalBytes = 0;

  private constructor(private readonly src: FileSource, private readonly o: SourceOptions, private readonly offline: boolean,
    private readonly request: (signal: AbortSignal) => RequestOptions) {
    this.label = src.label;
  }

  static async open(ref: string, o: SourceOptions = {}): Promise<RemoteFiles> {
    for (const k of ['maxWeightBytes', 'maxJsonBytes', 'timeoutMs'] as const) {
      const v = o[k];
      if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new OptionError(`${k} ${v}: expected a positive integer`);
    }
    if (isUrl(ref)) {
      const base = modelBaseUrl(ref);
      const cache = o.cache === false ? memoryCache() : o.cache ?? await defaultCache(o.cacheDir);
      const request = requester(o, new URL(base).origin);
      return new RemoteFiles(urlSource(base, cache), o, o.offline === true, request);
    }
    const request = requester(o, new URL(hubEndpoint(o.hubUrl)).origin);
    const { src, offline } = await openHub(ref, o, request(new AbortController().signal), limitFor(o, 'revision.json'));
    return new RemoteFiles(src, o, offline, request);
  }

  url(name: string): string { return this.src.url(name); }

  async text(name: string): Promise<string | undefined> {
    const r = await this.take(name, false);
    if (r === 'missing') return undefined;
    try {
      const bytes = new Uint8Array(r.size);
      await r.read(0, bytes);
      return new TextDecoder().decode(bytes);
    } finally {
      await r.close();
    }
  }

  async open(name: string): Promise<ByteReader> {
    const r = await this.take(name, true);
    if (r === 'missing') throw new SourceError(this.absent(name));
    return r;
  }

  /**
   * Download config, tokenizer and weights (shards named by the index, each checked to be a plain file
   * name before any is requested), MAX_PARALLEL at a time; fails if a required one is missing.
   */
  async prefetch(): Promise<void> {
    const index = await this.text(INDEX);
    const weights = new Set(index === undefined ? [SINGLE] : parseIndex(`${this.label.replace(/\/+$/, '')}/${INDEX}`, index).values());
    const names = [...EXTRAS, ...weights];
    const ctrl = new AbortController();
    const slot = limiter(MAX_PARALLEL);
    const jobs = names.map((n) => slot(async () => {
      if (ctrl.signal.aborted) throw ctrl.signal.reason; // a queued file after another failed: not even the cache
      return this.fetchFile(n, ctrl.signal, n === 'config.json' || weights.has(n));
    }));
    jobs.forEach((j, i) => this.pending.set(names[i], j));
    const settled = await Promise.allSettled(jobs.map((j) => j.catch((e) => { ctrl.abort(e); throw e; })));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const s of settled) if (s.status === 'fulfilled' && s.value !== 'missing') await s.value.close();
      for (const n of names) this.pending.delete(n);
      throw ctrl.signal.reason ?? failed.reason;
    }
  }

  /** Close files that were prefetched but never asked for. */
  async close(): Promise<void> {
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const r of await Promise.allSettled(left)) if (r.status === 'fulfilled' && r.value !== 'missing') await r.value.close();
  }

  /** The prefetched result (handed over once), else the cache, else a download. */
  private take(name: string, required: boolean): Promise<ByteReader | 'missing'> {
    const p = this.pending.get(name);
    if (p) { this.pending.delete(name); return p; }
    return this.fetchFile(name, new AbortController().signal, required);
  }

  private async fetchFile(name: string, signal: AbortSignal, required: boolean): Promise<ByteReader | 'missing'> {
    const url = this.src.url(name);
    const listed = this.src.listed(name);
    if (listed === 'missing' || this.missing.has(name)) return this.miss(name, required);
    const hit = await this.fromCache(name, listed?.size);
    if (hit) return hit;
    if (this.offline) {
      if (!required) return 'missing';
      throw new SourceError(this.src.notCached(name));
    }
    const opened = await openUrl(url, this.request(signal));
    if (opened === 'missing') {
      this.missing.add(name);
      return this.miss(name, required);
    }
    return this.download(name, opened);
  }

  /** A cached file that passes its checks; one that fails is evicted (then downloaded again, unless offline). */
  private async fromCache(name: string, size: number | undefined): Promise<ByteReader | undefined> {
    const hit = await this.src.cached(name);
    if (!hit) return undefined;
    const problem = await cacheProblem(name, hit, size);
    if (problem === undefined) {
      this.report(name, hit.size, hit.size, true);
      return hit;
    }
    await hit.close();
    await this.src.evict(name);
    if (this.offline) throw new SourceError(`${problem}; removed from the cache, and offline is set`);
    return undefined;
  }

  private async download(name: string, opened: Opened): Promise<ByteReader> {
    const { writer, expect } = await this.src.receive(name, opened.first, limitFor(this.o, name)).catch(async (e) => {
      opened.timer.stop();
      await opened.res.body?.cancel().catch(() => undefined);
      throw e;
    });
    const total = expect.bytes ?? opened.length;
    this.report(name, 0, total, false);
    return save(opened, writer, expect, (loaded) => this.report(name, loaded, total, false));
  }

  private miss(name: string, required: boolean): 'missing' {
    if (required) throw new SourceError(this.absent(name));
    return 'missing';
  }

  private absent(name: string): string {
    return `${this.url(name)}: ${this.src.listed(name) === 'missing' ? 'no such file in the repository' : 'HTTP 404 Not Found'}`;
  }

  private report(file: string, loaded: number, total: number, cached: boolean): void {
    const counted = Number.isNaN(total) ? loaded : total;
    const prev = this.progress.get(file) ?? { loaded: 0, total: 0 };
    this.loadedBytes += loaded - prev.loaded;
    this.totalBytes += counted - prev.total;
    this.progress.set(file, { loaded, total: counted });
    this.o.onDownloadProgress?.({ file, fileLoadedBytes: loaded, fileTotalBytes: total, loadedBytes: this.loadedBytes, totalBytes: this.totalBytes, cached });
  }
}

/** Files under a base URL, kept in a ModelCache keyed by URL. */
function urlSource(base: string, cache: ModelCache): FileSource {
  const url = (name: string) => fileUrl(base, name);
  return {
    label: base,
    url,
    listed: () => undefined,
    cached: (name) => cache.get(url(name)),
    evict: (name) => cache.evict(url(name)),
    receive: async (name, _first, limit) => ({ writer: await cache.begin(url(name)), expect: { ...limit } }),
    notCached: (name) => `${url(name)}: not in the cache (${cache.label}) and offline is set`,
  };
}

/** Why a cached file cannot be used: a size other than the hub lists, or a broken safetensors header. */
async function cacheProblem(name: string, r: ByteReader, size: number | undefined): Promise<string | undefined> {
  if (size !== undefined && r.size !== size) return `${r.label}: cached copy is ${r.size} bytes, the hub lists ${size}`;
  if (!name.endsWith('.safetensors')) return undefined;
  try {
    await readHeader(r);
    return undefined;
  } catch (e) {
    if (e instanceof SafetensorsError) return e.message;
    throw e;
  }
}

export function limitFor(o: SourceOptions, name: string): Limit {
  return name.endsWith('.safetensors')
    ? { maxBytes: o.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES, maxOption: 'maxWeightBytes' }
    : { maxBytes: o.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES, maxOption: 'maxJsonBytes' };
}

/**
 * Request options with credentials bound to origins: `headers` to the model's own origin, the token
 * (option, else $HF_TOKEN unless headers carry an Authorization) to the hub's. Any other origin, such
 * as the CDN a redirect leads to, gets neither.
 */
function requester(o: SourceOptions, origin: string): (signal: AbortSignal) => RequestOptions {
  const byOrigin = new Map<string, Headers>();
  if (o.headers) byOrigin.set(origin, new Headers(o.headers));
  const hub = new URL(hubEndpoint(o.hubUrl)).origin;
  const token = o.token ?? (byOrigin.get(hub)?.has('authorization') ? undefined : env('HF_TOKEN') || undefined);
  if (token) {
    const h = new Headers(byOrigin.get(hub));
    h.set('authorization', `Bearer ${token}`);
    byOrigin.set(hub, h);
  }
  const f = o.fetch ?? globalThis.fetch.bind(globalThis);
  return (signal) => ({ fetch: f, headersFor: (u) => byOrigin.get(u.origin), timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal });
}

/** Runs at most `n` of the functions given to it at once, in the order given. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active < n) active++;
    else await new Promise<void>((ok) => queue.push(ok)); // a finishing job hands its slot over
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next(); else active--;
    }
  };
}

// Model files from a base URL or a Hugging Face hub id, downloaded once into a cache (whole files,
// not range requests: a cached file is then complete and verifiable by its length) with progress.
import { optionKeys } from '../options.js';
import { defaultCache, memoryCache, type ModelCache } from './cache.js';
import { openUrl, save, type Opened } from './download.js';
import { OptionError, SourceError } from '../errors.js';
import type { ByteReader, ModelFiles } from './sources.js';

export interface SourceOptions {
  /** Where downloads are kept: a ModelCache, or false for memory only. Default: ~/.cache/tide (Node), Cache API (browsers). */
  cache?: ModelCache | false;
  /** Node: the default cache's directory (default $TIDE_CACHE, else ~/.cache/tide). */
  cacheDir?: string;
  /** Use the cache only; a file that is not there is an error, never a request. */
  offline?: boolean;
  /** Milliseconds without receiving any bytes before a request fails (default 30000). */
  timeoutMs?: number;
  /** The hub for `hf:` ids (default $HF_ENDPOINT, else https://huggingface.co). */
  hubUrl?: string;
  /** Sent with every request, e.g. `{ Authorization: 'Bearer hf_…' }` for gated models. */
  headers?: Record<string, string>;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Called as file bytes arrive or are found in the cache. */
  onDownloadProgress?: (p: DownloadProgress) => void;
}

export const SOURCE_OPTIONS = optionKeys<SourceOptions>()('cache', 'cacheDir', 'offline', 'timeoutMs', 'hubUrl', 'headers', 'fetch', 'onDownloadProgress');

/** One file's progress and the sum over every file of this load known so far. */
export interface DownloadProgress {
  file: string;
  fileLoadedBytes: number;
  /** NaN when the server sent no Content-Length. */
  fileTotalBytes: number;
  loadedBytes: number;
  totalBytes: number;
  /** The file was already in the cache. */
  cached: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const HUB = 'https://huggingface.co';
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const INDEX = 'model.safetensors.index.json';
/** Files a model may have besides its weights; only config.json is required. */
const EXTRAS = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

/** Whether `ref` names a remote model (http(s) URL or `hf:` id) rather than a local directory. */
export const isRemote = (ref: string) => /^(https?:\/\/|hf:)/i.test(ref);

/** The base URL (ending in "/") for an http(s) URL or `hf:org/name[@revision]`. */
export function modelBaseUrl(ref: string, hubUrl?: string): string {
  if (!ref.startsWith('hf:')) return ref.endsWith('/') ? ref : `${ref}/`;
  const [id, rev = 'main', ...extra] = ref.slice(3).split('@');
  if (!HUB_ID.test(id) || extra.length || rev === '') {
    throw new OptionError(`${ref}: not a hub id; expected hf:org/name or hf:org/name@revision`);
  }
  const env = typeof process !== 'undefined' ? process.env?.HF_ENDPOINT : undefined;
  const hub = (hubUrl ?? env ?? HUB).replace(/\/+$/, '');
  return `${hub}/${id}/resolve/${encodeURIComponent(rev)}/`;
}

/** ModelFiles over a URL or hub id; `prefetch` downloads the standard files together (one overall total). */
export class RemoteFiles implements ModelFiles {
  readonly label: string;
  private readonly base: string;
  private readonly pending = new Map<string, Promise<ByteReader | 'missing'>>();
  private readonly progress = new Map<string, { loaded: number; total: number }>();

  private constructor(readonly ref: string, private readonly cache: ModelCache, private readonly o: SourceOptions) {
    this.base = modelBaseUrl(ref, o.hubUrl);
    this.label = ref.startsWith('hf:') ? `${ref} (${this.base})` : this.base;
  }

  static async open(ref: string, o: SourceOptions = {}): Promise<RemoteFiles> {
    const cache = o.cache === false ? memoryCache() : o.cache ?? await defaultCache(o.cacheDir);
    return new RemoteFiles(ref, cache, o);
  }

  url(name: string): string { return new URL(name, this.base).href; }

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
    if (r === 'missing') throw new SourceError(`${this.url(name)}: HTTP 404 Not Found`);
    return r;
  }

  /** Download config, tokenizer and weights (shards named by the index) at once; fails if a required one is missing. */
  async prefetch(): Promise<void> {
    const index = await this.text(INDEX);
    const weights = index === undefined ? ['model.safetensors'] : shardNames(index);
    const names = [...EXTRAS, ...weights];
    const ctrl = new AbortController();
    const jobs = names.map((n) => this.fetchFile(n, ctrl.signal, n === 'config.json' || weights.includes(n)));
    jobs.forEach((j, i) => this.pending.set(names[i], j));
    const settled = await Promise.allSettled(jobs.map((j) => j.catch((e) => { ctrl.abort(e); throw e; })));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const [i, s] of settled.entries()) if (s.status === 'fulfilled' && s.value !== 'missing') await s.value.close();
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
    const url = this.url(name);
    const hit = await this.cache.get(url);
    if (hit === 'missing') return this.missing(url, required);
    if (hit) {
      this.report(name, hit.size, hit.size, true);
      return hit;
    }
    if (this.o.offline) {
      if (!required) return 'missing';
      throw new SourceError(`${url}: not in the cache (${this.cache.label}) and offline is set`);
    }
    const opened = await openUrl(url, {
      fetch: this.o.fetch ?? globalThis.fetch.bind(globalThis), headers: this.o.headers,
      timeoutMs: this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal,
    });
    if (opened === 'missing') {
      // Only optional files are remembered as missing (so offline loads know them); a required one
      // may appear later, and a remembered 404 would then outlive the fix.
      if (!required) await this.cache.putMissing(url);
      return this.missing(url, required);
    }
    return this.download(name, opened);
  }

  private async download(name: string, opened: Opened): Promise<ByteReader> {
    this.report(name, 0, opened.totalBytes, false);
    const writer = await this.cache.begin(opened.url).catch(async (e) => {
      opened.timer.stop();
      await opened.res.body?.cancel().catch(() => undefined);
      throw e;
    });
    return save(opened, writer, (loaded) => this.report(name, loaded, opened.totalBytes, false));
  }

  private missing(url: string, required: boolean): 'missing' {
    if (required) throw new SourceError(`${url}: HTTP 404 Not Found`);
    return 'missing';
  }

  private report(file: string, loaded: number, total: number, cached: boolean): void {
    this.progress.set(file, { loaded, total });
    if (!this.o.onDownloadProgress) return;
    let loadedBytes = 0, totalBytes = 0;
    for (const p of this.progress.values()) { loadedBytes += p.loaded; totalBytes += Number.isNaN(p.total) ? p.loaded : p.total; }
    this.o.onDownloadProgress({ file, fileLoadedBytes: loaded, fileTotalBytes: total, loadedBytes, totalBytes, cached });
  }
}

/** Shard file names from model.safetensors.index.json; none when it is not valid (openCheckpoint reports that). */
function shardNames(indexText: string): string[] {
  try {
    const map = (JSON.parse(indexText) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
    return [...new Set(Object.values(map).filter((v): v is string => typeof v === 'string'))];
  } catch {
    return [];
  }
}

// Where downloaded model files are kept: the interface the URL source writes through, plus the
// in-memory and browser (Cache API) stores. The Node directory store lives in src/node/cache.ts.
import { bytesReader, type ByteReader } from './sources.js';
import { nodeFiles } from '../node-parts.js';

/** A file being written into a cache. Nothing is visible to `get` until `commit` resolves. */
export interface CacheWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Make the file visible atomically and return a reader over it. */
  commit(): Promise<ByteReader>;
  /** Drop everything written; leaves no trace in the cache. */
  abort(): Promise<void>;
}

/**
 * A store of downloaded files keyed by URL. A file is either absent or complete; a file that fails a
 * check when read back (size, safetensors header) is evicted and downloaded again.
 */
export interface ModelCache {
  /** Where the files live, for messages (a directory, "Cache API: tide", "memory"). */
  readonly label: string;
  /** A complete file, or undefined when none is stored. */
  get(url: string): Promise<ByteReader | undefined>;
  begin(url: string): Promise<CacheWriter>;
  /** Forget the file (it failed a check); nothing happens when there is none. */
  evict(url: string): Promise<void>;
}

/** Keeps files in JS memory for the life of the object (no persistence; edge runtimes, `cache: false`). */
/** A writer that gathers a download in memory and hands the whole file to `keep` on commit. */
function buffered(url: string, keep: (bytes: Uint8Array<ArrayBuffer>) => Promise<void>): CacheWriter {
  const chunks = new Chunks();
  return {
    write: async (c) => chunks.push(c),
    async commit() {
      const bytes = chunks.join();
      await keep(bytes);
      return bytesReader(bytes, url);
    },
    abort: async () => chunks.clear(),
  };
}

export function memoryCache(): ModelCache {
  const files = new Map<string, Uint8Array>();
  return {
    label: 'memory',
    async get(url) {
      const f = files.get(url);
      return f && bytesReader(f, url);
    },
    async evict(url) { files.delete(url); },
    async begin(url) { return buffered(url, async (bytes) => { files.set(url, bytes); }); },
  };
}

/**
 * Browser store on the Cache API (`caches.open(name)`). A file is put only once complete, and
 * Cache.put replaces an entry atomically, so a cut-off download never shows up as a cached file.
 */
export function browserCache(name = 'tide'): ModelCache {
  const open = () => (globalThis as { caches?: CacheStorage }).caches!.open(name);
  return {
    label: `Cache API: ${name}`,
    async get(url) {
      const res = await (await open()).match(url);
      return res && bytesReader(new Uint8Array(await res.arrayBuffer()), url);
    },
    async evict(url) { await (await open()).delete(url); },
    async begin(url) {
      return buffered(url, async (bytes) => {
        await (await open()).put(url, new Response(bytes, { headers: { 'content-length': String(bytes.length) } }));
      });
    },
  };
}

/**
 * The store `loadModel` uses for base URLs when none is given: a directory under ~/.cache/tide in Node, Deno and Bun
 * (see src/node/cache.ts), the Cache API in browsers, memory elsewhere (Workers bundle their weights).
 */
export async function defaultCache(cacheDir?: string): Promise<ModelCache> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const node = await nodeFiles<{ fileCache(dir: string): ModelCache; defaultCacheDir(): string }>();
    return node.fileCache(cacheDir ?? node.defaultCacheDir());
  }
  const g = globalThis as { caches?: unknown; document?: unknown; WorkerGlobalScope?: unknown };
  const browser = g.document !== undefined || typeof g.WorkerGlobalScope === 'function'; // a page or a Web Worker
  return browser && typeof g.caches === 'object' ? browserCache() : memoryCache();
}

/** Chunks of one download, joined once at the end. */
class Chunks {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  push(c: Uint8Array) { this.parts.push(c); this.bytes += c.length; }
  clear() { this.parts = []; this.bytes = 0; }
  join(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    this.parts = [];
    return out;
  }
}

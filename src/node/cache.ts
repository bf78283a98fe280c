// The Node (and Deno/Bun) model cache: one file per URL under a directory, written to a temporary
// name and renamed into place, so a download cut off at any point never leaves a loadable file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CacheWriter, ModelCache } from '../sources/cache.js';
import { SourceError } from '../errors.js';
import { fileReader } from './dir-source.js';

/** $TIDE_CACHE, else ~/.cache/tide (XDG_CACHE_HOME respected). */
export function defaultCacheDir(): string {
  return process.env.TIDE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tide');
}

/** Temporary files end with this; they are never read, and a crashed process's leftovers are harmless. */
export const PARTIAL_SUFFIX = '.part';
const MISSING_SUFFIX = '.missing';

/** Files stored as DIR/host[_port]/path, e.g. ~/.cache/tide/huggingface.co/org/name/resolve/main/config.json. */
export function fileCache(dir: string): ModelCache {
  return {
    label: dir,
    async get(url) {
      const path = cachePath(dir, url);
      if (await isFile(path)) return fileReader(path);
      return (await isFile(path + MISSING_SUFFIX)) ? 'missing' : undefined;
    },
    async putMissing(url) {
      const path = cachePath(dir, url);
      await mkdir(dirname(path), { recursive: true });
      const tmp = tempName(path);
      await writeFile(tmp, '');
      await rename(tmp, path + MISSING_SUFFIX);
    },
    begin: (url) => beginFile(cachePath(dir, url)),
  };
}

async function beginFile(path: string): Promise<CacheWriter> {
  await mkdir(dirname(path), { recursive: true }).catch((e) => { throw new SourceError(`${dirname(path)}: cannot create cache directory: ${e.message}`); });
  const tmp = tempName(path);
  const fh = await open(tmp, 'wx').catch((e) => { throw new SourceError(`${tmp}: cannot write to the cache: ${e.message}`); });
  let closed = false;
  const close = async () => { if (!closed) { closed = true; await fh.close(); } };
  return {
    async write(chunk) {
      for (let done = 0; done < chunk.length;) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
    },
    async commit() {
      await fh.datasync();
      await close();
      await rename(tmp, path);
      await rm(path + MISSING_SUFFIX, { force: true });
      return fileReader(path);
    },
    async abort() {
      await close().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}

/** The file for `url`: host and path segments, each made safe as one path component. */
export function cachePath(dir: string, url: string): string {
  const u = new URL(url);
  const parts = [u.host, ...u.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent)];
  if (u.search) parts[parts.length - 1] += u.search;
  return join(dir, ...parts.map(safeComponent));
}

// Keeps names readable but never lets one climb out of the cache ("..") or nest (a "/" after decoding).
function safeComponent(p: string): string {
  const s = p.replace(/[\0/\\:*?"<>|]/g, '_');
  return s === '.' || s === '..' ? `_${s}` : s;
}

const tempName = (path: string) => `${path}.${process.pid}-${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

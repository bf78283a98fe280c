// The Node (and Deno/Bun) model cache for base URLs: one file per URL under a directory, written to a
// temporary name and renamed into place, so a download cut off at any point never leaves a loadable file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CacheWriter, ModelCache } from '../sources/cache.js';
import { SourceError } from '../errors.js';
import { fileReader } from './dir-source.js';
import { trackTemp, untrackTemp } from './temp-files.js';

/** $TIDE_CACHE, else ~/.cache/tide (XDG_CACHE_HOME respected). */
export function defaultCacheDir(): string {
  return process.env.TIDE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tide');
}

/** Temporary files end with this; they are never read, and removed on failure, abort and process exit. */
export const PARTIAL_SUFFIX = '.part';

/** Files stored as DIR/SCHEME_HOST_PORT/PATH, e.g. ~/.cache/tide/https_example.com_443/models/x/config.json. */
export function fileCache(dir: string): ModelCache {
  return {
    label: dir,
    async get(url) {
      const path = cachePath(dir, url);
      return (await isFile(path)) ? fileReader(path) : undefined;
    },
    begin: (url) => beginFile(cachePath(dir, url)),
    evict: (url) => rm(cachePath(dir, url), { force: true }),
  };
}

/**
 * A writer into a temporary file beside `path`, renamed to `path` on commit; `place` then puts it where it
 * is read from (the hub cache links a snapshot to the blob) and returns that path.
 */
export async function beginFile(path: string, place: () => Promise<string> = async () => path): Promise<CacheWriter> {
  await mkdir(dirname(path), { recursive: true }).catch((e) => { throw new SourceError(`${dirname(path)}: cannot create cache directory: ${e.message}`); });
  const tmp = tempName(path);
  trackTemp(tmp); // before the file exists, so that no signal can find it there untracked
  const fh = await open(tmp, 'wx').catch((e) => {
    untrackTemp(tmp);
    throw new SourceError(`${tmp}: cannot write to the cache: ${e.message}`);
  });
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
      untrackTemp(tmp);
      return fileReader(await place());
    },
    async abort() {
      await close().catch(() => undefined);
      await rm(tmp, { force: true });
      untrackTemp(tmp);
    },
  };
}

/**
 * The file for `url`: SCHEME_HOST_PORT, then each decoded path segment percent-encoded again, so that
 * different URLs never share a file (http and https, `refs/pr/1` and `refs_pr_1`, `a%2Fb` and `a/b`)
 * and no segment can climb out of the cache or name a device.
 */
export function cachePath(dir: string, url: string): string {
  const u = new URL(url);
  if (u.search || u.hash) throw new SourceError(`${url}: a query or fragment cannot name a cached file`);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const parts = u.pathname.split('/').filter((p) => p !== '').map((p) => decodeSegment(url, p));
  return join(dir, `${u.protocol.slice(0, -1)}_${encodeName(u.hostname)}_${port}`, ...parts.map(encodeName));
}

function decodeSegment(url: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SourceError(`${url}: malformed percent-encoding in ${JSON.stringify(segment)}`);
  }
}

/** Percent-encoding, plus `*` (not allowed on Windows) and the names `.` and `..`. */
const encodeName = (s: string) => (s === '.' || s === '..' ? s.replace(/\./g, '%2E') : encodeURIComponent(s).replace(/\*/g, '%2A'));

const tempName = (path: string) => `${path}.${process.pid}-${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;

export const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

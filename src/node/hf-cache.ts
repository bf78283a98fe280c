// The standard Hugging Face cache, read and written as huggingface_hub does, so files downloaded by
// Python tools are reused and ours are theirs: HUB_CACHE/models--org--name/ holds blobs/<etag> (an LFS
// file's sha256 or a git blob id), snapshots/<commit>/<file> (a relative symlink to the blob, or a copy
// where symlinks fail) and refs/<revision> (the commit a branch or tag last resolved to).
import { copyFile, mkdir, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HubStore } from '../sources/hub.js';
import { beginFile, isFile } from './cache.js';
import { fileReader } from './dir-source.js';

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub ($XDG_CACHE_HOME respected), as huggingface_hub. */
export function defaultHubCacheDir(): string {
  const e = process.env;
  return e.HF_HUB_CACHE || join(e.HF_HOME || join(e.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'), 'hub');
}

/** The store for model `id` (`org/name`) under the hub cache directory `root`. */
export function hfCache(root: string, id: string): HubStore {
  const repo = join(root, `models--${id.split('/').join('--')}`);
  const blob = (etag: string) => join(repo, 'blobs', etag);
  const snapshot = (commit: string, file: string) => join(repo, 'snapshots', commit, ...file.split('/'));
  const ref = (rev: string) => join(repo, 'refs', ...rev.split('/'));
  return {
    label: repo,
    where: snapshot,
    readRef: (rev) => readFile(ref(rev), 'utf8').catch(() => undefined),
    async writeRef(rev, commit) {
      const path = ref(rev);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
      await writeFile(tmp, commit);
      await rename(tmp, path);
    },
    async get(commit, file, etag) {
      const path = snapshot(commit, file);
      if (await isFile(path)) return fileReader(path);
      if (etag === undefined || !(await isFile(blob(etag)))) return undefined;
      await link(blob(etag), path);
      return fileReader(path);
    },
    begin: (commit, file, etag) => beginFile(blob(etag), async () => {
      const path = snapshot(commit, file);
      await link(blob(etag), path);
      return path;
    }),
    async evict(commit, file) {
      const path = snapshot(commit, file);
      const [target, blobs] = await Promise.all([realpath(path), realpath(join(repo, 'blobs'))].map((p) => p.catch(() => '')));
      await rm(path, { force: true });
      if (blobs && target.startsWith(blobs + sep)) await rm(target, { force: true }); // the bad blob, not a file elsewhere
    },
  };
}

/** snapshots/<commit>/<file> → ../../blobs/<etag> (relative, as huggingface_hub writes it); a copy where symlinks fail. */
async function link(blobPath: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  await symlink(relative(dirname(path), blobPath), path).catch((e) => {
    if (e.code !== 'EEXIST') return copyFile(blobPath, path); // EEXIST: another process linked it just now
  });
}

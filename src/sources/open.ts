// A model named by a string → its files: a base URL or hub id through RemoteFiles and the cache, else a
// local directory (Node). Shared by loadModel and loadEmbedder.
import type { ModelFiles } from './sources.js';
import { isRemote, RemoteFiles, type SourceOptions } from './remote.js';
import { isBareHubId } from './hub.js';
import { SourceError } from '../errors.js';
import { isNode, nodeFiles } from '../node-parts.js';

/**
 * The files of a model named by a string, for callers that wrap them (a CLI's --tokenizer): a base URL
 * or hub id (`hf:org/name[@rev]`, or `org/name[@rev]` when no local directory has that name) is downloaded
 * first (config, tokenizer, every weight file) through the cache; anything else is a local directory
 * (Node). Call `close()` when done.
 */
export async function openModelFiles(source: string, opts: SourceOptions = {}): Promise<ModelFiles> {
  if (isRemote(source)) return prefetched(await RemoteFiles.open(source, opts));
  if (isBareHubId(source) && !(await isLocalDir(source))) {
    const files = await RemoteFiles.open(source, opts).catch((e) => {
      if (!(e instanceof SourceError)) throw e;
      throw new SourceError(`${source}: not a local directory, nor a model on the hub: ${e.message}`);
    });
    return prefetched(files);
  }
  const { dirSource } = await nodeFiles<{ dirSource(dir: string): Promise<ModelFiles> }>();
  return dirSource(source);
}

async function prefetched(files: RemoteFiles): Promise<RemoteFiles> {
  await files.prefetch();
  return files;
}

async function isLocalDir(path: string): Promise<boolean> {
  if (!isNode()) return false;
  const { isDirectory } = await nodeFiles<{ isDirectory(path: string): Promise<boolean> }>();
  return isDirectory(path);
}

/** fn over the files of `source`: opened here from a string and closed after; ModelFiles given stay open. */
export async function withModelFiles<T>(source: string | ModelFiles, opts: SourceOptions, fn: (files: ModelFiles) => Promise<T>): Promise<T> {
  const files = typeof source === 'string' ? await openModelFiles(source, opts) : source;
  try {
    return await fn(files);
  } finally {
    if (files !== source) await files.close?.();
  }
}

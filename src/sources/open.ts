// A model named by a string → its files: a base URL or hub id through RemoteFiles and the cache, else a
// local directory (Node). Shared by loadModel and loadEmbedder.
import type { ModelFiles } from './sources.js';
import { isRemote, RemoteFiles, type SourceOptions } from './remote.js';
import { nodeFiles } from '../node-parts.js';

/**
 * The files of a model named by a string, for callers that wrap them (a CLI's --tokenizer): a base URL
 * or hub id is downloaded first (config, tokenizer, every weight file) through the cache; anything
 * else is a local directory (Node). Call `close()` when done.
 */
export async function openModelFiles(source: string, opts: SourceOptions = {}): Promise<ModelFiles> {
  if (isRemote(source)) {
    const files = await RemoteFiles.open(source, opts);
    await files.prefetch();
    return files;
  }
  const { dirSource } = await nodeFiles<{ dirSource(dir: string): Promise<ModelFiles> }>();
  return dirSource(source);
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

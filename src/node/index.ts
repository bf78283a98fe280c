// tide-infer/node: the parts that need Node built-ins (file system).
export { dirSource, fileReader } from './dir-source.js';
export { fileCache, defaultCacheDir, cachePath } from './cache.js';

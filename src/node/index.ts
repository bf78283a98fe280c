// tide-infer/node: the parts that need Node built-ins (file system, crypto).
export { dirSource, fileReader, isDirectory } from './dir-source.js';
export { fileCache, defaultCacheDir, cachePath } from './cache.js';
export { hfCache, defaultHubCacheDir } from './hf-cache.js';
export { nodeHasher } from './hash.js';

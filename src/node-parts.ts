// The Node-only parts (src/node/), reached by computed specifiers so that bundlers for browsers and edge
// runtimes never follow them into node:fs or worker_threads. This file sits beside node/ as the bundle's
// tide.js sits beside its node/ folder, so one relative path serves src/, dist/ and the bundle.

export const isNode = () => typeof process !== 'undefined' && process.versions?.node !== undefined;

export function nodeThreads(): Promise<typeof import('./node/threads.js')> {
  const entry = './node/threads.js';
  return import(entry);
}

export function nodeFiles(): Promise<typeof import('./node/index.js')> {
  const entry = './node/index.js';
  return import(entry);
}

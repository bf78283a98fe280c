// The Node-only parts (src/node/, node:fs), reached by computed specifiers so that bundlers for browsers and edge
// runtimes never follow them into node:fs or worker_threads. This file sits beside node/ as the bundle's
// tide.js sits beside its node/ folder, so one relative path serves src/, dist/ and the bundle. Bundlers that
// fold constants (Vite's rolldown) would follow them anyway: for them package.json's "browser" field swaps
// in node-parts-browser.ts, which has no import at all.

export const isNode = () => typeof process !== 'undefined' && process.versions?.node !== undefined;

export function nodeThreads(): Promise<typeof import('./node/threads.js')> {
  const entry = './node/threads.js';
  return import(entry);
}

export function nodeFiles(): Promise<typeof import('./node/index.js')> {
  const entry = './node/index.js';
  return import(entry);
}

export function nodeFs(): Promise<typeof import('node:fs/promises')> {
  const entry = 'node:fs/promises';
  return import(entry);
}

// The Node-only parts (src/node/, node:fs), reached by computed specifiers so that bundlers for browsers and edge
// runtimes never follow them into node:fs or worker_threads. This file sits beside node/ as the bundle's
// tide.js sits beside its node/ folder, so one relative path serves src/, dist/ and the bundle. Callers
// name the part's type; nothing here imports src/node/, so the core never depends on it. Bundlers that
// fold constants (Vite's rolldown) would follow them anyway: for them package.json's "browser" field
// swaps in node-parts-browser.ts, which has no import at all.

export const isNode = () => typeof process !== 'undefined' && process.versions?.node !== undefined;

/** src/node/threads.ts: worker_threads. */
export function nodeThreads<T>(): Promise<T> {
  const entry = './node/threads.js';
  return import(entry) as Promise<T>;
}

/** src/node/index.ts: directories and the file cache. */
export function nodeFiles<T>(): Promise<T> {
  const entry = './node/index.js';
  return import(entry) as Promise<T>;
}

export function nodeFs(): Promise<typeof import('node:fs/promises')> {
  const entry = 'node:fs/promises';
  return import(entry);
}

// src/node-parts.ts as browser bundles see it: package.json's "browser" field puts dist/node-parts-browser.js
// in place of dist/node-parts.js, so no bundler follows the Node-only parts (src/node/, node:fs) into a page.
import type * as NodeParts from './node-parts.js';

const nodeOnly = (what: string) => Promise.reject(new Error(`${what} needs Node; this is tide-infer's browser build`));

export const isNode: typeof NodeParts.isNode = () => false;
export const nodeThreads: typeof NodeParts.nodeThreads = () => nodeOnly('worker_threads');
export const nodeFiles: typeof NodeParts.nodeFiles = () => nodeOnly('A local directory or file cache');
export const nodeFs: typeof NodeParts.nodeFs = () => nodeOnly('Reading a file: URL');

// esbuild plugins shared by scripts/bundle.mjs and examples/worker/build.mjs: keep the core free of
// Node-only files, and point the core at the wasm laid beside the bundle.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src', 'node');

// The core finds its wasm beside the bundle, not in ../build/ as it does from src/ or dist/.
export const wasmBesideBundle = {
  name: 'wasm-beside-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]runtime[\\/]wasm\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('`../../build/')) throw new Error('src/runtime/wasm.ts no longer loads `../../build/…`; update scripts/bundle.mjs');
      return { contents: text.replaceAll('`../../build/', '`./'), loader: 'ts' };
    });
  },
};

// Core → src/node/X: left as a dynamic import of ./node/X.js, which only Node-like runtimes ever evaluate.
export const nodePartsExternal = {
  name: 'node-parts-external',
  setup(b) {
    b.onResolve({ filter: /\/node\/[\w-]+\.js$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      if (dirname(target) !== NODE_SRC || args.resolveDir === NODE_SRC) return undefined;
      return { path: `./node/${basename(target)}`, external: true };
    });
  },
};

// src/node/X → core module: imported from ../tide.js, so errors and caches are the core's own classes.
export const coreExternal = {
  name: 'core-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.\// }, (args) => {
      if (args.resolveDir !== NODE_SRC) return undefined;
      return { path: '../tide.js', external: true };
    });
  },
};

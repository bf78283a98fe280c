// esbuild plugins shared by scripts/bundle.mjs, examples/worker/build.mjs, bench/child-build.ts and the package
// e2e test: keep the core free of Node-only files, and emit the kernel wasm beside the bundle.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src', 'node');

// esbuild does not follow `new URL('./file', import.meta.url)` (evanw/esbuild#795), the form Tide names its
// kernel wasm with (src/runtime/kernel-files.ts). This makes each such literal naming a .wasm file an import,
// which the build's `loader: { '.wasm': 'file' }` turns into the emitted file's path beside the bundle.
export const wasmUrls = {
  name: 'wasm-urls',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const files = [];
      const contents = text.replace(/new URL\((['"])([^'"]+\.wasm)\1, import\.meta\.url\)/g,
        (_, quote, file) => `new URL(__wasm${files.push(file) - 1}, import.meta.url)`);
      if (files.length === 0) return undefined;
      const imports = files.map((f, i) => `import __wasm${i} from ${JSON.stringify(f)};\n`).join('');
      return { contents: imports + contents, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js' };
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

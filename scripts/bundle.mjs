// Builds the ESM bundles into dist-bundle/: tide.js (the core: no Node built-ins, checked here), node/*.js
// (the tide-infer/node parts, importing the core from ../tide.js so classes are shared) and the kernel wasm
// beside them (emitted by the wasmUrls plugin). Prints and writes sizes (JS gzip + wasm). Run after `npm run build:wasm`.
import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { coreExternal, nodePartsExternal, wasmUrls } from './bundle-plugins.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const NODE_SRC = join(SRC, 'node');
const OUT = join(ROOT, 'dist-bundle');
const COMMON = { bundle: true, format: 'esm', target: 'es2022', minify: true, legalComments: 'none', logLevel: 'warning', metafile: true };

async function main() {
  await rm(OUT, { recursive: true, force: true });
  // web-worker.js is what browser threads start (src/runtime/threads.ts), beside tide.js; it has its own module instance.
  const entryPoints = { tide: join(SRC, 'index.ts'), 'web-worker': join(SRC, 'runtime', 'web-worker.ts') };
  const core = await esbuild.build({ ...COMMON, platform: 'browser', entryPoints, outdir: OUT, loader: { '.wasm': 'file' },
    assetNames: '[name]', plugins: [wasmUrls, nodePartsExternal] });
  for (const name of Object.keys(entryPoints)) checkNoBuiltins(core.metafile, join(OUT, `${name}.js`));

  const nodeEntries = (await readdir(NODE_SRC)).filter((f) => f.endsWith('.ts'));
  // worker.ts runs in its own thread (its own module instance), so it bundles the core it needs (not the wasm
  // files: the pool hands it the compiled module).
  const shared = nodeEntries.filter((f) => f !== 'worker.ts');
  await esbuild.build({
    ...COMMON, platform: 'node', outdir: join(OUT, 'node'), plugins: [coreExternal],
    entryPoints: shared.map((f) => join(NODE_SRC, f)),
  });
  if (nodeEntries.includes('worker.ts')) {
    await esbuild.build({ ...COMMON, platform: 'node', outdir: join(OUT, 'node'), entryPoints: [join(NODE_SRC, 'worker.ts')] });
  }

  const wasm = (await readdir(OUT)).filter((f) => f.endsWith('.wasm'));
  await report(wasm);
}

/** The core's static and dynamic imports that esbuild kept must name no Node built-in. */
function checkNoBuiltins(metafile, file) {
  const out = metafile.outputs[relative(process.cwd(), file)];
  const builtins = new Set(builtinModules);
  const bad = out.imports.filter((i) => i.path.startsWith('node:') || builtins.has(i.path.split('/')[0]));
  if (bad.length) throw new Error(`${file} imports Node built-ins: ${bad.map((i) => i.path).join(', ')}`);
  const inputs = Object.keys(out.inputs).filter((p) => p.startsWith('src/node/'));
  if (inputs.length) throw new Error(`${file} contains Node-only sources: ${inputs.join(', ')}`);
}

async function report(wasm) {
  const js = await readFile(join(OUT, 'tide.js'));
  const sizes = { 'tide.js': { bytes: js.length, gzipBytes: gzipSync(js, { level: 9 }).length } };
  for (const f of wasm) {
    const w = await readFile(join(OUT, f));
    sizes[f] = { bytes: w.length, gzipBytes: gzipSync(w, { level: 9 }).length };
  }
  await writeFile(join(OUT, 'sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [f, s] of Object.entries(sizes)) console.log(`${f.padEnd(32)} ${kb(s.bytes).padStart(11)}  gzip ${kb(s.gzipBytes).padStart(10)}`);
  const one = sizes['tide.js'].gzipBytes + sizes['kernels-simd128.wasm'].bytes;
  console.log(`core download (tide.js gzip + one wasm, uncompressed): ${kb(one)}`);
}

await main();

// Bundles worker.ts (with the core library, never its Node-only parts) into dist/worker.js and lays the
// kernel wasm and the shipped stories260K files beside it, as config.capnp and wrangler.toml expect.
import * as esbuild from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodePartsExternal } from '../../scripts/bundle-plugins.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const OUT = join(HERE, 'dist');
const MODEL_FILES = ['model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

await mkdir(OUT, { recursive: true });
await esbuild.build({
  entryPoints: [join(HERE, 'worker.ts')], outfile: join(OUT, 'worker.js'),
  bundle: true, format: 'esm', platform: 'browser', target: 'es2022', conditions: ['workerd', 'worker', 'browser'],
  minify: true, legalComments: 'none', logLevel: 'warning',
  external: ['*.wasm', '*.safetensors', '*.json'],
  plugins: [nodePartsExternal],
});
await copyFile(join(ROOT, 'build/kernels-simd128.wasm'), join(OUT, 'kernels-simd128.wasm'));
for (const f of MODEL_FILES) await copyFile(join(ROOT, 'weights/stories260K', f), join(OUT, f));

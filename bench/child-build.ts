// The bench's child as plain JavaScript, bundled by esbuild when the bench starts: a row's peak RSS is
// then what `node app.js` over Tide's built code has, without tsx's loader (measured on Node 20: about
// 35 MiB in the child, and 15 MiB more per worker thread, which registers tsx again).
import * as esbuild from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs file with no types
import { wasmUrls } from '../scripts/bundle-plugins.mjs';

/**
 * Bundle bench/child.ts into a folder of this run's own under ROOT/bench/node_modules/.cache/tide-bench-child/
 * (removed when the process exits) and return the path of its child.js. Packages stay imports, resolved
 * from the node_modules above: bench/'s (the peers), then the root's (Tide's own). src/node/*.ts are entries
 * of their own because the core reaches them by computed imports (./node/threads.js starts ./worker.js);
 * the kernels are emitted beside them (wasmUrls), so a rebuild during the run does not change them.
 */
export async function buildChild(root: string): Promise<string> {
  const parent = join(root, 'bench', 'node_modules', '.cache', 'tide-bench-child');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'run-')), js = join(dir, 'js');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const nodeParts = readdirSync(join(root, 'src', 'node')).filter((f) => f.endsWith('.ts'));
  const entryPoints: Record<string, string> = { child: join(root, 'bench', 'child.ts') };
  for (const f of nodeParts) entryPoints[`node/${f.slice(0, -3)}`] = join(root, 'src', 'node', f);
  await esbuild.build({
    entryPoints, outdir: js, bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'es2022',
    packages: 'external', sourcemap: false, logLevel: 'warning',
    loader: { '.wasm': 'file' }, assetNames: '[name]', plugins: [wasmUrls],
  });
  return join(js, 'child.js');
}

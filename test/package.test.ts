// The package as npm sees it: what `npm pack` ships (after `npm run build`), and `tide --version`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';

const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const WASM = ['kernels-simd128', 'kernels-relaxed', 'kernels-simd128-threads', 'kernels-relaxed-threads'].map((f) => `build/${f}.wasm`);

/** Every file path a package.json field points at (exports, browser, bin, types). */
function targets(v: unknown): string[] {
  if (typeof v === 'string') return v.startsWith('./') ? [v.slice(2)] : [v];
  return v && typeof v === 'object' ? Object.values(v).flatMap(targets) : [];
}

test('npm pack ships dist (JS and .d.ts), the four kernel wasm files, bin, README and LICENSE, and nothing else', async () => {
  const { stdout } = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  const [info] = JSON.parse(stdout);
  const files: string[] = info.files.map((f: { path: string }) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/runtime/kernel-files.js', 'dist/runtime/web-worker.js',
    'dist/node-parts-browser.js', 'dist/cli/index.js', 'bin/tide.js', 'LICENSE', 'README.md', 'package.json', ...WASM]) {
    assert.ok(files.includes(f), `${f} missing from the package (npm run build first)`);
  }
  const fields = [pkg.exports, pkg.browser, pkg.bin, pkg.main, pkg.types].flatMap(targets);
  for (const f of fields) {
    const match = new RegExp(`^${f.replaceAll('.', '\\.').replace('*', '[^/]+')}$`);
    assert.ok(files.some((p) => match.test(p)), `package.json names ${f}, which the package lacks`);
  }
  const stray = files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|build\/[\w-]+\.wasm|bin\/tide\.js|LICENSE|README\.md|package\.json)$/.test(f));
  assert.equal(stray, [], 'no tests, benches, sources, fixtures, weights or source maps');
  assert.ok(info.size < 256 * 1024, `tarball ${info.size} bytes`);
});

test('tide --version and -V print package.json\'s version', async () => {
  for (const flag of ['--version', '-V']) {
    const { stdout } = await exec('node', [join(ROOT, 'bin/tide.js'), flag]);
    assert.is(stdout.trim(), pkg.version);
  }
});

test.run();

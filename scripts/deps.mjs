// `node scripts/deps.mjs DIR`: installs DIR's own dependencies (bench/, test/e2e/) from its lockfile with
// `npm ci` when DIR/node_modules is missing or was installed from another lockfile. The root install
// stays lean: benchmark peers and end-to-end runtimes live in those folders' package.json files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.');
const want = createHash('sha256').update(readFileSync(join(dir, 'package-lock.json'))).digest('hex');
const stamp = join(dir, 'node_modules', '.package-lock.sha256'); // written after a complete install
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) process.exit(0);

console.error(`${dir}: npm ci (node_modules is missing or older than package-lock.json)`);
const r = spawnSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, want);

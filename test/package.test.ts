// The package as npm sees it: `tide --version` is package.json's version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';

const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('tide --version and -V print package.json\'s version', async () => {
  for (const flag of ['--version', '-V']) {
    const { stdout } = await exec('node', [join(ROOT, 'bin/tide.js'), flag]);
    assert.is(stdout.trim(), pkg.version);
  }
});

test.run();

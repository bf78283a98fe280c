// docs/how-it-works.md stays findable in the code: every link points to a file that exists, and
// every linked `name` (or `Class.member`) is declared in that file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ROOT } from './paths.js';

const DOC = resolve(ROOT, 'docs/how-it-works.md');

/** A declaration of `name`: function, class, interface, type, const, or a class member (method, field, getter). */
function declares(source: string, name: string): boolean {
  const n = name.replace(/[$]/g, '\\$');
  return new RegExp(`\\b(function|class|interface|type|const|let)\\s+${n}\\b`).test(source)
    || new RegExp(`^\\s*(export\\s+)?((readonly|private|public|static|async|get)\\s+)*${n}\\s*[(<:=]`, 'm').test(source);
}

const links = [...readFileSync(DOC, 'utf8').matchAll(/\[([^\]]+)\]\((\.\.\/[^)#\s]+)\)/g)].map((m) => ({ text: m[1], path: m[2] }));

test('the walkthrough links to code (sanity: it has many links)', () => {
  assert.ok(links.length > 50, `${links.length} links`);
});

test('every link in docs/how-it-works.md points to a file that exists', () => {
  const missing = links.filter((l) => !existsSync(resolve(dirname(DOC), l.path))).map((l) => `${l.text} → ${l.path}`);
  assert.equal(missing, []);
});

test('every linked `name` is declared in the file it links to', () => {
  const wrong: string[] = [];
  for (const l of links) {
    const m = /^`([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)`$/.exec(l.text);
    const file = resolve(dirname(DOC), l.path);
    if (!m || m[1].endsWith('.ts') || !existsSync(file)) continue; // `matmul.ts` names a file, not a member
    const source = readFileSync(file, 'utf8');
    const missing = m[1].split('.').filter((part) => !declares(source, part));
    if (missing.length) wrong.push(`${m[1]} (${missing.join(', ')}) not declared in ${l.path}`);
  }
  assert.equal(wrong, []);
});

test.run();

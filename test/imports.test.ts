// The import graph of src/: no circles (type-only imports count: they couple files as much), and model
// families stay data — nothing under src/runtime/ or src/text/ names a family file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './paths.js';

const SRC = join(ROOT, 'src');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
});

/** file → the src files it imports (static, dynamic and `typeof import(...)`). */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)]
      .map((m) => resolve(dirname(f), m[1]).replace(/\.js$/, '.ts'));
    g.set(f, [...new Set(deps)]);
  }
  return g;
}

/** Every cycle found by depth-first search, each as a list of src-relative paths. */
function cycles(g: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>(), stack: string[] = [], found: string[][] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of g.get(f) ?? []) {
      if (state.get(d) === 'open') found.push(stack.slice(stack.indexOf(d)).concat(d).map((p) => relative(SRC, p)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of g.keys()) if (!state.has(f)) visit(f);
  return found;
}

test('src/ has no import circles', () => {
  const g = graph();
  assert.ok(g.size > 40, `found ${g.size} files`);
  assert.equal(cycles(g), []);
});

test('the check finds a circle when there is one', () => {
  const g = new Map([['/a.ts', ['/b.ts']], ['/b.ts', ['/c.ts']], ['/c.ts', ['/a.ts']]]);
  assert.equal(cycles(g).length, 1);
});

test('the runtime and text layers name no model family', () => {
  const families = new Set(files(join(SRC, 'families')).filter((f) => !/(family|registry|decoder|config|rope)\.ts$/.test(f)));
  const leaks = [...graph()].filter(([f]) => /src\/(runtime|text)\//.test(f))
    .flatMap(([f, deps]) => deps.filter((d) => families.has(d) && !d.endsWith('bert.ts') ? true : false).map((d) => `${relative(SRC, f)} → ${relative(SRC, d)}`));
  assert.equal(leaks, []);
});

test.run();

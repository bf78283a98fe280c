// The documents stay true to the repository: docs/how-it-works.md's links point to files that exist and
// name code declared there; every relative link in README.md and docs/ resolves (file and #anchor); and
// every `tide …` command line in them names a real command and real flags. (The code snippets run in
// test/snippets.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cli } from '../src/cli/index.js';
import { LOAD_OPTIONS } from '../src/runtime/load.js';
import { SESSION_OPTIONS } from '../src/runtime/session.js';
import { SOURCE_OPTIONS } from '../src/sources/options.js';
import { EMBED_OPTIONS, EMBEDDER_OPTIONS } from '../src/text/embed.js';
import { GENERATE_OPTIONS } from '../src/text/generate.js';
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

const DOCS = ['README.md', ...readdirSync(resolve(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (f: string) => readFileSync(resolve(ROOT, f), 'utf8');
/** Markdown without its fenced blocks (links and headings in code are not links and headings). */
const prose = (md: string) => md.replace(/^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm, '');

/** GitHub's anchors for a document's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1].replace(/<[^>]+>/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

test('README.md and docs/*.md: every relative link resolves, anchors included', () => {
  const broken: string[] = [];
  let count = 0;
  for (const doc of DOCS) {
    for (const m of prose(text(doc)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      count++;
      const [path, anchor] = target.split('#');
      const file = path ? resolve(ROOT, dirname(doc), path) : resolve(ROOT, doc);
      if (!existsSync(file)) { broken.push(`${doc}: ${target} (no such file)`); continue; }
      if (anchor && !(file.endsWith('.md') && statSync(file).isFile() && anchors(readFileSync(file, 'utf8')).has(anchor))) {
        broken.push(`${doc}: ${target} (no heading #${anchor})`);
      }
    }
  }
  assert.ok(count > 50, `${count} links`);
  assert.equal(broken, []);
});

test('README.md and docs/*.md: every `tide …` command line uses real commands and flags', () => {
  const program = cli();
  const global = ['--help', ...program.options.map((o) => o.long!)];
  const flags = new Map(program.commands.map((c) => [c.name(), [...global, ...c.options.map((o) => o.long!)]]));
  const lines: [string, string][] = [];
  for (const doc of DOCS) {
    const md = text(doc);
    for (const block of md.matchAll(/^```(?:sh|bash|shell|console)[^\n]*\n([\s\S]*?)^```/gm)) {
      for (const line of block[1].replace(/\\\n\s*/g, ' ').split('\n')) {
        const cmd = line.replace(/^\$\s+/, '').replace(/^([A-Z_]+=\S*\s+)+/, '');
        if (cmd.startsWith('tide ')) lines.push([doc, cmd.replace(/\s#\s.*$/, '')]);
      }
    }
    for (const m of prose(md).matchAll(/`(tide [^`]+)`/g)) lines.push([doc, m[1]]);
  }
  const wrong: string[] = [];
  for (const [doc, line] of lines) {
    const words = (line.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^\[+|\]+$/g, ''));
    const sub = words[1];
    if (sub.startsWith('-')) { if (!global.includes(sub) && sub !== '--version') wrong.push(`${doc}: ${line} (${sub})`); continue; }
    if (sub === 'help' || sub === 'COMMAND') continue;
    const known = flags.get(sub);
    if (!known) { wrong.push(`${doc}: ${line} (no command "${sub}")`); continue; }
    for (const w of words.slice(2)) {
      const flag = w.split('=')[0];
      if (flag.startsWith('--') && flag !== '--' && !known.includes(flag)) wrong.push(`${doc}: ${line} (${sub} has no ${flag})`);
    }
  }
  assert.ok(lines.length > 30, `${lines.length} command lines`);
  assert.equal(wrong, []);
});

/** The backticked names in the first column of the table whose header starts with `header`. */
function tableNames(md: string, header: string): string[] | undefined {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) return undefined;
  const names: string[] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    for (const m of l.split(/(?<!\\)\|/)[1].matchAll(/`([^`]+)`/g)) names.push(m[1].split(' ')[0]); // \| is a | inside a cell
  }
  return names.sort();
}

test('the option tables list exactly the options the code checks, and the flag tables the CLI\'s flags', () => {
  const api = text('docs/api.md');
  const commands = new Map(cli().commands.map((c) => [c.name(), c.options.map((o) => o.long!)]));
  const shared = commands.get('run')!.filter((f) => commands.get('chat')!.includes(f) && commands.get('generate')!.includes(f));
  const tables: [string, string, readonly string[]][] = [
    ['docs/api.md', 'load option', LOAD_OPTIONS],
    ['docs/api.md', 'generate option', GENERATE_OPTIONS],
    ['docs/api.md', 'session option', SESSION_OPTIONS],
    ['docs/api.md', 'embed option', EMBED_OPTIONS],
    ['docs/cli.md', 'flag', shared],
    ['docs/serve.md', 'flag', commands.get('serve')!],
  ];
  for (const [doc, header, want] of tables) {
    const got = tableNames(text(doc), header);
    assert.ok(got, `${doc}: no table headed "${header}"`);
    assert.equal(got, [...want].sort(), `${doc}: the "${header}" table`);
  }
  // The options described in prose: the source options and the embedder's own.
  const unnamed = [...SOURCE_OPTIONS, ...EMBEDDER_OPTIONS].filter((o) => !api.includes(`\`${o}\``));
  assert.equal(unnamed, []);
});

test.run();

// Issue "Every family", item 5: every real config in test/fixtures/configs, with random weights of its
// exact shape served by a virtual ModelFiles (bench/virtual.ts: no file is written), at q8 and q4 (an
// encoder: as stored). Which fit wasm32's 4 GiB (planModel's bytes), confirmed by loading each that
// fits (and by the loader's refusal of each that does not), with load time, decode tok/s on 2 threads
// (a short prompt, then DECODE greedy steps; median of a few runs) and peak RSS, each row in a child
// process of its own, within a budget (default 240 s; largest models first). Alone:
// `node --import tsx bench/configs.ts [--quick] [--full] [--only=a,b] [--budget=S] [--write]` (--write replaces
// this section of bench/RESULTS.md); from the main bench (bench/run.ts): `await benchConfigs()`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WASM32_MAX_BYTES, align } from '../src/runtime/arena.js';
import { planRunState, type DecoderSpec } from '../src/families/decoder.js';
import { planModel } from '../src/runtime/plan.js';
import { boundShape } from '../src/runtime/load.js';
import { stagingBytes, type Quantize } from '../src/runtime/weights.js';
import { childFailure, median } from './job.js';
import { virtualModel } from './virtual.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIGS = join(ROOT, 'test', 'fixtures', 'configs');
const THREADS = 2, PROMPT = 8, DECODE = 16, WARM_MS = 2000;
/** Models at least this large are "3B-class": their q8 load is slow on 2 cores (see plan()). */
const BIG = 2.5e9;
const GiB = 2 ** 30;
export const CONFIGS_HEADING = '## Every family: the real configs at q8 and q4';

interface ConfigJob { config: string; quant: Quantize; runs: number; decode: boolean }
interface ConfigMeasured {
  loadMs?: number; decode?: number; decodeRuns?: number[]; embed?: number; maxRssMiB: number; wasmBytes?: number;
  weightBytes?: number; simd?: string; refused?: string; decodeError?: string;
}
export interface ConfigRow {
  config: string; family: string; kind: string; parameters: number; quant: Quantize; weightBytes: number;
  plannedBytes: number; fits: boolean; job?: ConfigJob; optional?: boolean; m?: ConfigMeasured; error?: string; note?: string;
}

/** The fixture folder's files other than config.json (generation_config.json, modules.json ...), as text. */
function fixtureFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.json')) out[relative(dir, p).split('\\').join('/')] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export const configNames = () => readdirSync(CONFIGS).filter((n) => statSync(join(CONFIGS, n)).isDirectory()).sort();
const readConfig = (name: string) => JSON.parse(readFileSync(join(CONFIGS, name, 'config.json'), 'utf8')) as Record<string, unknown>;

/**
 * Every row with its plan: the weights at the layout, plus what the loader reserves with them (the
 * staging region rows are quantized through) and a session's state for PROMPT + DECODE positions.
 * The options decide which rows are loaded: `full` loads the 3B-class models at q8 too.
 */
export function planRows(o: { quick?: boolean; full?: boolean; only?: string[] } = {}): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const names = configNames().filter((n) => (o.only ? o.only.includes(n) : o.quick ? ['smollm2-135m', 'all-minilm-l6-v2'].includes(n) : true));
  for (const name of names) {
    const config = readConfig(name);
    const plan = planModel(config, `${name}/config.json`);
    const decoder = plan.family.kind === 'decoder';
    const staging = stagingBytes(plan.table.map(boundShape));
    const state = decoder ? planRunState(plan.spec as DecoderSpec, PROMPT, PROMPT + DECODE, THREADS).reduce((s, r) => s + align(r.bytes), 0) : 0;
    const big = plan.parameters >= BIG;
    for (const quant of decoder ? (['q8', 'q4'] as const) : (['none'] as const)) {
      const weightBytes = plan.weightBytes[quant];
      const plannedBytes = align(weightBytes) + align(staging) + state;
      const fits = plannedBytes <= WASM32_MAX_BYTES;
      const row: ConfigRow = { config: name, family: String(config.model_type), kind: plan.family.kind, parameters: plan.parameters, quant, weightBytes, plannedBytes, fits };
      const runs = o.quick ? 2 : plan.parameters >= 1e9 ? 3 : 5;
      if (!fits) {
        // The loader refuses from its plan before reading a byte: a child confirms it at no cost.
        row.job = { config: name, quant, runs: 0, decode: false };
      } else if (big && quant === 'q8' && !o.full) {
        // Loaded last, when the budget has room, to confirm it fits; decoded at q4 only.
        row.job = { config: name, quant, runs: 0, decode: false };
        row.optional = true;
        row.note = 'load only (time budget): 3B-class decode measured at q4';
      } else {
        row.job = { config: name, quant, runs, decode: true };
      }
      rows.push(row);
    }
  }
  // Largest first: the 3B-class rows are what this bench is for, should the budget run out.
  return rows.sort((a, b) => b.parameters - a.parameters);
}

/** The child: load the virtual model, then decode (or embed, for an encoder); prints "RESULT <json>". */
async function runChild(job: ConfigJob): Promise<ConfigMeasured> {
  const dir = join(CONFIGS, job.config), config = readConfig(job.config);
  const files = virtualModel(config, { files: fixtureFiles(dir), label: `virtual:${job.config}` });
  const quantize = job.quant === 'none' ? undefined : job.quant;
  const rss = () => process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  if (planModel(config, job.config).family.kind === 'encoder') {
    const { loadEmbedderFrom } = await import('../src/text/embed.js');
    const e = await loadEmbedderFrom(files, { threads: THREADS, quantize, onWarning: () => {} });
    const loadMs = performance.now() - t0;
    const ids = [101, ...Array.from({ length: 126 }, (_, i) => 1000 + i * 37), 102];
    const runs: number[] = [];
    for (let r = -1; r < job.runs; r++) {
      const t1 = performance.now();
      await e.embed([ids]);
      if (r >= 0) runs.push(1000 / (performance.now() - t1));
    }
    const out = { loadMs, embed: median(runs), maxRssMiB: rss(), wasmBytes: e.encoder.arena.memory.buffer.byteLength, simd: e.encoder.arena.flavor };
    await e.dispose();
    return out;
  }
  const { loadModelFrom } = await import('../src/model.js');
  let m: Awaited<ReturnType<typeof loadModelFrom>>;
  try {
    m = await loadModelFrom(files, { threads: THREADS, quantize });
  } catch (e) {
    if ((e as Error).name === 'MemoryBudgetError') return { refused: (e as Error).message, maxRssMiB: rss() };
    throw e;
  }
  const loadMs = performance.now() - t0;
  const out: ConfigMeasured = { loadMs, maxRssMiB: 0, weightBytes: m.info.weightBytes, simd: m.info.simd };
  if (job.decode) {
    const vocab = m.spec.vocabSize, prompt = Array.from({ length: PROMPT }, (_, i) => (300 + i * 7919) % vocab);
    const logits = new Float32Array(vocab), argmax = (a: Float32Array) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };
    const s = m.session({ contextLength: PROMPT + DECODE, prefillChunk: PROMPT });
    const runs: number[] = [];
    try {
      // Untimed runs first, at least one and 2 s of them: V8 tiers the kernels up from Liftoff lazily, and a
      // small model's steps are too short to get there in a few (SmolLM2-135M gains ~2× over its first 100).
      const warmUntil = performance.now() + WARM_MS;
      for (let r = -1; r < job.runs; r++) {
        s.reset();
        let l = s.prefill(prompt, { out: logits });
        const t1 = performance.now();
        for (let i = 0; i < DECODE; i++) l = s.step(argmax(l), logits);
        if (r >= 0) runs.push(DECODE / ((performance.now() - t1) / 1000));
        else if (performance.now() < warmUntil) r--;
      }
      Object.assign(out, { decode: median(runs), decodeRuns: runs });
    } catch (e) {
      out.decodeError = (e as Error).message;
    }
  }
  out.wasmBytes = m.arena.memory.buffer.byteLength;
  await m.dispose();
  out.maxRssMiB = rss();
  return out;
}

/** Run the rows, each in a child process, within `budgetS` seconds; returns them and the markdown section. */
export async function benchConfigs(o: { quick?: boolean; full?: boolean; only?: string[]; budgetS?: number; log?: (s: string) => void } = {}):
    Promise<{ rows: ConfigRow[]; table: string }> {
  const log = o.log ?? ((s: string) => console.error(s));
  const started = performance.now(), budgetS = o.budgetS ?? 240;
  const rows = planRows(o);
  const run = (row: ConfigRow, minS: number) => {
    const leftS = budgetS - (performance.now() - started) / 1000;
    if (leftS < minS) { row.error = `skipped: ${leftS.toFixed(0)} s of the ${budgetS} s budget left`; log(`configs ${row.config} ${row.quant}: ${row.error}`); return; }
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/configs.ts', '--child', JSON.stringify(row.job)],
      { cwd: ROOT, encoding: 'utf8', timeout: Math.floor(leftS * 1000), maxBuffer: 1 << 24 });
    const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
    if (line) row.m = JSON.parse(line.slice(7)) as ConfigMeasured;
    else if (r.signal === 'SIGTERM') row.error = `timed out after ${leftS.toFixed(0)} s (budget)`;
    else row.error = childFailure(r);
    const m = row.m;
    log(`configs ${row.config} ${row.quant}: ${row.error ? `FAILED: ${row.error}` : m!.refused ? `refused by the loader: ${m!.refused}`
      : `load ${(m!.loadMs! / 1000).toFixed(1)} s, ${m!.embed ? `embed ${m!.embed.toFixed(1)} seq/s` : m!.decode ? `decode ${m!.decode.toFixed(2)} tok/s` : m!.decodeError ?? 'no decode'}, RSS ${m!.maxRssMiB.toFixed(0)} MiB`}`);
  };
  for (const row of rows) if (row.job && !row.optional) run(row, 15);
  // A 3B-class q8 load takes ~40 s of CPU (~2 minutes on a busy machine): only with room left.
  for (const row of rows) if (row.optional) run(row, 150);
  return { rows, table: configsTable(rows, o) };
}

const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;
const num = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The markdown section: one row per config and layout. */
export function configsTable(rows: ConfigRow[], o: { quick?: boolean; full?: boolean } = {}): string {
  const lines = [
    'Every real config in test/fixtures/configs, with random weights of its exact shape served by a virtual ModelFiles',
    '(bench/virtual.ts: the safetensors header from the config\'s weight table, then deterministic pseudo-random bf16/f32',
    'bytes for any offset: uniform with std 0.02, norm gains 1, biases 0; nothing is written to disk), loaded through',
    'the one loader, which quantizes rows as they stream in (load s includes that). "Planned" is planModel\'s weight',
    `bytes at the layout plus the loader's staging region and a session's state for ${PROMPT + DECODE} positions, against wasm32's`,
    '4 GiB (65535 pages); each row that fits was loaded (the wasm memory it took is listed), and each that does not',
    `was refused by the loader's own plan before it read a byte. Decode: ${THREADS} threads, an ${PROMPT}-token prompt, then ${DECODE} greedy`,
    `steps; the median of 5 timed runs (3 from 1 B parameters up${o.quick ? '; quick: 2' : ''}) after untimed ones (at least one, and 2 s). Each row runs in a`,
    'child process of its own (node with the tsx loader: some 35 MiB of its peak RSS, and ~15 MiB per worker, are',
    'the loader\'s). Timings on a shared 2-core machine are noisy, and under load far below an idle machine\'s: read',
    'them with the load average given, as orders of magnitude.',
    '',
    '| config | family | params | layout | weights | planned | fits 4 GiB | load s | decode tok/s (2 thr) | peak RSS MiB | wasm MiB | notes |',
    '|---|---|---:|---|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const m = r.m;
    const loaded = m && !m.refused && m.loadMs !== undefined;
    const speed = m?.embed ? `— (encoder: ${num(m.embed)} seq/s, 1×128)` : m?.decode ? num(m.decode) : '—';
    const notes = [
      !r.fits && `does not fit: ${gib(r.plannedBytes)} planned > 4 GiB${m?.refused ? '; the loader refuses it (MemoryBudgetError)' : ''}`,
      r.note, r.error && (r.error.startsWith('skipped') ? r.error : `failed: ${r.error}`), m?.decodeError && `decode failed: ${m.decodeError.slice(0, 120)}`,
      r.family === 'qwen3' || r.family === 'gemma3_text' ? 'an embedding model, decoded as a causal LM' : '',
      m?.decodeRuns && `runs ${m.decodeRuns.map(num).join(', ')}`,
    ].filter(Boolean).join('; ');
    lines.push(`| ${r.config} | ${r.family} | ${(r.parameters / 1e9).toFixed(3)} B | ${r.quant === 'none' ? 'f32 (as stored)' : r.quant} | ${gib(r.weightBytes)} | ${gib(r.plannedBytes)} | ${r.fits ? 'yes' : '**no**'} | ${loaded ? (m.loadMs! / 1000).toFixed(1) : '—'} | ${speed} | ${m && !m.refused ? m.maxRssMiB.toFixed(0) : '—'} | ${m?.wasmBytes ? (m.wasmBytes / 2 ** 20).toFixed(0) : '—'} | ${notes} |`);
  }
  return lines.join('\n');
}

const args = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (args[0] === '--child') {
    const m = await runChild(JSON.parse(args[1]) as ConfigJob);
    m.maxRssMiB = Math.max(m.maxRssMiB, process.resourceUsage().maxRSS / 1024);
    console.log('RESULT ' + JSON.stringify(m));
    process.exit(0);
  }
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const budget = args.find((a) => a.startsWith('--budget='))?.slice(9);
  const t0 = performance.now();
  const { table } = await benchConfigs({ quick: args.includes('--quick'), full: args.includes('--full'), only, budgetS: budget ? Number(budget) : undefined });
  console.log(table);
  if (args.includes('--write')) {
    const when = `Measured by \`node --import tsx bench/configs.ts${args.filter((a) => a !== '--write').map((a) => ` ${a}`).join('')}\` alone on ${new Date().toISOString().slice(0, 16)} UTC in ${((performance.now() - t0) / 1000).toFixed(0)} s (load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')}), not in the run above.`;
    writeSection(`${when}\n\n${table}`);
  }
}

/** Replace (or add, before "What this run does not cover") the section in bench/RESULTS.md. */
function writeSection(body: string): void {
  const file = join(ROOT, 'bench', 'RESULTS.md'), md = readFileSync(file, 'utf8');
  const section = `${CONFIGS_HEADING}\n\n${body}\n`;
  const at = md.indexOf(CONFIGS_HEADING);
  if (at >= 0) {
    const next = md.indexOf('\n## ', at + CONFIGS_HEADING.length);
    writeFileSync(file, md.slice(0, at) + section + (next >= 0 ? md.slice(next) : ''));
  } else {
    const before = md.indexOf('## What this run does not cover');
    writeFileSync(file, before >= 0 ? `${md.slice(0, before)}${section}\n${md.slice(before)}` : `${md}\n${section}`);
  }
}

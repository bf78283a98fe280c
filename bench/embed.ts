// Issue 5's embedding benchmark: sentences/s for an all-MiniLM-L6-v2-shaped encoder (random weights) at
// batch 1 and 32, sequence 128, threads 1 and 2, for Tide and for onnxruntime-web's wasm backend on the
// same weights (bench/onnx-bert.ts exports the graph). Each configuration runs in its own process.
// Alone: `node --import tsx bench/embed.ts [--quick]`; from the main bench: `await benchEmbed()`.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadEmbedder } from '../src/text/embed.js';
import { planModel } from '../src/runtime/plan.js';
import { childFailure, median } from './job.js';
import { writeBertOnnx } from './onnx-bert.js';
import { CACHE } from './weights.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** all-MiniLM-L6-v2's config.json (test/fixtures/configs/all-minilm-l6-v2), as the issue gives the shape. */
export const MINILM = {
  architectures: ['BertModel'], model_type: 'bert', hidden_size: 384, num_hidden_layers: 6, num_attention_heads: 12,
  intermediate_size: 1536, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2, hidden_act: 'gelu',
  layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: 'absolute',
};
export const SEQ = 128;

interface EmbedJob { engine: 'tide' | 'ort'; threads: number; batch: number; runs: number; dir: string; onnx?: string }
interface EmbedMeasured { loadMs: number; sentS: number; runs: number[]; check: number[][]; simd?: string }
export interface EmbedRow { engine: string; threads: number; batch: number; seq: number; sentS?: number; error?: string; simd?: string }

/** The same ids for every engine: [CLS]=101, 126 ids from the vocabulary, [SEP]=102. */
const sentence = (i: number) => [101, ...Array.from({ length: SEQ - 2 }, (_, t) => 1000 + ((i * 7919 + t * 104729) % 28000)), 102];

/** Write the model folder once: random weights (uniform, std 0.02; LayerNorm gains 1, biases 0) + mean pooling. */
export async function ensureMiniLM(): Promise<string> {
  const dir = join(CACHE, 'all-MiniLM-L6-v2-shape-f32');
  const file = join(dir, 'model.safetensors');
  if (existsSync(file)) return dir;
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(MINILM, null, 2));
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(['Transformer', 'Pooling', 'Normalize'].map((t, idx) =>
    ({ idx, name: String(idx), path: t === 'Pooling' ? '1_Pooling' : '', type: `sentence_transformers.models.${t}` }))));
  writeFileSync(join(dir, '1_Pooling/config.json'), JSON.stringify({ word_embedding_dimension: 384, pooling_mode_mean_tokens: true }));
  const table = planModel(MINILM, 'all-MiniLM-L6-v2/config.json').table;
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of table) {
    const bytes = t.shape.reduce((a, b) => a * b, 4);
    header[t.hf] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const out = createWriteStream(file + '.part');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  out.write(len);
  out.write(json);
  let s = 12345;
  for (const t of table) {
    const n = t.shape.reduce((a, b) => a * b, 1), a = new Float32Array(n);
    const norm = /LayerNorm/.test(t.hf);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      a[i] = norm ? (t.hf.endsWith('weight') ? 1 : 0) : ((s >>> 0) / 4294967296 - 0.5) * 0.0693; // std 0.02
    }
    if (!out.write(Buffer.from(a.buffer))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  renameSync(file + '.part', file);
  return dir;
}

async function runTide(job: EmbedJob): Promise<EmbedMeasured> {
  const t0 = performance.now();
  const e = await loadEmbedder(job.dir, { threads: job.threads });
  const loadMs = performance.now() - t0;
  const batch = Array.from({ length: job.batch }, (_, i) => sentence(i));
  const runs: number[] = [];
  // One untimed run first: V8 tiers wasm up from Liftoff to TurboFan lazily.
  for (let r = -1; r < job.runs; r++) {
    const t1 = performance.now();
    await e.embed(batch, { batchSize: job.batch });
    if (r >= 0) runs.push(job.batch / ((performance.now() - t1) / 1000));
  }
  const check = (await e.embed([sentence(0), sentence(1).slice(0, 40)])).map((v) => Array.from(v));
  const simd = e.encoder.arena.flavor;
  await e.dispose();
  return { loadMs, sentS: median(runs), runs, check, simd };
}

async function runOrt(job: EmbedJob): Promise<EmbedMeasured> {
  const ort = await import('onnxruntime-web');
  const { session, loadMs } = await (await import('./ort.js')).openOrt(job.onnx!, job.threads);
  const feeds = (seqs: number[][]) => {
    const ids = new BigInt64Array(seqs.length * SEQ), mask = new Float32Array(seqs.length * SEQ);
    seqs.forEach((s, b) => s.forEach((id, t) => { ids[b * SEQ + t] = BigInt(id); mask[b * SEQ + t] = 1; }));
    return { input_ids: new ort.Tensor('int64', ids, [seqs.length, SEQ]), attention_mask: new ort.Tensor('float32', mask, [seqs.length, SEQ]) };
  };
  const batch = feeds(Array.from({ length: job.batch }, (_, i) => sentence(i)));
  const runs: number[] = [];
  for (let r = -1; r < job.runs; r++) {
    const t1 = performance.now();
    await session.run(batch);
    if (r >= 0) runs.push(job.batch / ((performance.now() - t1) / 1000));
  }
  // The second check sentence is padded: 40 ids, mask 0 after them.
  const out = (await session.run(feeds([sentence(0), sentence(1).slice(0, 40)]))).embeddings.data as Float32Array;
  await session.release();
  const dim = out.length / 2;
  return { loadMs, sentS: median(runs), runs, check: [Array.from(out.subarray(0, dim)), Array.from(out.subarray(dim))] };
}

/** Run every configuration in a child process; returns the rows and the max |Tide − ORT| over the check vectors. */
export async function benchEmbed(opts: { quick?: boolean; log?: (s: string) => void } = {}): Promise<{ rows: EmbedRow[]; maxDiff?: number; table: string }> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const dir = await ensureMiniLM();
  const onnx = writeBertOnnx(join(dir, 'model.safetensors'), MINILM, join(dir, `bert-T${SEQ}.onnx`), SEQ);
  const rows: EmbedRow[] = [];
  const checks: Record<string, number[][]> = {};
  for (const batch of opts.quick ? [1, 8] : [1, 32]) {
    for (const threads of [1, 2]) {
      for (const engine of ['tide', 'ort'] as const) {
        const job: EmbedJob = { engine, threads, batch, runs: opts.quick ? 2 : batch === 1 ? 10 : 3, dir, onnx };
        const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/embed.ts', '--child', JSON.stringify(job)],
          { cwd: ROOT, encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
        const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
        const row: EmbedRow = { engine: engine === 'tide' ? 'tide' : 'onnxruntime-web', threads, batch, seq: SEQ };
        if (line) {
          const m = JSON.parse(line.slice(7)) as EmbedMeasured;
          Object.assign(row, { sentS: m.sentS, simd: m.simd });
          checks[engine] = m.check;
        } else {
          row.error = childFailure(r);
        }
        rows.push(row);
        log(`embed ${row.engine} t${threads} batch ${batch}: ${row.sentS ? `${row.sentS.toFixed(2)} sentences/s` : `FAILED: ${row.error}`}`);
      }
    }
  }
  let maxDiff: number | undefined;
  if (checks.tide && checks.ort) {
    maxDiff = 0;
    checks.tide.forEach((v, i) => v.forEach((x, j) => { maxDiff = Math.max(maxDiff!, Math.abs(x - checks.ort[i][j])); }));
  }
  return { rows, maxDiff, table: embedTable(rows, maxDiff) };
}

/** The markdown table: one row per (threads, batch), Tide next to onnxruntime-web and their ratio. */
export function embedTable(rows: EmbedRow[], maxDiff?: number): string {
  const fmt = (r?: EmbedRow) => (r?.sentS ? r.sentS.toFixed(2) : r?.error ? `failed: ${r.error}` : '—');
  const lines = [
    `Sentence embeddings: all-MiniLM-L6-v2 shape (hidden 384, 6 layers, 12 heads, ffn 1536, vocab 30522), random f32 weights, sequence ${SEQ}, mean pooling + L2.`,
    '',
    '| threads | batch | Tide sentences/s | onnxruntime-web (wasm) sentences/s | Tide / ORT |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  const keys = [...new Set(rows.map((r) => `${r.threads}/${r.batch}`))];
  for (const k of keys) {
    const [threads, batch] = k.split('/').map(Number);
    const t = rows.find((r) => r.engine === 'tide' && r.threads === threads && r.batch === batch);
    const o = rows.find((r) => r.engine === 'onnxruntime-web' && r.threads === threads && r.batch === batch);
    const ratio = t?.sentS && o?.sentS ? `${(t.sentS / o.sentS).toFixed(2)}×` : '—';
    lines.push(`| ${threads} | ${batch} | ${fmt(t)} | ${fmt(o)} | ${ratio} |`);
  }
  const simd = rows.find((r) => r.simd)?.simd;
  lines.push('', `Tide kernels: ${simd ?? '?'} SIMD. Same ids and weights in both; max |Tide − ORT| over two check vectors (one padded): ${maxDiff === undefined ? 'n/a' : maxDiff.toExponential(1)}.`);
  return lines.join('\n');
}

const args = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (args[0] === '--child') {
    const job = JSON.parse(args[1]) as EmbedJob;
    const m = await (job.engine === 'tide' ? runTide(job) : runOrt(job));
    console.log('RESULT ' + JSON.stringify(m));
    process.exit(0);
  }
  const { table } = await benchEmbed({ quick: args.includes('--quick') });
  console.log(table);
}

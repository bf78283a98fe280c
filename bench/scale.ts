// Scale check (issue 4, item 4): a model with DeepSeek-R1-Distill-Qwen-1.5B's config.json shapes and random
// bf16 weights (written once by bench/weights.ts, streamed, into the cache outside the repo) is loaded tensor
// by tensor into q8 and into q4, each in its own process, which reports peak RSS, the wasm memory, weights
// and KV cache as stored, load time and a short greedy run. Not part of `npm test` (minutes, 3.6 GB on disk).
//   node --import tsx bench/scale.ts [q8] [q4] [--context N] [--kv f32|f16]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/index.js';
import { argmax } from '../src/text/sampler.js';
import { ensureModel, SHAPES } from './weights.js';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

async function child(quantize: 'q8' | 'q4', dir: string, ctx: number, kv: 'f32' | 'f16'): Promise<void> {
  const t0 = performance.now();
  const m = await loadModel(dir, { quantize, threads: 1 });
  const loadS = (performance.now() - t0) / 1000;
  const afterLoad = process.resourceUsage().maxRSS * 1024;
  const s = m.session({ contextLength: ctx, kvCache: kv });
  const prompt = Array.from({ length: 16 }, (_, i) => 1000 + 37 * i);
  const t1 = performance.now();
  let logits = s.prefill(prompt);
  const t2 = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) { ids.push(argmax(logits)); logits = s.step(ids[i]); }
  const t3 = performance.now();
  const kvBytes = 2 * m.spec.nLayers * m.spec.kvDim * ctx * (kv === 'f16' ? 2 : 4);
  console.log(JSON.stringify({
    quantize, simd: m.info.simd, parameters: m.info.parameters, loadS: +loadS.toFixed(1),
    weights: MiB(m.info.weightBytes), kvCache: `${MiB(kvBytes)} (${kv}, context ${ctx})`,
    wasmMemory: MiB(m.arena.memory.buffer.byteLength), arenaUsed: MiB(m.arena.usedBytes),
    peakRssAfterLoad: MiB(afterLoad), peakRss: MiB(process.resourceUsage().maxRSS * 1024),
    prefillTokS: +(prompt.length / ((t2 - t1) / 1000)).toFixed(1), decodeTokS: +(8 / ((t3 - t2) / 1000)).toFixed(2),
    ids, finite: logits.every(Number.isFinite),
  }));
  await m.dispose();
}

const ctx = Number(arg('--context', '4096')), kv = arg('--kv', 'f32') as 'f32' | 'f16';
const shape = SHAPES.find((s) => s.name === 'DeepSeek-R1-Distill-Qwen-1.5B')!;
if (process.argv[2] === '--child') {
  await child(process.argv[3] as 'q8' | 'q4', process.argv[4], ctx, kv);
} else {
  const dir = await ensureModel(shape, (s) => console.error(s));
  const quants = process.argv.slice(2).filter((a) => a === 'q8' || a === 'q4');
  for (const q of quants.length ? quants : ['q8', 'q4']) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', q, dir, '--context', String(ctx), '--kv', kv],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    process.stdout.write(out);
  }
}

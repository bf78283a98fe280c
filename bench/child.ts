// One benchmark configuration, run in its own process so its peak RSS is its own:
// `node <bundle>/child.js '<json Job>'` prints one line "RESULT <json Measured>". The bench runs it bundled
// as JavaScript (bench/child-build.ts); `node --import tsx bench/child.ts '<json>'` runs it from source.
import { loadModel } from '../src/index.js';
import { argmax } from '../src/text/sampler.js';
import type { Job, Measured } from './job.js';
import { benchPrompt, median, peakRssMiB, WARM_DECODE } from './job.js';

async function tide(job: Job): Promise<Measured> {
  const t0 = performance.now();
  const m = await loadModel(job.dir, { threads: job.threads, quantize: job.quant === 'none' ? undefined : job.quant });
  const loadMs = performance.now() - t0;
  const prompt = benchPrompt(m.spec.vocabSize, job.prompt);
  const s = m.session({ contextLength: job.prompt + job.decode, prefillChunk: job.prompt });
  const prefill: number[] = [], decode: number[] = [];
  // One logits array for every step, as generate() keeps (Session.prefill's `out`).
  const out = new Float32Array(m.spec.vocabSize);
  // One untimed run first (full prefill, a few decode steps): V8 tiers wasm up from Liftoff to TurboFan lazily.
  for (let r = -1; r < job.runs; r++) {
    s.reset();
    const t1 = performance.now();
    let logits = s.prefill(r < 0 && job.warmPrompt ? prompt.slice(0, job.warmPrompt) : prompt, { out });
    const t2 = performance.now();
    for (let i = 0; i < (r < 0 ? WARM_DECODE : job.decode); i++) logits = s.step(argmax(logits), out);
    const t3 = performance.now();
    if (r >= 0) { prefill.push(job.prompt / ((t2 - t1) / 1000)); decode.push(job.decode / ((t3 - t2) / 1000)); }
  }
  const info = { weightBytes: m.info.weightBytes, kvBytes: (job.prompt + job.decode) * m.info.kvBytesPerToken, simd: m.info.simd,
    wasmBytes: m.arena.memory.buffer.byteLength };
  await m.dispose();
  return { loadMs, prefill: median(prefill), decode: job.decode ? median(decode) : undefined, prefillRuns: prefill, decodeRuns: decode, ...info };
}

const job = JSON.parse(process.argv[2]) as Job;
const engines: Record<string, (j: Job) => Promise<Measured>> = {
  tide,
  wllama: async (j) => (await import('./wllama.js')).runWllama(j),
  ort: async (j) => (await import('./ort.js')).runOrt(j),
  llamacpp: async (j) => (await import('./llamacpp.js')).runLlamaCpp(j),
};
const r = await engines[job.engine](job);
r.maxRssMiB = peakRssMiB();
console.log('RESULT ' + JSON.stringify(r));
process.exit(0);

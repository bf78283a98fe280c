// node-llama-cpp 3.22.1: native llama.cpp through its prebuilt CPU binary (no GPU, never built here), on
// the same GGUF files bench/gguf.ts writes for wllama. Greedy decode through its own sampler, as the
// other rows; its default KV cache (f16) and flash attention choice ('auto'), as a user gets them.
import { readFileSync } from 'node:fs';
import { benchPrompt, median, WARM_DECODE, type Job, type Measured } from './job.js';

export async function runLlamaCpp(job: Job): Promise<Measured> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: job.threads });
  const model = await llama.loadModel({ modelPath: job.file!, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: job.prompt + Math.max(job.decode, WARM_DECODE) + 8, batchSize: job.prompt, threads: job.threads });
  const seq = context.getSequence();
  const loadMs = performance.now() - t0;
  const vocab = JSON.parse(readFileSync(`${job.dir}/config.json`, 'utf8')).vocab_size as number;
  const prompt = benchPrompt(vocab, job.prompt) as never[];
  const prefill: number[] = [], decode: number[] = [];
  // One untimed run first, as Tide's child does.
  for (let r = -1; r < job.runs; r++) {
    await seq.clearHistory();
    const t1 = performance.now();
    // The generator evaluates the prompt and samples the first token on the first next(); each later next()
    // evaluates the token it gave and samples the one after: one decode step.
    const gen = seq.evaluate(prompt, { temperature: 0 });
    await gen.next();
    const t2 = performance.now();
    const steps = r < 0 ? WARM_DECODE : job.decode;
    for (let i = 0; i < steps; i++) await gen.next();
    const t3 = performance.now();
    await gen.return();
    if (r >= 0) { prefill.push(job.prompt / ((t2 - t1) / 1000)); decode.push(job.decode / ((t3 - t2) / 1000)); }
  }
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { loadMs, prefill: median(prefill), decode: median(decode), prefillRuns: prefill, decodeRuns: decode };
}

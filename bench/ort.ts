// onnxruntime-web (wasm backend, in Node) on the bench's llama / qwen2 prefill graph: prefill tok/s only.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-web';
import { benchPrompt, median, type Job, type Measured } from './job.js';

/** An onnxruntime-web wasm session on `threads` threads, every graph optimization on, and how long it took to create. */
export async function openOrt(file: string, threads: number): Promise<{ session: ort.InferenceSession; loadMs: number }> {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const t0 = performance.now();
  // Weights past protobuf's 2 GB limit sit in `file`.data (bench/onnx-llama.ts); ort-web mounts it by the name the model uses.
  const data = `${file}.data`, externalData = existsSync(data) ? [{ path: basename(data), data }] : undefined;
  const session = await ort.InferenceSession.create(readFileSync(file), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', externalData });
  return { session, loadMs: performance.now() - t0 };
}

export async function runOrt(job: Job): Promise<Measured> {
  const { session, loadMs } = await openOrt(job.file!, job.threads);
  const config = JSON.parse(readFileSync(`${job.dir}/config.json`, 'utf8'));
  const ids = new ort.Tensor('int64', BigInt64Array.from(benchPrompt(config.vocab_size, job.prompt).map(BigInt)), [1, job.prompt]);
  const prefill: number[] = [];
  // Two untimed runs first, as the peers' ort_bench did.
  for (let r = -2; r < job.runs; r++) {
    const t1 = performance.now();
    await session.run({ input_ids: ids });
    if (r >= 0) prefill.push(job.prompt / ((performance.now() - t1) / 1000));
  }
  await session.release();
  return { loadMs, prefill: median(prefill), prefillRuns: prefill, decodeRuns: [] };
}

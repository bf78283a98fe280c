// node-llama-cpp's parallel sequences for bench/batch.ts, in a process of its own (its native threads
// share no process with Tide's measurement): `node --import tsx bench/batch-llamacpp.ts '<json PeerJob>'`
// prints a line "RUN <json {threads, n, run: StreamRun, cut?}>" as each of its rows' one run ends (a run cut off
// by the caller's timeout loses only the rows after it), then "DONE". A row that runs past capS stops there
// (on a busy 2-core machine llama.cpp's 2 threads can fall to a few tokens/s); its rates are over the tokens
// made, and `cut` says how many each stream made.
// One context per count with `sequences: n`: node-llama-cpp queues every sequence's next token and decodes
// them in one llama_decode per step (its batching dispatches on the next event-loop cycle), greedy through
// its own sampler. The same 32-id prompts as Tide's streams; tokens timed as they reach this process's
// main thread (job.ts's streamClock), which feeds every step, as Tide's scheduler does.
import { cpuS, streamClock, streamPrompt, type StreamRun } from './job.js';

export interface PeerJob {
  file: string;       // the GGUF (bench/gguf.ts)
  vocab: number;
  rows: { threads: number; n: number }[];  // one run each, in order: threads, sequences
  tokens: number;     // tokens per stream
  capS: number;       // a row's run stops after this long
  context: number;    // KV cache positions per sequence
  prompt: number;     // prompt ids per stream
}

const job = JSON.parse(process.argv[2]) as PeerJob;
const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: Math.max(...job.rows.map((r) => r.threads)) });
const model = await llama.loadModel({ modelPath: job.file, gpuLayers: 0 });
type Seq = ReturnType<Awaited<ReturnType<typeof model.createContext>>['getSequence']>;

/** Every sequence generates `tokens` greedy tokens from its own prompt, all at once; each token timed. */
async function run(seqs: Seq[], tokens: number): Promise<StreamRun & { cut?: number }> {
  for (const s of seqs) await s.clearHistory();
  const clock = streamClock(seqs.length), stop = performance.now() + job.capS * 1000;
  let cut: number | undefined;
  await Promise.all(seqs.map(async (seq, s) => {
    // The first next() evaluates the prompt and samples the first token; each later one evaluates the
    // token it gave and samples the next (one decode step, batched with the other sequences' steps).
    const gen = seq.evaluate(streamPrompt(job.vocab, s, job.prompt) as never[], { temperature: 0, yieldEogToken: true });
    for (let i = 0; i < tokens; i++) {
      if ((await gen.next()).done) break;
      clock.token(s);
      if (i + 1 < tokens && performance.now() > stop) { cut = Math.min(cut ?? tokens, i + 1); break; }
    }
    await gen.return();
  }));
  return { ...clock.result(), cut };
}

for (const { threads, n } of job.rows) {
  const context = await model.createContext({ sequences: n, contextSize: job.context, batchSize: job.prompt * n, threads });
  const seqs = Array.from({ length: n }, () => context.getSequence());
  await run(seqs, 4); // untimed: the context's first graphs (prompt batch and step batch) allocate their buffers
  const { cut, ...r } = await run(seqs, job.tokens);
  console.log('RUN ' + JSON.stringify({ threads, n, run: r, cut }));
  await context.dispose();
}
await model.dispose();
await llama.dispose();
console.log('DONE');
process.exit(0);

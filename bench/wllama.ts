// @wllama/wllama 2.3.7 (llama.cpp in wasm, single-thread build) in Node 20, adapted from
// the workplace's peers/wllama_node.mjs: it is a browser library, so Worker, Blob URLs, navigator and
// document are shimmed over worker_threads. 3.x needs memory64 and JSPI, which Node 20 lacks.
import { openAsBlob } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';
import { benchPrompt, median, WARM_DECODE, type Job, type Measured } from './job.js';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@wllama/wllama/package.json'));

function installShims(): void {
  const g = globalThis as any;
  g.navigator ??= { hardwareConcurrency: 2, userAgent: 'node' };
  g.document = { baseURI: 'file://' + pkgDir + '/' };
  const blobs = new Map<string, Blob>();
  let nb = 0;
  URL.createObjectURL = (b: Blob) => { const u = 'blob:shim/' + nb++; blobs.set(u, b); return u; };
  URL.revokeObjectURL = (u: string) => { blobs.delete(u); };
  const SHIM = `const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis; globalThis.postMessage = (d, t) => parentPort.postMessage(d, t);
parentPort.on('message', (d) => globalThis.onmessage && globalThis.onmessage({ data: d }));\n`;
  g.Worker = class {
    q: [unknown, unknown][] | null = [];
    w?: NodeWorker;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    constructor(url: string) {
      blobs.get(url)!.text().then((code) => {
        this.w = new NodeWorker(SHIM + code, { eval: true });
        this.w.on('message', (d) => this.onmessage?.({ data: d }));
        this.w.on('error', (e) => this.onerror?.(e));
        for (const [d, t] of this.q!) this.w.postMessage(d, t as any);
        this.q = null;
      });
    }
    postMessage(d: unknown, t: unknown) { if (this.q) this.q.push([d, t]); else this.w!.postMessage(d, t as any); }
    terminate() { this.w?.terminate(); }
    addEventListener(ev: string, fn: any) { if (ev === 'message') this.onmessage = fn; if (ev === 'error') this.onerror = fn; }
  };
}

/** `kvF32`: an f32 KV cache and no flash attention (bench/check.ts); else wllama's defaults (f16 KV), as the bench rows use. */
async function load(file: string, batch: number, kvF32 = false): Promise<any> {
  installShims();
  const { Wllama } = await import(pkgDir + '/esm/index.js');
  const quiet = { debug() {}, log() {}, info() {}, warn: console.warn, error: console.error };
  const wl = new Wllama({ 'single-thread/wllama.wasm': 'esm/single-thread/wllama.wasm' }, { suppressNativeLog: true, logger: quiet });
  const kv = kvF32 ? { cache_type_k: 'f32', cache_type_v: 'f32', flash_attn: false } : {};
  // A file-backed Blob: wllama streams it into its wasm heap, so Node holds no copy of a 1-2 GB file.
  await wl.loadModel([await openAsBlob(file)], { n_ctx: 512, n_batch: batch, n_threads: 1, ...kv });
  return wl;
}

/** The top-k tokens and probabilities after `prompt`, most likely first; k = -1: all (bench/check.ts compares them with Tide's). */
export async function runWllamaTop(file: string, prompt: number[], k: number, kvF32 = false): Promise<{ token: number; p: number }[]> {
  const wl = await load(file, prompt.length, kvF32);
  await wl.samplingInit({ temp: 0 });
  await wl.decode(prompt, {});
  const top = await wl.getLogits(k);
  await wl.exit();
  return top;
}

export async function runWllama(job: Job): Promise<Measured> {
  const t0 = performance.now();
  const wl = await load(job.file!, job.prompt);
  const loadMs = performance.now() - t0;
  const prompt = benchPrompt(wl.getModelMetadata().hparams.nVocab, job.prompt);
  const prefill: number[] = [], decode: number[] = [];
  // Two untimed runs first: V8 tiers wasm up lazily and wllama's first runs are 2–3× slower (peers/RESULTS.md).
  for (let r = -2; r < job.runs; r++) {
    await wl.kvClear();
    await wl.samplingInit({ temp: 0 });
    const t1 = performance.now();
    await wl.decode(prompt, {});
    const t2 = performance.now();
    for (let i = 0; i < (r < 0 ? WARM_DECODE : job.decode); i++) {
      const { token } = await wl.samplingSample();
      await wl.samplingAccept([token]);
      await wl.decode([token], {});
    }
    const t3 = performance.now();
    if (r >= 0) { prefill.push(job.prompt / ((t2 - t1) / 1000)); decode.push(job.decode / ((t3 - t2) / 1000)); }
  }
  await wl.exit();
  return { loadMs, prefill: median(prefill), decode: median(decode), prefillRuns: prefill, decodeRuns: decode };
}

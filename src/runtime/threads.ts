// A pool of worker threads over one shared wasm memory: the caller and threads − 1 workers split a
// kernel's row (or head) range, ggml ith/nth style, through a shared control block and Atomics — no
// message per op. Core code: workers are made by a ThreadSpawner (src/node/threads.ts, or Web Workers).
import { OptionError } from '../errors.js';
import { instantiate, type Kernels } from './wasm.js';
import { isNode, nodeThreads } from '../node-parts.js';

/** What a worker receives once, before it starts serving. */
export interface WorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; ith: number }
export interface ThreadHandle { terminate(): unknown }
/** Starts one worker with `init`; resolves once its kernels are instantiated. */
export type ThreadSpawner = (init: WorkerInit) => Promise<ThreadHandle>;

/** What src/node/threads.ts provides. */
interface NodeThreads { nodeCores(): number; spawnNodeWorker: ThreadSpawner }

/** Per-thread scratch: argument `arg` (an address) is offset by ith × `strideBytes` in thread ith. */
export interface Scratch { arg: number; strideBytes: number }

// Control block: Int32 slots, then the kernel's arguments as float64 (addresses reach 2^32).
// A job is cut into chunks that every thread claims from NEXT (job tag << 11 | chunk), so a worker
// that is late (descheduled on a busy machine) leaves its chunks to the others instead of stalling them.
const GEN = 0, NEXT = 1, DONE = 2, FN = 3, LO = 4, HI = 5, CHUNK = 6, NCHUNKS = 7, NTH = 8, NARGS = 9,
  SCRATCH_ARG = 10, SCRATCH_STRIDE = 11, QUIT = 12;
const ARGS_OFFSET = 64, MAX_ARGS = 16, CONTROL_BYTES = ARGS_OFFSET + 8 * MAX_ARGS;
/** NEXT between jobs: matches no job's tag, so a late worker can claim nothing while arguments change. */
const CLOSED = -1;
// 20 bits of tag: a worker would have to sleep through a million jobs to mistake an old job for a new one.
const CHUNK_BITS = 11, CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const tagOf = (gen: number) => (gen & 0xfffff) << CHUNK_BITS;
/** Rows per chunk are a multiple of this, so multi-row kernels keep whole tiles. */
export const ROW_ALIGN = 16;
/** Chunks per thread: small enough to rebalance when a thread is late, few enough to keep claims cheap. */
const CHUNKS_PER_THREAD = 4;
/** A worker spins this long after a job before it sleeps in Atomics.wait: decode issues jobs µs apart. */
const WORKER_SPIN_MS = 2;
/** The caller spins this many polls for chunks still running elsewhere before it sleeps. */
const CALLER_SPINS = 1 << 14;

type KernelFn = (...args: number[]) => void;

/** The kernels' exported functions in a fixed order (both sides index the same module). */
function kernelTable(k: Kernels): { names: string[]; fns: KernelFn[] } {
  const exports = k as unknown as Record<string, unknown>;
  const names = Object.keys(exports).filter((n) => typeof exports[n] === 'function').sort();
  return { names, fns: names.map((n) => exports[n] as KernelFn) };
}

/** Rows per chunk when nth threads split [lo, hi) in multiples of `align`. */
export function chunkRows(lo: number, hi: number, nth: number, align: number): number {
  return Math.ceil((hi - lo) / (nth * CHUNKS_PER_THREAD) / align) * align;
}

/** Whether this engine can share wasm memory with workers (browsers: only when cross-origin isolated). */
export function threadsSupported(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return typeof SharedArrayBuffer !== 'undefined' && typeof Atomics !== 'undefined' && g.crossOriginIsolated !== false;
}

/**
 * Claim and run chunks of job `gen` as thread ith until none is left. The arguments were read after
 * GEN showed the job, and a claim under the job's tag proves the job was not finished (and its
 * arguments not yet replaced) when they were read.
 */
function drain(ctrl: Int32Array, args: Float64Array, fns: KernelFn[], call: number[], ith: number, gen: number): void {
  const tag = tagOf(gen), n = ctrl[NARGS], lo = ctrl[LO], hi = ctrl[HI], chunk = ctrl[CHUNK], nChunks = ctrl[NCHUNKS];
  const fn = fns[ctrl[FN]];
  call.length = n + 2;
  for (let i = 0; i < n; i++) call[i] = args[i];
  if (ctrl[SCRATCH_ARG] >= 0) call[ctrl[SCRATCH_ARG]] += ith * ctrl[SCRATCH_STRIDE];
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if ((v & ~CHUNK_MASK) !== tag || (v & CHUNK_MASK) >= nChunks) return;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) !== v) continue;
    const r0 = lo + (v & CHUNK_MASK) * chunk;
    call[n] = r0; call[n + 1] = Math.min(hi, r0 + chunk);
    fn.apply(null, call);
    if (Atomics.add(ctrl, DONE, 1) + 1 === nChunks) Atomics.notify(ctrl, DONE);
  }
}

/** Worker side: instantiate the kernels over the shared memory, report ready, then serve jobs until closed. */
export function serveInit(init: WorkerInit, ready: () => void): void {
  const k = instantiate(init.module, init.memory);
  ready();
  serve(k, init.control, init.ith);
}

function serve(k: Kernels, control: SharedArrayBuffer, ith: number): void {
  const ctrl = new Int32Array(control, 0, ARGS_OFFSET / 4), args = new Float64Array(control, ARGS_OFFSET, MAX_ARGS);
  const { fns } = kernelTable(k);
  const call: number[] = [];
  // Jobs count from 0 in a fresh control block; a job may already be posted when this runs.
  let seen = 0;
  for (;;) {
    let gen = Atomics.load(ctrl, GEN);
    const spinUntil = performance.now() + WORKER_SPIN_MS;
    for (let i = 0; gen === seen; i++) {
      if ((i & 1023) === 1023 && performance.now() > spinUntil) Atomics.wait(ctrl, GEN, seen);
      gen = Atomics.load(ctrl, GEN);
    }
    seen = gen;
    if (ctrl[QUIT]) return;
    if (ith < ctrl[NTH]) drain(ctrl, args, fns, call, ith, gen);
  }
}

/** The caller's side: threads − 1 workers plus the calling thread, over one shared memory. */
export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly index: Map<string, number>;
  private readonly fns: KernelFn[];
  private readonly canWait: boolean;
  private readonly call: number[] = [];
  /** Jobs split so far (tests check the threads were really used). */
  jobs = 0;

  private constructor(readonly threads: number, control: SharedArrayBuffer, k: Kernels,
                      private readonly workers: ThreadHandle[]) {
    this.ctrl = new Int32Array(control, 0, ARGS_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_OFFSET, MAX_ARGS);
    const { names, fns } = kernelTable(k);
    this.index = new Map(names.map((n, i) => [n, i]));
    this.fns = fns;
    this.canWait = mayWait(this.ctrl);
  }

  /** Start threads − 1 workers running `module` over `memory` (which must be shared). */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, k: Kernels,
                     spawn: ThreadSpawner): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers = await Promise.all(Array.from({ length: threads - 1 }, (_, i) => spawn({ module, memory, control, ith: i + 1 })));
    return new ThreadPool(threads, control, k, workers);
  }

  /**
   * kernel(...args, r0, r1) over chunks of [lo, hi) run by the first nth ≤ threads threads (this one
   * included); returns when every chunk is done. Each row is computed whole by one thread, so the
   * result does not depend on the split.
   */
  run(kernel: keyof Kernels, args: number[], lo: number, hi: number, nth: number, align = 1, scratch?: Scratch): void {
    if (hi <= lo) return;
    const { ctrl } = this;
    const chunk = chunkRows(lo, hi, nth, align), nChunks = Math.ceil((hi - lo) / chunk);
    const gen = ++this.jobs;
    Atomics.store(ctrl, NEXT, CLOSED);
    ctrl[FN] = this.index.get(kernel)!; ctrl[LO] = lo; ctrl[HI] = hi; ctrl[CHUNK] = chunk; ctrl[NCHUNKS] = nChunks;
    ctrl[NTH] = nth; ctrl[NARGS] = args.length;
    ctrl[SCRATCH_ARG] = scratch ? scratch.arg : -1;
    ctrl[SCRATCH_STRIDE] = scratch ? scratch.strideBytes : 0;
    this.args.set(args);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, NEXT, tagOf(gen));
    Atomics.store(ctrl, GEN, gen);
    Atomics.notify(ctrl, GEN);
    drain(ctrl, this.args, this.fns, this.call, 0, gen);
    this.join(nChunks);
  }

  private join(nChunks: number): void {
    const { ctrl } = this;
    for (let i = 0; i < CALLER_SPINS || !this.canWait; i++) if (Atomics.load(ctrl, DONE) === nChunks) return;
    for (let done = Atomics.load(ctrl, DONE); done !== nChunks; done = Atomics.load(ctrl, DONE)) Atomics.wait(ctrl, DONE, done);
  }

  /** Stop and terminate the workers (the pool is unusable afterwards). */
  async close(): Promise<void> {
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/** Atomics.wait throws on a browser's main thread; there the caller only spins. */
function mayWait(ctrl: Int32Array): boolean {
  try {
    Atomics.wait(ctrl, QUIT, -1, 0);
    return true;
  } catch {
    return false;
  }
}

/** A ThreadSpawner over Web Workers (browsers; the page must be cross-origin isolated). */
export const spawnWebWorker: ThreadSpawner = (init) => new Promise((resolve, reject) => {
  const w = new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module' });
  w.onmessage = () => resolve({ terminate: () => w.terminate() });
  w.onerror = (e) => reject(new Error(`tide worker ${init.ith}: ${e.message}`));
  w.postMessage(init);
});

/** Most threads a pool may have (a typo guard: more than any CPU this runs on). */
export const MAX_THREADS = 256;

/**
 * The thread count: `requested`, else env TIDE_THREADS, else the cores (1 where SharedArrayBuffer is
 * missing). A request for more than 1 where threads cannot work is an error, never quietly 1.
 */
export async function resolveThreads(requested?: number): Promise<number> {
  const env = typeof process !== 'undefined' ? process.env?.TIDE_THREADS : undefined;
  const want = requested ?? (env ? Number(env) : undefined);
  const what = requested !== undefined ? `threads ${requested}` : `TIDE_THREADS ${env}`;
  if (want !== undefined) {
    if (!Number.isInteger(want) || want < 1 || want > MAX_THREADS) throw new OptionError(`${what} must be an integer in 1..${MAX_THREADS}`);
    if (want > 1 && !threadsSupported()) throw new OptionError(`${what}: this engine has no SharedArrayBuffer (browsers: serve the page cross-origin isolated)`);
    return want;
  }
  if (!threadsSupported()) return 1;
  if (isNode()) return (await nodeThreads<NodeThreads>()).nodeCores();
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** worker_threads in Node, Web Workers elsewhere. */
export async function defaultSpawner(): Promise<ThreadSpawner> {
  return isNode() ? (await nodeThreads<NodeThreads>()).spawnNodeWorker : spawnWebWorker;
}


// Worker threads for Node: a ThreadSpawner over worker_threads, and the default thread count.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ThreadSpawner } from '../runtime/threads.js';

// Under tsx (tests, bench) this file is .ts and so is its worker, and tsx's --import hooks do not
// reach worker threads in Node 20: such a worker registers tsx itself first. Built, both are .js.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`./worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
const TSX_ENTRY = () => `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;

export const spawnNodeWorker: ThreadSpawner = (init) => new Promise((resolve, reject) => {
  const w = fromSource ? new Worker(TSX_ENTRY(), { eval: true, workerData: init }) : new Worker(WORKER_URL, { workerData: init });
  // A forgotten model must not keep the process alive; Model.dispose() terminates them properly.
  w.unref();
  w.once('message', () => resolve({ terminate: () => w.terminate() }));
  w.once('error', (e) => reject(new Error(`tide worker ${init.ith}: ${e.message}`)));
});

/** Cores this process may use. */
export const nodeCores = (): number => availableParallelism();

// Entry of one Node worker thread: serves kernel jobs from the pool (src/runtime/threads.ts) until closed.
import { parentPort, workerData } from 'node:worker_threads';
import { serveInit, type WorkerInit } from '../runtime/threads.js';

serveInit(workerData as WorkerInit, () => parentPort!.postMessage('ready'));

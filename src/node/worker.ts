// Entry of one Node worker thread: serves kernel jobs from the pool (src/threads.ts) until closed.
import { parentPort, workerData } from 'node:worker_threads';
import { serveInit, type WorkerInit } from '../threads.js';

serveInit(workerData as WorkerInit, () => parentPort!.postMessage('ready'));

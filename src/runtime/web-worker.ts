// Entry of one Web Worker (browsers): serves kernel jobs from the pool (src/runtime/threads.ts) until closed.
import { serveInit, type WorkerInit } from './threads.js';

self.onmessage = (e: MessageEvent<WorkerInit>) => serveInit(e.data, () => self.postMessage('ready'));

// The admission queue: inference is synchronous work on one thread, so at most `slots` jobs run
// (interleaved token by token) and at most `maxWaiting` wait; past that a request is turned away (429).
import { ApiError } from './errors.js';

interface Waiter { start: () => void; signal: AbortSignal; onAbort: () => void }

export class JobQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private avgJobMs = 1000; // moving average, for Retry-After
  private readonly onIdle: (() => void)[] = [];

  constructor(readonly slots: number, readonly maxWaiting: number) {}

  get stats(): { running: number; waiting: number; slots: number; maxWaiting: number } {
    return { running: this.running, waiting: this.waiting.length, slots: this.slots, maxWaiting: this.maxWaiting };
  }

  /**
   * Run `job` when a slot frees. Throws a 429 ApiError at once when the queue is full; resolves
   * undefined without running the job when `signal` aborts while it waits.
   */
  async run<T>(signal: AbortSignal, job: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.slots) {
      if (this.waiting.length >= this.maxWaiting) throw this.full();
      const started = await this.wait(signal);
      if (!started) return undefined;
    } else {
      this.running++;
    }
    const t0 = performance.now();
    try {
      return await job();
    } finally {
      this.avgJobMs = 0.8 * this.avgJobMs + 0.2 * (performance.now() - t0);
      this.running--;
      this.next();
    }
  }

  /** Resolves once no job runs or waits (a closing server's aborted requests have all left). */
  drained(): Promise<void> {
    return new Promise((resolve) => { this.onIdle.push(resolve); this.settle(); });
  }

  /** Resolves true once this waiter holds a slot, false if it was aborted first. */
  private wait(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const w: Waiter = {
        signal,
        start: () => { signal.removeEventListener('abort', w.onAbort); resolve(true); },
        onAbort: () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
          this.settle();
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  private next(): void {
    while (this.running < this.slots && this.waiting.length) {
      this.running++;
      this.waiting.shift()!.start();
    }
    this.settle();
  }

  private settle(): void {
    if (this.running === 0 && this.waiting.length === 0) this.onIdle.splice(0).forEach((resolve) => resolve());
  }

  private full(): ApiError {
    // Time until the jobs ahead are likely done, in whole seconds.
    const ahead = (this.running + this.waiting.length) / this.slots;
    const retryAfter = Math.min(60, Math.max(1, Math.ceil((ahead * this.avgJobMs) / 1000)));
    return new ApiError(429, 'rate_limit_error', `server busy: ${this.running} running and ${this.waiting.length} waiting (the limit); retry after ${retryAfter} s`,
      null, 'queue_full', { 'Retry-After': String(retryAfter) });
  }
}

// Concurrent /v1/embeddings requests embedded together: inputs that arrive while a batch runs wait for the
// next one, which packs them (up to the embedder's batch size per forward) into the same encoder passes.
// The event loop runs between batches, so health checks and new requests are seen.
import { DEFAULT_BATCH_SIZE, type Embedder } from '../text/embed.js';

interface Pending { ids: number[][]; signal: AbortSignal; resolve: (v: Float32Array[] | undefined) => void; reject: (e: unknown) => void }

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class EmbedBatcher {
  private readonly pending: Pending[] = [];
  private running = false;
  /** Embedder calls made (each up to batchSize inputs), for tests. */
  batches = 0;

  constructor(readonly embedder: Embedder, readonly batchSize = DEFAULT_BATCH_SIZE) {}

  /** The vectors of `ids`, in order; undefined when `signal` aborts before they are made. */
  embed(ids: number[][], signal: AbortSignal): Promise<Float32Array[] | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ids, signal, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await tick(); // requests that arrive in this turn join the first batch
      while (this.pending.length) {
        const taken = this.pending.splice(0);
        for (const p of taken) if (p.signal.aborted) p.resolve(undefined); // the client left while it waited
        const group = taken.filter((p) => !p.signal.aborted);
        const all = group.flatMap((p) => p.ids), vectors: Float32Array[] = [];
        try {
          for (let b = 0; b < all.length; b += this.batchSize) {
            vectors.push(...await this.embedder.embed(all.slice(b, b + this.batchSize)));
            this.batches++;
            await tick();
          }
        } catch (e) {
          for (const p of group) p.reject(e);
          continue;
        }
        let at = 0;
        for (const p of group) { p.resolve(vectors.slice(at, at + p.ids.length)); at += p.ids.length; }
      }
    } finally {
      this.running = false;
    }
  }
}

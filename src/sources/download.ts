// One HTTP GET of a model file into a cache, with an idle timeout and a byte count check. Uses only
// fetch and streams, so it runs unchanged in Node, Deno, Bun, browsers and edge runtimes.
import type { CacheWriter } from './cache.js';
import { SourceError } from '../errors.js';
import type { ByteReader } from './sources.js';

export interface RequestOptions {
  fetch: typeof fetch;
  headers?: Record<string, string>;
  /** Milliseconds without any bytes (waiting for headers or for the next chunk) before the request is aborted. */
  timeoutMs: number;
  /** Aborts this request when another one of the same load has failed. */
  signal: AbortSignal;
}

/** A response whose headers have arrived; its body is read by `save`. */
export interface Opened {
  url: string;
  res: Response;
  /** From Content-Length; NaN when the server did not send it (or compressed the body). */
  totalBytes: number;
  timer: IdleTimer;
}

/** Send the GET and wait for the headers; 'missing' for HTTP 404. Throws SourceError for anything else. */
export async function openUrl(url: string, o: RequestOptions): Promise<Opened | 'missing'> {
  const timer = new IdleTimer(url, o.timeoutMs, o.signal);
  let res: Response;
  try {
    res = await o.fetch(url, { headers: o.headers, signal: timer.signal, redirect: 'follow' });
  } catch (e) {
    timer.stop();
    throw timer.explain(e, `${url}: request failed`);
  }
  if (res.status === 404) {
    timer.stop();
    await res.body?.cancel().catch(() => undefined);
    return 'missing';
  }
  if (!res.ok) {
    timer.stop();
    await res.body?.cancel().catch(() => undefined);
    const hint = res.status === 401 || res.status === 403 ? ' (private or gated: pass headers with an Authorization token)' : '';
    throw new SourceError(`${url}: HTTP ${res.status} ${res.statusText}${hint}`);
  }
  const length = res.headers.get('content-length');
  const encoded = res.headers.get('content-encoding');
  const totalBytes = length !== null && !encoded ? Number(length) : NaN;
  timer.touch();
  return { url, res, totalBytes, timer };
}

/**
 * Stream the body into `writer` and commit it. On any failure the writer is aborted (the cache keeps
 * nothing) and a SourceError naming the URL is thrown.
 */
export async function save(o: Opened, writer: CacheWriter, onBytes: (loadedBytes: number) => void): Promise<ByteReader> {
  const { url, res, totalBytes, timer } = o;
  let loaded = 0;
  const reader = res.body?.getReader();
  try {
    if (!reader) throw new SourceError(`${url}: response has no body`);
    for (;;) {
      const { done, value } = await readOrAbort(reader, timer.signal)
        .catch((e) => { throw timer.explain(e, `${url}: connection lost after ${loaded}${of(totalBytes)} bytes`); });
      if (done) break;
      timer.touch();
      await writer.write(value);
      loaded += value.length;
      onBytes(loaded);
    }
    timer.stop();
    if (!Number.isNaN(totalBytes) && loaded !== totalBytes) {
      throw new SourceError(`${url}: body ended after ${loaded} of ${totalBytes} bytes (Content-Length)`);
    }
    return await writer.commit();
  } catch (e) {
    timer.stop();
    await writer.abort().catch(() => undefined);
    // Not awaited: after an abort, Node 20's fetch may never settle the cancel either (see readOrAbort).
    void reader?.cancel().catch(() => undefined);
    throw e;
  }
}

/**
 * reader.read(), rejected as soon as `signal` aborts: Node 20's fetch can leave a read pending forever
 * when its request is aborted mid-body (seen here: a load whose other file 404s hung 1 time in 6).
 */
function readOrAbort(reader: ReadableStreamDefaultReader<Uint8Array>, signal: AbortSignal): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((ok, fail) => {
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    reader.read().then(ok, fail).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const of = (total: number) => (Number.isNaN(total) ? '' : ` of ${total}`);

/** Aborts the request when no bytes arrive for `ms`, and turns abort reasons into clear errors. */
class IdleTimer {
  private readonly ctrl = new AbortController();
  private handle: ReturnType<typeof setTimeout> | undefined;
  private fired = false;
  readonly signal = this.ctrl.signal;

  constructor(private readonly url: string, private readonly ms: number, private readonly outer: AbortSignal) {
    if (outer.aborted) this.ctrl.abort(outer.reason);
    outer.addEventListener('abort', () => this.ctrl.abort(outer.reason), { once: true });
    this.touch();
  }

  touch(): void {
    clearTimeout(this.handle);
    this.handle = setTimeout(() => { this.fired = true; this.ctrl.abort(); }, this.ms);
  }

  stop(): void { clearTimeout(this.handle); }

  /** The error to report for a failed fetch or read: timeout, the other request's failure, or the network's. */
  explain(e: unknown, what: string): Error {
    if (this.fired) return new SourceError(`${this.url}: no data for ${this.ms} ms (timeoutMs)`);
    if (this.outer.aborted) return this.outer.reason instanceof Error ? this.outer.reason : new SourceError(`${this.url}: cancelled`);
    if (e instanceof SourceError) return e;
    const err = e as Error & { cause?: { message?: string } };
    const cause = err.cause?.message ? ` (${err.cause.message})` : '';
    return new SourceError(`${what}: ${err.message}${cause}`);
  }
}

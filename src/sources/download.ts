// One HTTP GET of a model file into a cache: redirects followed by hand (credentials stay on their own
// origin), an idle timeout, and a body bounded by its declared size or a cap, checked against its digest.
// Uses only fetch and streams, so it runs unchanged in Node, Deno, Bun, browsers and edge runtimes.
import type { CacheWriter } from './cache.js';
import { SourceError } from '../errors.js';
import { hasherFor, type Digest } from './hash.js';
import type { ByteReader } from './sources.js';

export interface RequestOptions {
  fetch: typeof fetch;
  /** The headers for a request to this URL: credentials only for the origin they were given for. */
  headersFor: (url: URL) => HeadersInit | undefined;
  /** Milliseconds without any bytes (waiting for headers or for the next chunk) before the request is aborted. */
  timeoutMs: number;
  /** Aborts this request when another one of the same load has failed. */
  signal: AbortSignal;
}

/** A response whose headers have arrived; its body is read by `save`. */
export interface Opened {
  /** The URL asked for (redirects are not shown in messages). */
  url: string;
  res: Response;
  /** The first response's headers: the hub's own (X-Linked-Etag, X-Repo-Commit), not its CDN's. */
  first: Headers;
  /** Content-Length of the body as read; NaN when absent or the body is compressed. */
  length: number;
  timer: IdleTimer;
}

/** What the body must be: exactly `bytes` long when anything declares it, never over `maxBytes`, hashing to `digest`. */
export interface Expect {
  /** From the hub's listing or headers; Content-Length is used when this is absent. */
  bytes?: number;
  maxBytes: number;
  /** The option that sets maxBytes, for messages. */
  maxOption: string;
  digest?: Digest;
}

const MAX_REDIRECTS = 10;

/** Send the GET and wait for the final headers; 'missing' for HTTP 404. Throws SourceError for anything else. */
export async function openUrl(url: string, o: RequestOptions): Promise<Opened | 'missing'> {
  const timer = new IdleTimer(url, o.timeoutMs, o.signal);
  try {
    let at = new URL(url);
    let first: Headers | undefined;
    for (let hops = 0; ; hops++) {
      let res = await o.fetch(at.href, { headers: o.headersFor(at), signal: timer.signal, redirect: 'manual' });
      // Browsers hide a redirect's Location; there fetch follows it and drops Authorization across origins.
      if (res.type === 'opaqueredirect') res = await o.fetch(at.href, { headers: o.headersFor(at), signal: timer.signal });
      first ??= res.headers;
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location === null) return await opened(url, res, first, timer);
      await discard(res);
      if (hops === MAX_REDIRECTS) throw new SourceError(`${url}: more than ${MAX_REDIRECTS} redirects`);
      at = redirectTarget(url, at, location);
    }
  } catch (e) {
    timer.stop();
    throw timer.explain(e, `${url}: request failed`);
  }
}

/** Where a redirect leads; only http(s), and never from https down to http. */
function redirectTarget(url: string, from: URL, location: string): URL {
  const to = new URL(location, from);
  if (!/^https?:$/.test(to.protocol) || (from.protocol === 'https:' && to.protocol === 'http:')) {
    throw new SourceError(`${url}: refusing a redirect to ${to.protocol}//${to.host}`);
  }
  return to;
}

async function opened(url: string, res: Response, first: Headers, timer: IdleTimer): Promise<Opened | 'missing'> {
  if (res.status === 404) {
    timer.stop();
    await discard(res);
    return 'missing';
  }
  if (!res.ok) {
    timer.stop();
    await discard(res);
    const code = res.headers.get('x-error-code');
    const hint = res.status === 401 || res.status === 403 ? ' (private or gated: pass a token, $HF_TOKEN or headers)' : '';
    throw new SourceError(`${url}: HTTP ${res.status} ${res.statusText}${code ? ` ${code}` : ''}${hint}`);
  }
  const length = res.headers.get('content-length');
  const encoding = res.headers.get('content-encoding');
  timer.touch();
  return { url, res, first, length: length !== null && (!encoding || encoding === 'identity') ? Number(length) : NaN, timer };
}

/**
 * Stream the body into `writer` and commit it. The body may not pass its declared size (the hub's, else
 * Content-Length) or, with none declared, `maxBytes`; decompressed bytes count, so a gzip bomb stops at the
 * bound. On any failure the writer is aborted (the cache keeps nothing) and a SourceError naming the URL is thrown.
 */
export async function save(o: Opened, writer: CacheWriter, expect: Expect, onBytes: (loadedBytes: number) => void): Promise<ByteReader> {
  const { url, res, timer } = o;
  let loaded = 0;
  const reader = res.body?.getReader();
  try {
    const declared = declaredSize(o, expect);
    const bound = declared ?? expect.maxBytes;
    const hasher = expect.digest && declared !== undefined ? await hasherFor(expect.digest, declared) : undefined;
    if (!reader) throw new SourceError(`${url}: response has no body`);
    for (;;) {
      const { done, value } = await readOrAbort(reader, timer.signal)
        .catch((e) => { throw timer.explain(e, `${url}: connection lost after ${loaded}${of(declared)} bytes`); });
      if (done) break;
      timer.touch();
      if (loaded + value.length > bound) {
        throw new SourceError(declared === undefined
          ? `${url}: body passes ${bound} bytes with no size declared (${expect.maxOption})`
          : `${url}: body passes the declared ${declared} bytes`);
      }
      hasher?.update(value);
      await writer.write(value);
      loaded += value.length;
      onBytes(loaded);
    }
    timer.stop();
    if (declared !== undefined && loaded !== declared) throw new SourceError(`${url}: body ended after ${loaded} of ${declared} bytes`);
    const hex = await hasher?.hex();
    if (hex !== undefined && hex !== expect.digest!.hex) {
      throw new SourceError(`${url}: ${expect.digest!.kind} is ${hex}, the hub lists ${expect.digest!.hex}`);
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

/** The size the body must have: the hub's, else Content-Length; refused when they disagree or it is over the cap. */
function declaredSize(o: Opened, e: Expect): number | undefined {
  if (e.bytes !== undefined && !Number.isNaN(o.length) && o.length !== e.bytes) {
    throw new SourceError(`${o.url}: Content-Length ${o.length}, the hub lists ${e.bytes} bytes`);
  }
  const declared = e.bytes ?? (Number.isNaN(o.length) ? undefined : o.length);
  if (declared !== undefined && declared > e.maxBytes) {
    throw new SourceError(`${o.url}: ${declared} bytes declared, over the ${e.maxBytes}-byte limit (${e.maxOption})`);
  }
  return declared;
}

/** Drop a body we will not read. */
const discard = (res: Response) => res.body?.cancel().catch(() => undefined);

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

const of = (total: number | undefined) => (total === undefined ? '' : ` of ${total}`);

/** Aborts the request when no bytes arrive for `ms`, and turns abort reasons into clear errors. */
class IdleTimer {
  private readonly ctrl = new AbortController();
  private handle: ReturnType<typeof setTimeout> | undefined;
  private fired = false;
  readonly signal = this.ctrl.signal;

  private readonly onOuterAbort = () => this.ctrl.abort(this.outer.reason);

  constructor(private readonly url: string, private readonly ms: number, private readonly outer: AbortSignal) {
    if (outer.aborted) this.ctrl.abort(outer.reason);
    outer.addEventListener('abort', this.onOuterAbort, { once: true });
    this.touch();
  }

  touch(): void {
    clearTimeout(this.handle);
    this.handle = setTimeout(() => { this.fired = true; this.ctrl.abort(); }, this.ms);
  }

  /** The request is over: no more timeouts, and no listener left on the load's shared signal. */
  stop(): void {
    clearTimeout(this.handle);
    this.outer.removeEventListener('abort', this.onOuterAbort);
  }

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

// tide serve's HTTP server (Node's http): body limits, JSON parsing, the optional API key, routing,
// OpenAI-style errors, and one access-log line per request. A bad request never takes the server down.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Embedder } from '../text/embed.js';
import type { Model } from '../model.js';
import { ApiError, toApiError } from './errors.js';
import { JobQueue } from './queue.js';
import { ROUTES, routeFor, sendJson, type Exchange, type ServerState } from './routes.js';

export interface ServeOptions {
  model: Model;
  /** The id clients send as `model` and /v1/models lists. */
  modelId: string;
  /** Serves /v1/embeddings (loadEmbedder, src/text/embed.ts). */
  embedder?: Embedder;
  embedModelId?: string;
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** When set, every request but GET /health needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Larger request bodies get 413; default 1 MiB. */
  maxBodyBytes?: number;
  /** Generations that run at once, interleaved token by token; default 1. */
  parallel?: number;
  /** Requests that may wait for a slot; past this 429. Default 32. */
  maxQueue?: number;
  /** KV cache positions per request; default min(max_position_embeddings, 4096). */
  contextLength?: number;
  /** Receives one line per request; default stderr. */
  log?: (line: string) => void;
}

export interface TideServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly queue: JobQueue;
  /** Stop listening and drop open connections (in-flight generations see a disconnect and stop). */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

export async function startServer(o: ServeOptions): Promise<TideServer> {
  const contextLength = o.contextLength ?? Math.min(o.model.spec.seqLen, 4096);
  o.model.session({ contextLength }).dispose(); // a context the model cannot hold fails here, not per request
  const state: ServerState = {
    model: o.model, modelId: o.modelId, contextLength, embedder: o.embedder, embedModelId: o.embedModelId,
    queue: new JobQueue(o.parallel ?? 1, o.maxQueue ?? 32), created: Math.floor(Date.now() / 1000),
  };
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const server = createServer((req, res) => {
    handle(state, o, req, res, log).catch((e) => log(`tide serve: unexpected ${(e as Error)?.stack ?? e}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`, port, server, queue: state.queue,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

async function handle(s: ServerState, o: ServeOptions, req: IncomingMessage, res: ServerResponse, log: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  const path = (req.url ?? '/').split('?')[0];
  const ac = new AbortController();
  const x: Exchange = { req, res, body: undefined, signal: ac.signal, log: {} };
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  try {
    const route = routeFor(path);
    if (!route) throw new ApiError(404, 'not_found_error', `${req.method} ${path}: no such endpoint; have ${Object.keys(ROUTES).join(', ')}`, null, 'unknown_url');
    if (req.method !== route.method) {
      throw new ApiError(405, 'invalid_request_error', `${req.method} ${path}: method not allowed; use ${route.method}`, null, 'method_not_allowed', { Allow: route.method });
    }
    if (o.apiKey !== undefined && path !== '/health') checkKey(req, o.apiKey);
    if (route.method === 'POST') x.body = parseBody(await readBody(req, o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
    await route.handler(s, x);
  } catch (e) {
    const err = toApiError(e);
    if (err.status >= 500) log(`tide serve: ${req.method} ${path}: ${(e as Error)?.stack ?? e}`);
    if (res.destroyed || res.writableEnded) return;
    if (res.headersSent) {
      // Mid-stream: the status is gone, so the error travels as an event, as OpenAI's streams send it.
      res.end(`data: ${JSON.stringify(err.body())}\n\n`);
      return;
    }
    sendJson(res, err.status, err.body(), err.headers);
  } finally {
    // Written when the handler is done, so an aborted generation reports the tokens it made before stopping.
    const { promptTokens: p, completionTokens: c, finish } = x.log;
    const tokens = p === undefined ? '-' : `${p}+${c ?? 0}`;
    const end = ac.signal.aborted ? 'abort' : finish;
    const status = res.headersSent ? res.statusCode : 499; // nginx's "client closed request": nothing was sent
    log(`${new Date().toISOString()} ${req.method} ${path} ${status} tokens=${tokens} ${Math.round(performance.now() - t0)}ms${end ? ` ${end}` : ''}`);
  }
}

function checkKey(req: IncomingMessage, key: string): void {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  // Compare digests so neither the length nor the content leaks through timing.
  const digest = (v: string) => createHash('sha256').update(v).digest();
  if (!m || !timingSafeEqual(digest(m[1]), digest(key))) {
    throw new ApiError(401, 'authentication_error', m ? 'invalid API key' : 'missing API key: send "Authorization: Bearer <key>"', null, 'invalid_api_key',
      { 'WWW-Authenticate': 'Bearer' });
  }
}

/** The whole body, or a 413 as soon as it passes `limit` bytes (by Content-Length or by counting). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new ApiError(413, 'invalid_request_error', `request body over the ${limit}-byte limit`, null, 'request_too_large', { Connection: 'close' });
  if (Number(req.headers['content-length']) > limit) {
    req.resume(); // discard; the connection closes after the answer
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > limit) { req.removeAllListeners('data'); req.resume(); reject(tooLarge()); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that hangs up mid-body: nobody to answer, but the handler must still finish (and log).
    req.on('close', () => { if (!req.complete) reject(new ApiError(400, 'invalid_request_error', 'request body cut short', null, 'incomplete_body')); });
  });
}

function parseBody(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, 'invalid_request_error', `request body: not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
}

// tide serve's HTTP server (Node's http): connection and time limits, the Host, Content-Type and key
// checks, body limits, JSON parsing, routing, CORS, OpenAI-style errors without the server's paths, and
// one access-log line per request. A bad request, or a client that hangs up, never takes the server down.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Embedder } from '../text/embed.js';
import type { Model } from '../model.js';
import { OptionError } from '../errors.js';
import { ApiError, redactor, toApiError } from './errors.js';
import { checkHost, checkJson, checkKey, preflight } from './guards.js';
import { PromptWorker, type TokenizerFiles } from './prompts.js';
import { JobQueue } from './queue.js';
import { ROUTES, routeFor } from './routes.js';
import { sendJson, type Exchange, type ServerState } from './state.js';

export { readTokenizerFiles, type TokenizerFiles } from './prompts.js';

export interface ServeOptions {
  /** The text-generation model; may be left out when `embedder` is given (an embeddings-only server). */
  model?: Model;
  /** The id clients send as `model` and /v1/models lists; required with `model`. */
  modelId?: string;
  /** The model's tokenizer files (readTokenizerFiles) for the prompt thread; required when it has a tokenizer. */
  tokenizer?: TokenizerFiles;
  /** Serves /v1/embeddings (loadEmbedder, src/text/embed.ts). */
  embedder?: Embedder;
  /** Required with `embedder`. */
  embedModelId?: string;
  /** The embedder's tokenizer files; required when it has a tokenizer. */
  embedTokenizer?: TokenizerFiles;
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * When set, every request but GET /health needs `Authorization: Bearer <apiKey>`. When not, only
   * requests whose Host is localhost, 127.0.0.1 or [::1] are answered (403 otherwise).
   */
  apiKey?: string;
  /** Access-Control-Allow-Origin on every answer, and preflights answered; '*' for any origin. Default: no CORS. */
  cors?: string;
  /** Larger request bodies get 413; default 1 MiB. */
  maxBodyBytes?: number;
  /** Generations that run at once, interleaved token by token; default 1. */
  parallel?: number;
  /** Requests that may wait for a slot; past this 429. Default 32. */
  maxQueue?: number;
  /** KV cache positions per request; default min(max_position_embeddings, 4096). */
  contextLength?: number;
  /** Open connections at most; one more is closed as it arrives. Default 128. */
  maxConnections?: number;
  /** A request's headers must arrive within this (default 10 s), and all of it within requestTimeoutMs (60 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Receives one line per request; default stderr. */
  log?: (line: string) => void;
}

export interface TideServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly queue: JobQueue;
  readonly prompts: PromptWorker;
  /** Stop listening, drop every connection (their generations stop within a token) and the prompt thread; resolves once no job is left. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

export async function startServer(o: ServeOptions): Promise<TideServer> {
  const state = serverState(o);
  await state.prompts.start();
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const redact = redactor([
    ...(o.model ? [{ source: o.model.info.source, id: o.modelId! }] : []),
    ...(o.embedder ? [{ source: o.embedder.source, id: o.embedModelId! }] : []),
  ]);
  const headersTimeout = o.headersTimeoutMs ?? 10_000;
  const server = createServer({ headersTimeout, requestTimeout: o.requestTimeoutMs ?? 60_000, connectionsCheckingInterval: Math.min(1000, headersTimeout) },
    (req, res) => { handle(state, o, redact, req, res, log).catch((e) => log(`tide serve: unexpected: ${(e as Error)?.message ?? e}`)); });
  server.maxConnections = o.maxConnections ?? 128;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`, port, server, queue: state.queue, prompts: state.prompts,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, state.prompts.close(), state.queue.drained()]);
    },
  };
}

function serverState(o: ServeOptions): ServerState {
  if (!o.model && !o.embedder) throw new OptionError('startServer: give a model, an embedder, or both');
  if ((o.model && !o.modelId) || (o.embedder && !o.embedModelId)) throw new OptionError('startServer: each model needs its id (modelId, embedModelId)');
  const files = (has: boolean, f: TokenizerFiles | undefined, name: string) => {
    if (has !== (f !== undefined)) throw new OptionError(`startServer: ${name} must be given exactly when the model has a tokenizer (readTokenizerFiles)`);
  };
  if (o.model) files(o.model.tokenizer !== undefined, o.tokenizer, 'tokenizer');
  if (o.embedder) files(o.embedder.tokenizer !== undefined, o.embedTokenizer, 'embedTokenizer');
  const contextLength = o.contextLength ?? Math.min(o.model?.spec.seqLen ?? 0, 4096);
  o.model?.session({ contextLength }).dispose(); // a context the model cannot hold fails here, not per request
  return {
    text: o.model && { model: o.model, id: o.modelId!, contextLength },
    embed: o.embedder && { embedder: o.embedder, id: o.embedModelId! },
    prompts: new PromptWorker({
      text: o.tokenizer,
      embed: o.embedTokenizer && o.embedder && { ...o.embedTokenizer, lowercase: o.embedder.config.doLowerCase === true },
    }),
    queue: new JobQueue(o.parallel ?? 1, o.maxQueue ?? 32),
    created: Math.floor(Date.now() / 1000),
  };
}

async function handle(s: ServerState, o: ServeOptions, redact: (m: string) => string, req: IncomingMessage, res: ServerResponse,
                      log: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  const path = (req.url ?? '/').split('?')[0];
  const ac = new AbortController();
  const x: Exchange = { req, res, body: undefined, signal: ac.signal, log: {} };
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  if (o.cors) res.setHeader('Access-Control-Allow-Origin', o.cors).setHeader('Vary', 'Origin');
  try {
    if (o.apiKey === undefined) checkHost(req);
    const route = routeFor(path);
    if (!route) throw new ApiError(404, 'not_found_error', `${req.method} ${path}: no such endpoint; have ${Object.keys(ROUTES).join(', ')}`, null, 'unknown_url');
    if (req.method === 'OPTIONS' && o.cors) return preflight(res, route.method);
    if (req.method !== route.method) {
      throw new ApiError(405, 'invalid_request_error', `${req.method} ${path}: method not allowed; use ${route.method}`, null, 'method_not_allowed', { Allow: route.method });
    }
    if (o.apiKey !== undefined && path !== '/health') checkKey(req, o.apiKey);
    if (route.method === 'POST') {
      checkJson(req);
      x.body = parseBody(await readBody(req, o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
    }
    await route.handler(s, x);
  } catch (e) {
    const err = toApiError(e);
    if (err.status >= 500) log(`tide serve: ${req.method} ${path}: ${err.status} ${err.message}`);
    if (res.destroyed || res.writableEnded) return;
    const body = { error: { ...err.body().error, message: redact(err.message) } };
    // Mid-stream the status is gone, so the error travels as an event, as OpenAI's streams send it.
    if (res.headersSent) res.end(`data: ${JSON.stringify(body)}\n\n`);
    else sendJson(res, err.status, body, err.headers);
  } finally {
    // Written when the handler is done, so an aborted generation reports the tokens it made before stopping.
    const { promptTokens: p, completionTokens: c, finish } = x.log;
    const tokens = p === undefined ? '-' : `${p}+${c ?? 0}`;
    const gone = ac.signal.aborted || !res.writableEnded; // the client left before the answer was complete
    const status = gone ? 499 : res.statusCode;            // nginx's "client closed request"
    log(`${new Date().toISOString()} ${req.method} ${path} ${status} tokens=${tokens} ${Math.round(performance.now() - t0)}ms${gone ? ' abort' : finish ? ` ${finish}` : ''}`);
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
    // A client that hangs up mid-body ('aborted', ECONNRESET): nobody to answer, but the handler must
    // still finish, and log one line.
    const cut = () => reject(new ApiError(400, 'invalid_request_error', 'request body cut short', null, 'incomplete_body'));
    req.on('error', cut);
    req.on('close', () => { if (!req.complete) cut(); });
  });
}

function parseBody(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, 'invalid_request_error', `request body: not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
}

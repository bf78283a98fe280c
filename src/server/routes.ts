// The endpoints: OpenAI's completions, chat completions (JSON or server-sent events), embeddings and
// models, plus /health. Each handler validates fully before it queues, so 4xx never waits for a slot.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Model } from '../model.js';
import { ReasoningSplitter, splitReasoning } from '../text/reasoning.js';
import { chatPrompt, completionPrompt, prepareGeneration, runGeneration, type FinishReason, type GenerationJob } from './engine.js';
import { DEFAULT_BATCH_SIZE, type Embedder } from '../text/embed.js';
import { ApiError, invalid, toApiError } from './errors.js';
import type { JobQueue } from './queue.js';
import { parseChat, parseCompletion, parseEmbeddings, type GenerationParams } from './validate.js';

export interface ServerState {
  model: Model;
  modelId: string;
  contextLength: number;
  embedder?: Embedder;
  embedModelId?: string;
  queue: JobQueue;
  created: number;
}

/** One request in flight: what the handler reads, and what the access log line reports. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  body: unknown;
  signal: AbortSignal;
  log: { promptTokens?: number; completionTokens?: number; finish?: string };
}

type Handler = (s: ServerState, x: Exchange) => Promise<void>;
type Route = { method: 'GET' | 'POST'; handler: Handler };

export const ROUTES: Record<string, Route> = {
  '/v1/chat/completions': { method: 'POST', handler: chat },
  '/v1/completions': { method: 'POST', handler: completions },
  '/v1/embeddings': { method: 'POST', handler: embeddings },
  '/v1/models': { method: 'GET', handler: models },
  '/health': { method: 'GET', handler: health },
};

/** The route for `path`: an exact match, or GET /v1/models/{id} (the client's models.retrieve). */
export function routeFor(path: string): Route | undefined {
  if (Object.hasOwn(ROUTES, path)) return ROUTES[path];
  if (path.startsWith('/v1/models/')) return { method: 'GET', handler: (s, x) => model(s, x, path.slice('/v1/models/'.length)) };
  return undefined;
}

/** Completions default to 16 tokens, as OpenAI's; chat runs to EOS or the end of the context. */
const COMPLETION_MAX_TOKENS = 16;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function completions(s: ServerState, x: Exchange): Promise<void> {
  const p = parseCompletion(x.body);
  checkModel(p.model, s.modelId);
  const job = prepareGeneration(s.model, completionPrompt(s.model, p.prompt), p, COMPLETION_MAX_TOKENS, s.contextLength);
  const choice = (text: string, finish: FinishReason | null) => ({ index: 0, text, logprobs: null, finish_reason: finish });
  await serveGeneration(s, x, p, job, 'cmpl', 'text_completion', 'text_completion', {
    chunk: (piece) => [choice(piece, null)],
    final: (finish) => [choice('', finish)],
    whole: (text, finish) => [choice(text, finish)],
  });
}

async function chat(s: ServerState, x: Exchange): Promise<void> {
  const p = parseChat(x.body);
  checkModel(p.model, s.modelId);
  const job = prepareGeneration(s.model, chatPrompt(s.model, p.messages), p, Infinity, s.contextLength);
  // Reasoning models (DeepSeek-R1 distills) think inside <think>…</think>; that text goes to
  // reasoning_content, as DeepSeek's API sends it. Their templates may open the block themselves.
  const split = new ReasoningSplitter(job.startsInReasoning);
  const delta = (parts: { reasoning: string; answer: string }) => ({
    ...(parts.reasoning ? { reasoning_content: parts.reasoning } : {}), ...(parts.answer ? { content: parts.answer } : {}) });
  const choice = (d: object, finish: FinishReason | null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finish });
  await serveGeneration(s, x, p, job, 'chatcmpl', 'chat.completion', 'chat.completion.chunk', {
    first: () => [choice({ role: 'assistant', content: '' }, null)],
    chunk: (piece) => { const d = delta(split.push(piece)); return Object.keys(d).length ? [choice(d, null)] : []; },
    final: (finish) => {
      const d = delta(split.flush());
      return Object.keys(d).length ? [choice(d, null), choice({}, finish)] : [choice({}, finish)];
    },
    whole: (text, finish) => {
      const { reasoning, answer } = splitReasoning(text, job.startsInReasoning);
      return [{ index: 0, message: { role: 'assistant', content: answer, ...(reasoning ? { reasoning_content: reasoning } : {}) },
        logprobs: null, finish_reason: finish }];
    },
  });
}

/** How one endpoint shapes its choices: streamed pieces, the closing chunk, or the whole answer. */
interface Shape {
  first?: () => object[];
  chunk: (piece: string) => object[];
  final: (finish: FinishReason) => object[];
  whole: (text: string, finish: FinishReason) => object[];
}

async function serveGeneration(s: ServerState, x: Exchange, p: GenerationParams, job: GenerationJob,
                               prefix: string, object: string, chunkObject: string, shape: Shape): Promise<void> {
  const head = { id: `${prefix}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: s.modelId };
  const usage = (n: number) => ({ prompt_tokens: job.promptIds.length, completion_tokens: n, total_tokens: job.promptIds.length + n });
  const out = await s.queue.run(x.signal, async () => {
    x.log.promptTokens = job.promptIds.length;
    if (!p.stream) return runGeneration(s.model, job, x.signal);
    // Headers go out only once the job holds a slot, so a full queue can still answer 429.
    x.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (choices: object[], extra: object = {}) => {
      if (choices.length) x.res.write(`data: ${JSON.stringify({ ...head, object: chunkObject, choices, ...extra })}\n\n`);
    };
    send(shape.first?.() ?? []);
    return runGeneration(s.model, job, x.signal, (piece) => send(shape.chunk(piece)));
  });
  if (!out) { x.log.finish = 'abort'; return; }          // the client left while queued
  x.log.completionTokens = out.completionTokens;
  x.log.finish = out.finishReason;
  if (out.finishReason === 'abort') return;               // the client left mid-generation: nobody to answer
  if (!p.stream) {
    sendJson(x.res, 200, { ...head, object, choices: shape.whole(out.text, out.finishReason), usage: usage(out.completionTokens) });
    return;
  }
  const final = shape.final(out.finishReason);
  for (const [i, c] of final.entries()) {
    // llama.cpp's habit: usage rides on the chunk that carries finish_reason, for clients that read it there.
    const extra = i === final.length - 1 ? { usage: usage(out.completionTokens) } : {};
    x.res.write(`data: ${JSON.stringify({ ...head, object: chunkObject, choices: [c], ...extra })}\n\n`);
  }
  if (p.includeUsage) x.res.write(`data: ${JSON.stringify({ ...head, object: chunkObject, choices: [], usage: usage(out.completionTokens) })}\n\n`);
  x.res.end('data: [DONE]\n\n');
}

async function embeddings(s: ServerState, x: Exchange): Promise<void> {
  const p = parseEmbeddings(x.body);
  const embedder = s.embedder;
  if (!embedder || !s.embedModelId) {
    throw new ApiError(404, 'not_found_error', 'no embedding model is loaded; start tide serve with --embed-model DIR', 'model', 'model_not_found');
  }
  checkModel(p.model, s.embedModelId);
  const ids = embeddingIds(embedder, p.input);
  const tokens = ids.reduce((n, t) => n + t.length, 0);
  const out = await s.queue.run(x.signal, async () => {
    x.log.promptTokens = tokens;
    const vectors: Float32Array[] = [];
    for (let b = 0; b < ids.length; b += DEFAULT_BATCH_SIZE) {
      vectors.push(...await embedder.embed(ids.slice(b, b + DEFAULT_BATCH_SIZE)));
      await tick(); // a long list must not stall health checks
      if (x.signal.aborted) return undefined;
    }
    return vectors;
  });
  if (!out) { x.log.finish = 'abort'; return; }
  const encode = (v: Float32Array) => p.encodingFormat === 'base64'
    ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
  sendJson(x.res, 200, {
    object: 'list', model: s.embedModelId,
    data: out.map((v, index) => ({ object: 'embedding', index, embedding: encode(v) })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** Token ids per input; an input longer than the encoder reads is a 400, as OpenAI's, never cut quietly. */
function embeddingIds(embedder: Embedder, input: string[] | number[][]): number[][] {
  let t: { ids: number[][]; truncated: number[] };
  try {
    t = embedder.tokenize(input);
  } catch (e) {
    throw toApiError(e, 'input');
  }
  if (t.truncated.length) {
    throw invalid('input', `input[${t.truncated[0]}]: more than the ${embedder.maxSeqLength} tokens the model reads (max_seq_length)`, 'context_length_exceeded');
  }
  return t.ids;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function models(s: ServerState, x: Exchange): Promise<void> {
  const ids = [s.modelId, ...(s.embedModelId ? [s.embedModelId] : [])];
  sendJson(x.res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: s.created, owned_by: 'tide' })) });
}

async function model(s: ServerState, x: Exchange, encoded: string): Promise<void> {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw invalid(null, `/v1/models/${encoded}: not a valid URL-encoded model id`);
  }
  if (id !== s.modelId && id !== s.embedModelId) throw new ApiError(404, 'not_found_error', `model "${id}" is not served here`, 'model', 'model_not_found');
  sendJson(x.res, 200, { id, object: 'model', created: s.created, owned_by: 'tide' });
}

async function health(s: ServerState, x: Exchange): Promise<void> {
  sendJson(x.res, 200, { status: 'ok', model: s.modelId, queue: s.queue.stats });
}

function checkModel(asked: string, served: string): void {
  if (asked !== served) throw new ApiError(404, 'not_found_error', `model "${asked}" is not served here; GET /v1/models lists "${served}"`, 'model', 'model_not_found');
}


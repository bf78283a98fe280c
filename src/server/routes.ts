// The endpoints: OpenAI's completions, chat completions (JSON or server-sent events), embeddings and
// models, plus /health. Fields are checked before a request queues, so a bad one never waits for a slot;
// the prompt is tokenized in the request's slot, on the prompt thread.
import { randomUUID } from 'node:crypto';
import { ChatTemplate } from '../text/chat.js';
import { ReasoningSplitter, splitReasoning } from '../text/reasoning.js';
import { prepareGeneration, runGeneration, type FinishReason, type GenerationJob } from './engine.js';
import { embeddings } from './embeddings.js';
import { ApiError, invalid } from './errors.js';
import { needTokenizer, sendJson, textModel, tokenize, type Exchange, type PromptIds, type ServerState, type TextModel } from './state.js';
import { parseChat, parseCompletion, type GenerationParams } from './validate.js';

type Handler = (s: ServerState, x: Exchange) => Promise<void>;
export type Route = { method: 'GET' | 'POST'; handler: Handler };

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

async function completions(s: ServerState, x: Exchange): Promise<void> {
  const p = parseCompletion(x.body);
  const t = textModel(s, p.model);
  const prompt = p.prompt;
  if (typeof prompt === 'string') {
    needTokenizer(t.model, t.id, 'prompt');
    if (prompt === '') throw invalid('prompt', 'prompt: empty text');
  }
  const encode = async (): Promise<PromptIds> => {
    if (typeof prompt !== 'string') return { ids: prompt, startsInReasoning: false };
    const e = await tokenize(s, x, { op: 'text', text: prompt }, 'prompt');
    return e && { ids: e.ids[0], startsInReasoning: false };
  };
  const choice = (text: string, finish: FinishReason | null) => ({ index: 0, text, logprobs: null, finish_reason: finish });
  await serveGeneration(s, t, x, p, encode, COMPLETION_MAX_TOKENS, { prefix: 'cmpl', object: 'text_completion', chunkObject: 'text_completion' }, () => ({
    chunk: (piece) => [choice(piece, null)],
    final: (finish) => [choice('', finish)],
    whole: (text, finish) => [choice(text, finish)],
  }));
}

async function chat(s: ServerState, x: Exchange): Promise<void> {
  const p = parseChat(x.body);
  const t = textModel(s, p.model);
  needTokenizer(t.model, t.id, 'messages');
  if (!ChatTemplate.of(t.model.tokenizer!)) {
    throw invalid('messages', `${t.id}: the model has no chat_template in tokenizer_config.json and no chat_template.jinja; use /v1/completions with a prompt`, 'chat_template_missing');
  }
  const encode = async (): Promise<PromptIds> => {
    const e = await tokenize(s, x, { op: 'chat', messages: p.messages }, 'messages');
    return e && { ids: e.ids[0], startsInReasoning: e.startsInReasoning };
  };
  // Reasoning models (DeepSeek-R1 distills) think inside <think>…</think>; that text goes to
  // reasoning_content, as DeepSeek's API sends it. Their templates may open the block themselves.
  const delta = (parts: { reasoning: string; answer: string }) => ({
    ...(parts.reasoning ? { reasoning_content: parts.reasoning } : {}), ...(parts.answer ? { content: parts.answer } : {}) });
  const choice = (d: object, finish: FinishReason | null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finish });
  await serveGeneration(s, t, x, p, encode, Infinity, { prefix: 'chatcmpl', object: 'chat.completion', chunkObject: 'chat.completion.chunk' }, (job) => {
    const split = new ReasoningSplitter(job.startsInReasoning);
    return {
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
    };
  });
}

/** How one endpoint shapes its choices: streamed pieces, the closing chunk, or the whole answer. */
interface Shape {
  first?: () => object[];
  chunk: (piece: string) => object[];
  final: (finish: FinishReason) => object[];
  whole: (text: string, finish: FinishReason) => object[];
}

interface Kind { prefix: string; object: string; chunkObject: string }

/**
 * Queue, then in the slot: tokenize (`encode`), check the ids, and generate, streamed or whole. Headers go
 * out only once the prompt is known good, so a full queue is still a 429 and a long prompt a 400.
 */
async function serveGeneration(s: ServerState, t: TextModel, x: Exchange, p: GenerationParams, encode: () => Promise<PromptIds>,
                               defaultMaxTokens: number, kind: Kind, shapeFor: (job: GenerationJob) => Shape): Promise<void> {
  const head = { id: `${kind.prefix}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: t.id };
  const send = (choices: object[], extra: object = {}) => {
    if (choices.length) x.res.write(`data: ${JSON.stringify({ ...head, object: kind.chunkObject, choices, ...extra })}\n\n`);
  };
  const run = await s.queue.run(x.signal, async () => {
    const prompt = await encode();
    if (!prompt) return undefined;                       // the client left while its prompt was tokenized
    const job = prepareGeneration(t.model, prompt, p, defaultMaxTokens, t.contextLength);
    const shape = shapeFor(job);
    x.log.promptTokens = job.promptIds.length;
    if (!p.stream) return { job, shape, out: await runGeneration(t.model, job, x.signal) };
    x.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    send(shape.first?.() ?? []);
    return { job, shape, out: await runGeneration(t.model, job, x.signal, (piece) => send(shape.chunk(piece))) };
  });
  if (!run) { x.log.finish = 'abort'; return; }           // the client left while queued or tokenizing
  const { job, shape, out } = run;
  const n = job.promptIds.length, usage = { prompt_tokens: n, completion_tokens: out.completionTokens, total_tokens: n + out.completionTokens };
  x.log.completionTokens = out.completionTokens;
  x.log.finish = out.finishReason;
  if (out.finishReason === 'abort') return;               // the client left mid-generation: nobody to answer
  if (!p.stream) {
    sendJson(x.res, 200, { ...head, object: kind.object, choices: shape.whole(out.text, out.finishReason), usage });
    return;
  }
  const final = shape.final(out.finishReason);
  // llama.cpp's habit: usage rides on the chunk that carries finish_reason, for clients that read it there.
  final.forEach((c, i) => send([c], i === final.length - 1 ? { usage } : {}));
  if (p.includeUsage) x.res.write(`data: ${JSON.stringify({ ...head, object: kind.chunkObject, choices: [], usage })}\n\n`);
  x.res.end('data: [DONE]\n\n');
}

const servedIds = (s: ServerState) => [s.text?.id, s.embed?.id].filter((id): id is string => id !== undefined);

async function models(s: ServerState, x: Exchange): Promise<void> {
  sendJson(x.res, 200, { object: 'list', data: servedIds(s).map((id) => ({ id, object: 'model', created: s.created, owned_by: 'tide' })) });
}

async function model(s: ServerState, x: Exchange, encoded: string): Promise<void> {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw invalid(null, `/v1/models/${encoded}: not a valid URL-encoded model id`);
  }
  if (!servedIds(s).includes(id)) throw new ApiError(404, 'not_found_error', `model "${id}" is not served here`, 'model', 'model_not_found');
  sendJson(x.res, 200, { id, object: 'model', created: s.created, owned_by: 'tide' });
}

async function health(s: ServerState, x: Exchange): Promise<void> {
  sendJson(x.res, 200, { status: 'ok', model: s.text?.id ?? null, embedding_model: s.embed?.id ?? null, queue: s.queue.stats });
}

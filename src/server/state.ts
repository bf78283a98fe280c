// What the handlers share: the served models, the prompt thread and the queue; one request's exchange;
// JSON answers; and the lookups that turn a request's `model` into a served model or a 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Embedder } from '../text/embed.js';
import type { Model } from '../model.js';
import { ApiError, invalid, toApiError } from './errors.js';
import type { Encoded, PromptRequest, PromptWorker } from './prompts.js';
import type { JobQueue } from './queue.js';

export interface TextModel { model: Model; id: string; contextLength: number }
export interface EmbedModel { embedder: Embedder; id: string }

export interface ServerState {
  text?: TextModel;
  embed?: EmbedModel;
  prompts: PromptWorker;
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

/** A prompt's ids, or undefined when the client left while it was tokenized. */
export type PromptIds = { ids: ArrayLike<number>; startsInReasoning: boolean } | undefined;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** `req` on the prompt thread; its typed errors (a template that raises, say) are 400s naming `param`. */
export async function tokenize(s: ServerState, x: Exchange, req: PromptRequest, param: string): Promise<Encoded | undefined> {
  try {
    return await s.prompts.encode(req, x.signal);
  } catch (e) {
    throw toApiError(e, param);
  }
}

export function textModel(s: ServerState, asked: string): TextModel {
  if (!s.text) {
    throw new ApiError(404, 'not_found_error', `model "${asked}": no text-generation model is loaded; this server only embeds, as "${s.embed?.id}" at /v1/embeddings`,
      'model', 'model_not_found');
  }
  checkModel(asked, s.text.id);
  return s.text;
}

export function embedModel(s: ServerState, asked: string): EmbedModel {
  if (!s.embed) throw new ApiError(404, 'not_found_error', 'no embedding model is loaded; start tide serve with --embed-model DIR', 'model', 'model_not_found');
  checkModel(asked, s.embed.id);
  return s.embed;
}

/** Text inputs need the model's tokenizer.json. */
export function needTokenizer(model: { tokenizer?: unknown }, id: string, param: string): void {
  if (!model.tokenizer) throw invalid(param, `${id}: the model has no tokenizer.json, so it cannot read text; send token ids`, 'no_tokenizer');
}

function checkModel(asked: string, served: string): void {
  if (asked !== served) throw new ApiError(404, 'not_found_error', `model "${asked}" is not served here; GET /v1/models lists "${served}"`, 'model', 'model_not_found');
}

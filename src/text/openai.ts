// The OpenAI chat-completions shape over generate(): snake_case options in, `chat.completion` objects
// (or `chat.completion.chunk`s when streaming) out; reasoning as `reasoning_content`, as DeepSeek's API.
import { templateVariables, type ChatMessage } from './chat.js';
import { encodePrompt, generate, type FinishReason, type GenerateOptions, type TextModel } from './generate.js';
import { ReasoningSplitter } from './reasoning.js';
import type { Session } from '../runtime/session.js';

export interface ChatRequest {
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  max_tokens?: number;
  stop?: string | string[];
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  repetition_penalty?: number;
  logit_bias?: Record<number, number>;
  tools?: unknown[];
  /** More variables for the chat template, as vLLM's: `{ enable_thinking: false }` (Qwen3, SmolLM3), ... */
  chat_template_kwargs?: Record<string, unknown>;
  stream?: boolean;
  signal?: AbortSignal;
  session?: Session;
}

interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }

export interface ChatCompletion {
  object: 'chat.completion';
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string; reasoning_content?: string }; finish_reason: FinishReason }[];
  usage: Usage;
}

export interface ChatChunk {
  object: 'chat.completion.chunk';
  model: string;
  choices: { index: 0; delta: { content?: string; reasoning_content?: string }; finish_reason: FinishReason | null }[];
  usage?: Usage;
}

/** model.chat(): a promise of the completion, or with `stream: true` an async iterable of chunks. */
export function chatCompletion(model: TextModel, req: ChatRequest): Promise<ChatCompletion> | AsyncIterable<ChatChunk> {
  const opts: GenerateOptions = {
    temperature: req.temperature, topP: req.top_p, topK: req.top_k, minP: req.min_p, maxTokens: req.max_tokens,
    stop: req.stop, seed: req.seed, presencePenalty: req.presence_penalty, frequencyPenalty: req.frequency_penalty,
    repetitionPenalty: req.repetition_penalty, logitBias: req.logit_bias, signal: req.signal, session: req.session,
    chat: { ...templateVariables(req.chat_template_kwargs ?? {}, 'chat_template_kwargs'), tools: req.tools },
  };
  const name = model.info.source;
  if (req.stream) return streamChunks(model, req, opts);
  return generate(model, req.messages, opts).result.then((r) => ({
    object: 'chat.completion', model: name,
    choices: [{ index: 0, finish_reason: r.finishReason,
      message: { role: 'assistant', content: r.answer, ...(r.reasoning ? { reasoning_content: r.reasoning } : {}) } }],
    usage: usage(r.promptIds.length, r.ids.length),
  }));
}

async function* streamChunks(model: TextModel, req: ChatRequest, opts: GenerateOptions): AsyncIterable<ChatChunk> {
  const g = generate(model, req.messages, opts);
  const split = new ReasoningSplitter(encodePrompt(model, req.messages, opts.chat).startsInReasoning);
  const chunk = (delta: ChatChunk['choices'][0]['delta'], finish: FinishReason | null = null): ChatChunk =>
    ({ object: 'chat.completion.chunk', model: model.info.source, choices: [{ index: 0, delta, finish_reason: finish }] });
  const deltas = (p: { reasoning: string; answer: string }) => [
    ...(p.reasoning ? [chunk({ reasoning_content: p.reasoning })] : []), ...(p.answer ? [chunk({ content: p.answer })] : [])];
  for await (const piece of g) yield* deltas(split.push(piece));
  yield* deltas(split.flush());
  const r = await g.result;
  yield { ...chunk({}, r.finishReason), usage: usage(r.promptIds.length, r.ids.length) };
}

const usage = (p: number, c: number): Usage => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

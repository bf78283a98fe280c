// Request bodies → typed requests. Every field OpenAI names is type-checked here (null counts as
// absent, as in OpenAI's API); a field Tide cannot honour, or does not know, is a 400 naming it.
import type { ChatMessage } from '../text/chat.js';
import type { SamplingOptions } from '../text/sampler.js';
import { invalid } from './errors.js';

type Json = Record<string, unknown>;

export interface GenerationParams {
  model: string;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with usage and no choices, as OpenAI sends it. */
  includeUsage: boolean;
  maxTokens?: number;
  stop: string[];
  sampling: SamplingOptions;
}
export interface CompletionRequest extends GenerationParams { prompt: string | number[] }
export interface ChatRequest extends GenerationParams { messages: ChatMessage[] }
export interface EmbeddingRequest { model: string; input: string[] | number[][]; encodingFormat: 'float' | 'base64' }

const MAX_STOPS = 16;

/**
 * What each endpoint reads: OpenAI's fields that Tide honours (plus top_k, min_p and repetition_penalty,
 * as llama.cpp and vLLM take them), and the rest of OpenAI's request schema, each with the one value that
 * asks for nothing (accepted) or `never`. Any other field is unknown.
 */
interface Schema { path: string; fields: string[]; unsupported: Record<string, NoOp> }
type NoOp = (v: unknown) => boolean;
const never: NoOp = () => false;
const is = (x: unknown): NoOp => (v) => v === x;

const GENERATION = ['model', 'stream', 'stream_options', 'stop', 'max_tokens', 'temperature', 'top_p', 'top_k', 'min_p',
  'repetition_penalty', 'presence_penalty', 'frequency_penalty', 'seed', 'logit_bias'];

const COMPLETIONS: Schema = {
  path: '/v1/completions',
  fields: [...GENERATION, 'prompt'],
  unsupported: { n: is(1), best_of: is(1), echo: is(false), logprobs: never, suffix: is(''), user: never },
};

const CHAT: Schema = {
  path: '/v1/chat/completions',
  fields: [...GENERATION, 'messages', 'max_completion_tokens'],
  unsupported: {
    n: is(1), logprobs: is(false), top_logprobs: never, tools: (v) => Array.isArray(v) && v.length === 0, tool_choice: is('none'),
    parallel_tool_calls: never, functions: never, function_call: is('none'), response_format: (v) => (v as Json)?.type === 'text',
    modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text', audio: never, prediction: never,
    reasoning_effort: never, verbosity: never, web_search_options: never, store: is(false), metadata: never,
    service_tier: is('auto'), prompt_cache_key: never, safety_identifier: never, user: never,
  },
};

const EMBEDDINGS: Schema = { path: '/v1/embeddings', fields: ['model', 'input', 'encoding_format'], unsupported: { dimensions: never, user: never } };

export function parseCompletion(body: unknown): CompletionRequest {
  const f = new Fields(body, COMPLETIONS);
  return { ...generation(f), maxTokens: f.integer('max_tokens', 1), prompt: prompt(f.get('prompt', true)) };
}

export function parseChat(body: unknown): ChatRequest {
  const f = new Fields(body, CHAT);
  const list = f.get('messages', true);
  if (!Array.isArray(list) || list.length === 0) throw invalid('messages', 'messages: expected a non-empty array of {role, content}');
  const maxTokens = f.integer('max_completion_tokens', 1) ?? f.integer('max_tokens', 1);
  return { ...generation(f), maxTokens, messages: list.map(message) };
}

export function parseEmbeddings(body: unknown): EmbeddingRequest {
  const f = new Fields(body, EMBEDDINGS);
  const fmt = f.get('encoding_format') ?? 'float';
  if (fmt !== 'float' && fmt !== 'base64') throw invalid('encoding_format', `encoding_format: expected "float" or "base64", got ${show(fmt)}`);
  return { model: f.string('model', true)!, input: embeddingInput(f.get('input', true)), encodingFormat: fmt };
}

function generation(f: Fields): Omit<GenerationParams, 'maxTokens'> {
  const streamOptions = f.get('stream_options');
  if (streamOptions !== undefined && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) {
    throw invalid('stream_options', `stream_options: expected an object, got ${show(streamOptions)}`);
  }
  const includeUsage = (streamOptions as Json | undefined)?.include_usage ?? false;
  if (typeof includeUsage !== 'boolean') throw invalid('stream_options.include_usage', `stream_options.include_usage: expected a boolean, got ${show(includeUsage)}`);
  const stream = f.bool('stream') ?? false;
  const stop = f.get('stop');
  const stops = stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || stops.length > MAX_STOPS || stops.some((s) => typeof s !== 'string' || s === '')) {
    throw invalid('stop', `stop: expected a non-empty string or an array of at most ${MAX_STOPS} of them, got ${show(stop)}`);
  }
  const sampling: SamplingOptions = {
    temperature: f.number('temperature', 0), topP: f.number('top_p', 0, 1), topK: f.integer('top_k', 0),
    minP: f.number('min_p', 0, 1), repetitionPenalty: f.number('repetition_penalty', Number.MIN_VALUE),
    presencePenalty: f.number('presence_penalty', -2, 2), frequencyPenalty: f.number('frequency_penalty', -2, 2),
    seed: f.integer('seed', 0, 0xffffffff), logitBias: logitBias(f.get('logit_bias')),
  };
  for (const k of Object.keys(sampling) as (keyof SamplingOptions)[]) if (sampling[k] === undefined) delete sampling[k];
  return { model: f.string('model', true)!, stream, includeUsage: stream && includeUsage, stop: stops as string[], sampling };
}

/** A string, a one-element array of strings, or token ids; several prompts in one request are not served. */
function prompt(v: unknown): string | number[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && (typeof v[0] === 'string' || isIds(v[0]))) return v[0];
  if (isIds(v) && v.length > 0) return v;
  if (Array.isArray(v) && v.length > 1 && (v.every((x) => typeof x === 'string') || v.every(isIds))) {
    throw invalid('prompt', `prompt: ${v.length} prompts in one request are not supported; send one request per prompt`, 'unsupported_value');
  }
  throw invalid('prompt', `prompt: expected a string or an array of token ids, got ${show(v)}`);
}

function message(m: unknown, i: number): ChatMessage {
  const where = `messages[${i}]`;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid(where, `${where}: expected {role, content}, got ${show(m)}`);
  const { role, content } = m as Json;
  if (typeof role !== 'string') throw invalid(`${where}.role`, `${where}.role: expected a string, got ${show(role)}`);
  if (typeof content === 'string') return { ...(m as Json), role, content };
  // OpenAI's content parts: only text parts can reach a text model.
  if (Array.isArray(content) && content.every((p) => p?.type === 'text' && typeof p.text === 'string')) {
    return { ...(m as Json), role, content: content.map((p) => p.text).join('') };
  }
  throw invalid(`${where}.content`, `${where}.content: expected a string or an array of text parts, got ${show(content)}`);
}

function embeddingInput(v: unknown): string[] | number[][] {
  if (typeof v === 'string') return [v];
  if (isIds(v) && v.length > 0) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => isIds(x) && x.length > 0)) return v;
  throw invalid('input', `input: expected a string, an array of strings, an array of token ids or an array of such arrays, got ${show(v)}`);
}

function logitBias(v: unknown): Record<number, number> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('logit_bias', `logit_bias: expected an object of token id → number, got ${show(v)}`);
  const out: Record<number, number> = {};
  for (const [k, b] of Object.entries(v)) {
    if (!/^\d+$/.test(k) || typeof b !== 'number' || !(b >= -100 && b <= 100)) {
      throw invalid('logit_bias', `logit_bias["${k}"]: expected a token id key and a number in [-100, 100], got ${show(b)}`);
    }
    out[Number(k)] = b;
  }
  return out;
}

const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);

/** A short rendering of a bad value for an error message. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return `${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v} ${s.length > 40 ? s.slice(0, 40) + '…' : s}`;
}

/** Typed access to one JSON object's fields; errors name the field. */
class Fields {
  private readonly o: Json;

  /** Checks the keys first: each must be one of the schema's fields, or an unsupported one at its no-op value. */
  constructor(body: unknown, schema: Schema) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid(null, `request body: expected a JSON object, got ${show(body)}`);
    this.o = body as Json;
    for (const [name, v] of Object.entries(this.o)) {
      if (schema.fields.includes(name)) continue;
      if (!Object.hasOwn(schema.unsupported, name)) {
        throw invalid(name, `${name}: unknown field; ${schema.path} reads ${schema.fields.join(', ')}`, 'unknown_parameter');
      }
      if (v !== null && !schema.unsupported[name](v)) {
        throw invalid(name, `${name}: ${show(v)} is not supported by tide serve`, 'unsupported_parameter');
      }
    }
  }

  get(name: string, required = false): unknown {
    const v = this.o[name] ?? undefined;
    if (required && v === undefined) throw invalid(name, `${name}: required`, 'missing_required_parameter');
    return v;
  }

  string(name: string, required = false): string | undefined {
    const v = this.get(name, required);
    if (v !== undefined && typeof v !== 'string') throw invalid(name, `${name}: expected a string, got ${show(v)}`);
    return v as string | undefined;
  }

  bool(name: string): boolean | undefined {
    const v = this.get(name);
    if (v !== undefined && typeof v !== 'boolean') throw invalid(name, `${name}: expected a boolean, got ${show(v)}`);
    return v as boolean | undefined;
  }

  number(name: string, min = -Infinity, max = Infinity): number | undefined {
    const v = this.get(name);
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)) {
      throw invalid(name, `${name}: expected a number in [${min === Number.MIN_VALUE ? '>0' : min}, ${max}], got ${show(v)}`);
    }
    return v as number | undefined;
  }

  integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.get(name);
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) {
      throw invalid(name, `${name}: expected an integer in [${min}, ${max}], got ${show(v)}`);
    }
    return v as number | undefined;
  }
}

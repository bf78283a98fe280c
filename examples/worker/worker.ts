// A Cloudflare Worker (also plain workerd) that runs stories260K with the kernel wasm and the weights
// bundled as module imports: edge runtimes forbid compiling wasm from bytes, so the module is imported.
// POST /generate {"prompt": "Once upon a time", "max_tokens": 64} → {"prompt_ids", "ids", "text"} (greedy).
import { bytesReader, generateIds, loadModel, SourceError, TideError, type Model, type ModelFiles } from '../../src/index.js';
import kernels from './kernels-simd128.wasm';
import weights from './model.safetensors';
import config from './config.json';
import generationConfig from './generation_config.json';
import tokenizer from './tokenizer.json';
import tokenizerConfig from './tokenizer_config.json';

const TEXT: Record<string, string> = {
  'config.json': config, 'generation_config.json': generationConfig,
  'tokenizer.json': tokenizer, 'tokenizer_config.json': tokenizerConfig,
};
const MAX_TOKENS = 256;

const files: ModelFiles = {
  label: 'bundled stories260K',
  text: async (name) => TEXT[name],
  async open(name) {
    if (name !== 'model.safetensors') throw new SourceError(`bundled stories260K: no file ${name}`);
    return bytesReader(new Uint8Array(weights), name);
  },
};

// Loaded once per isolate, on the first request, and reused by every later one.
let model: Promise<Model> | undefined;

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== '/generate' || req.method !== 'POST') return json({ error: 'use POST /generate {"prompt", "max_tokens"}' }, 404);
    const body = await req.json().catch(() => undefined) as { prompt?: unknown; max_tokens?: unknown } | undefined;
    const maxTokens = body?.max_tokens ?? 64;
    if (typeof body?.prompt !== 'string') return json({ error: 'prompt: expected a string' }, 400);
    if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > MAX_TOKENS) {
      return json({ error: `max_tokens: expected an integer in 1..${MAX_TOKENS}, got ${JSON.stringify(maxTokens)}` }, 400);
    }
    model ??= loadModel(files, { wasm: kernels, simd: 'baseline', threads: 1 });
    const m = await model;
    const promptIds = m.tokenizer!.encode(body.prompt);
    const session = m.session();
    try {
      const r = generateIds(m, session, promptIds, { maxTokens: maxTokens as number, temperature: 0 });
      return json({ prompt_ids: promptIds, ids: r.ids, text: r.text, finish_reason: r.finishReason });
    } catch (e) {
      return json({ error: (e as Error).message }, e instanceof TideError ? 400 : 500);
    } finally {
      session.dispose();
    }
  },
};

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });

// A language model: the decoder runtime with its tokenizer and generation defaults, and generation on
// top. Generation code (src/text/) sees a model through TextModel and never imports this file.
import { tokenIds } from './families/config.js';
import { parseJson } from './formats/json.js';
import { Decoder } from './runtime/decoder.js';
import { LOAD_OPTIONS, loadCheckpoint, type LoadOptions } from './runtime/load.js';
import type { ModelFiles } from './sources/sources.js';
import { SOURCE_OPTIONS, type SourceOptions } from './sources/remote.js';
import { withModelFiles } from './sources/open.js';
import { checkOptions } from './options.js';
import { generate, type GenerateOptions, type GenerateResult, type Generation, type Prompt, type TextModel } from './text/generate.js';
import { chatCompletion, type ChatChunk, type ChatCompletion, type ChatRequest } from './text/openai.js';
import { TextTokenizer } from './text/tokenizer.js';
import type { Loaded } from './runtime/load.js';

export type { LoadOptions, ModelInfo } from './runtime/load.js';

export class Model extends Decoder implements TextModel {
  constructor(loaded: Loaded, readonly tokenizer: TextTokenizer | undefined, readonly generationConfig: Record<string, unknown>,
              readonly eosTokenIds: number[]) {
    super(loaded);
  }

  /**
   * Generate from text, chat messages or ids; iterate for text pieces, await `.result` for the rest.
   * @example for await (const piece of model.generate([{ role: 'user', content: 'Hi' }], { maxTokens: 64 })) process.stdout.write(piece);
   */
  generate(prompt: Prompt, opts?: GenerateOptions): Generation { return generate(this, prompt, opts); }

  /** Generate to the end and return the result (ids, text, reasoning/answer, finish reason, timings). */
  async complete(prompt: Prompt, opts?: GenerateOptions): Promise<GenerateResult> { return generate(this, prompt, opts).result; }

  /** OpenAI-style chat completion: `{ messages, temperature, top_p, max_tokens, stream, ... }`. */
  chat(request: ChatRequest & { stream: true }): AsyncIterable<ChatChunk>;
  chat(request: ChatRequest): Promise<ChatCompletion>;
  chat(request: ChatRequest): Promise<ChatCompletion> | AsyncIterable<ChatChunk> { return chatCompletion(this, request); }
}

/** Load a decoder from its files (config.json, safetensors, tokenizer.json, generation_config.json ...). */
export async function loadModelFrom(files: ModelFiles, opts: LoadOptions = {}): Promise<Model> {
  const genText = await files.text('generation_config.json');
  const generationConfig = genText ? parseJson(genText, `${files.label}/generation_config.json`) : {};
  const eos = tokenIds(generationConfig.eos_token_id, 'generation_config.json', 'eos_token_id');
  const loaded = await loadCheckpoint(files, opts, ['decoder']);
  const tokenizer = await TextTokenizer.read(files);
  try {
    return new Model(loaded, tokenizer, generationConfig, eos.length ? eos : (loaded.spec as { eosTokenIds: number[] }).eosTokenIds);
  } catch (e) {
    await loaded.pool?.close();
    throw e;
  }
}

/**
 * Load a model from a local directory (Node), a base URL (`https://host/models/stories260K`), a hub id
 * (`hf:org/name[@revision]`, or `org/name[@revision]` when no local directory has that name), or any
 * ModelFiles source. The model holds config.json, model.safetensors (or a sharded index) and, for text,
 * tokenizer.json. Downloads go through a cache (hub ids: the standard Hugging Face cache in Node).
 */
export async function loadModel(source: string | ModelFiles, opts: LoadOptions & SourceOptions = {}): Promise<Model> {
  checkOptions(opts, [...LOAD_OPTIONS, ...SOURCE_OPTIONS], 'loadModel options');
  return withModelFiles(source, opts, (files) => loadModelFrom(files, opts));
}

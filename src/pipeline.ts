// transformers.js's entry point, as a thin one-liner over loadEmbedder and loadModel:
//   const embed = await pipeline('feature-extraction', 'org/name');  await embed('Hello');
//   const generate = await pipeline('text-generation', 'org/name');  (await generate('Once')).text
import { OptionError } from './errors.js';
import { loadModel, type Model } from './model.js';
import type { LoadOptions } from './runtime/load.js';
import type { SourceOptions } from './sources/remote.js';
import type { ModelFiles } from './sources/sources.js';
import { loadEmbedder, type Embedder, type EmbedderOptions, type EmbedOptions, type Embeddings } from './text/embed.js';
import type { GenerateOptions, GenerateResult, Prompt } from './text/generate.js';

interface Disposable<M> { model: M; dispose(): Promise<void>; [Symbol.asyncDispose](): Promise<void> }

/** Texts in, vectors out (one text: one Float32Array). */
export type FeatureExtraction = {
  (text: string, opts?: EmbedOptions): Promise<Float32Array>;
  (texts: readonly string[], opts?: EmbedOptions): Promise<Embeddings>;
} & Disposable<Embedder>;

/** A prompt (text, chat messages or ids) in, the completed generation out. */
export type TextGeneration = ((prompt: Prompt, opts?: GenerateOptions) => Promise<GenerateResult>) & Disposable<Model>;

export const TASKS = ['feature-extraction', 'text-generation'] as const;

export async function pipeline(task: 'feature-extraction', model: string | ModelFiles, opts?: EmbedderOptions & SourceOptions): Promise<FeatureExtraction>;
export async function pipeline(task: 'text-generation', model: string | ModelFiles, opts?: LoadOptions & SourceOptions): Promise<TextGeneration>;
export async function pipeline(task: string, model: string | ModelFiles, opts: object = {}): Promise<FeatureExtraction | TextGeneration> {
  if (task === 'feature-extraction') {
    const e = await loadEmbedder(model, opts);
    return withModel(((inputs: string | readonly string[], o?: EmbedOptions) => e.embed(inputs as never, o)) as FeatureExtraction, e);
  }
  if (task === 'text-generation') {
    const m = await loadModel(model, opts);
    return withModel(((prompt: Prompt, o?: GenerateOptions) => m.complete(prompt, o)) as TextGeneration, m);
  }
  throw new OptionError(`pipeline: task "${task}" is not supported; supported: ${TASKS.join(', ')}`);
}

function withModel<F extends object, M extends { dispose(): Promise<void> }>(f: F, model: M): F {
  return Object.assign(f, { model, dispose: () => model.dispose(), [Symbol.asyncDispose]: () => model.dispose() });
}

/**
 * Tide: transformer inference in TypeScript on WebAssembly SIMD kernels. No native dependencies.
 *
 * @example
 * ```ts
 * import { loadModel } from 'tide-infer';
 * const model = await loadModel('weights/stories260K');
 * const s = model.session();
 * const logits = s.prefill(model.tokenizer!.encode('Once upon a time'));
 * console.log(logits.length); // 512
 * ```
 */
import { loadModelFrom, type LoadOptions, type Model } from './model.js';
import type { ModelFiles } from './sources/sources.js';
import type { SourceOptions } from './sources/remote.js';
import { withModelFiles } from './sources/open.js';

export { Model, loadModelFrom, type LoadOptions, type ModelInfo } from './model.js';
export { Session, type SessionOptions } from './runtime/session.js';
export { TextTokenizer } from './text/tokenizer.js';
export {
  generateIds, generate, encodePrompt, Generation, type GenerateOptions, type GenerateResult, type FinishReason, type Prompt,
} from './text/generate.js';
export { argmax, Sampler, samplingDefaults, type SamplingOptions } from './text/sampler.js';
export { Rng } from './text/rng.js';
export { TextStream, StopMatcher } from './text/stream.js';
export { ChatTemplate, CHAT_ROLES, type ChatMessage, type ChatTemplateOptions } from './text/chat.js';
export { ReasoningSplitter, splitReasoning, type ReasoningParts } from './text/reasoning.js';
export { chatCompletion, type ChatRequest, type ChatCompletion, type ChatChunk } from './text/openai.js';
export { specFromConfig, type ModelSpec } from './families/spec.js';
export { loadEmbedder, loadEmbedderFrom, Embedder, cosineSimilarity, topK, POOLINGS, type Pooling, type EmbedOptions,
  type EmbedderOptions, type Embeddings, type EmbeddingMatrix } from './text/embed.js';
export { bertSpecFromConfig, type BertSpec } from './families/spec.js';
export { readHeader, openCheckpoint, type Checkpoint, type TensorInfo } from './formats/safetensors.js';
export { bytesReader, type ByteReader, type ModelFiles } from './sources/sources.js';
export { openModelFiles } from './sources/open.js';
export { RemoteFiles, modelBaseUrl, type SourceOptions, type DownloadProgress } from './sources/remote.js';
export { memoryCache, browserCache, defaultCache, type ModelCache, type CacheWriter } from './sources/cache.js';
export { relaxedSimdSupported, type SimdFlavor } from './runtime/wasm.js';
export { Trace, timedOps, topProbs } from './inspect/trace.js';
export type { TraceHook } from './families/llama.js';
export { inspect, formatInspection, type Inspection, type InspectOptions } from './inspect/inspect.js';
export { inspectionHtml } from './inspect/html.js';
export * from './errors.js';

/**
 * Load a model from a local directory (Node), a base URL (`https://host/models/stories260K`), a hub id
 * (`hf:org/name` or `hf:org/name@revision`), or any ModelFiles source. The model holds config.json,
 * model.safetensors (or a sharded index) and, for text, tokenizer.json. Downloads go through a cache.
 */
export async function loadModel(source: string | ModelFiles, opts: LoadOptions & SourceOptions = {}): Promise<Model> {
  return withModelFiles(source, opts, (files) => loadModelFrom(files, opts));
}

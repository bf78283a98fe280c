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

export { Model, loadModel, loadModelFrom, type LoadOptions, type ModelInfo } from './model.js';
export { pipeline, TASKS, type FeatureExtraction, type TextGeneration } from './pipeline.js';
export { Session, type SessionOptions } from './runtime/session.js';
export { TextTokenizer } from './text/tokenizer.js';
export {
  generateIds, generate, encodePrompt, Generation, type GenerateOptions, type GenerateResult, type FinishReason, type Prompt,
} from './text/generate.js';
export { argmax, Sampler, samplingDefaults, type SamplingOptions } from './text/sampler.js';
export { Rng } from './text/rng.js';
export { TextStream, StopMatcher } from './text/stream.js';
export { ChatTemplate, CHAT_ROLES, TEMPLATE_LIMITS, type ChatMessage, type ChatTemplateOptions, type TemplateLimits } from './text/chat.js';
export { ReasoningSplitter, splitReasoning, type ReasoningParts } from './text/reasoning.js';
export { chatCompletion, type ChatRequest, type ChatCompletion, type ChatChunk } from './text/openai.js';
export { specFromConfig, FAMILIES, familyOf } from './families/registry.js';
export type { DecoderSpec } from './families/decoder.js';
export type { Family, AnySpec } from './families/registry.js';
export type { DecoderFamily } from './families/decoder.js';
export type { EncoderFamily } from './families/bert.js';
export type { WeightEntry, FamilyRecord } from './families/family.js';
export { loadEmbedder, loadEmbedderFrom, Embedder, cosineSimilarity, topK, POOLINGS, type Pooling, type EmbedOptions,
  type EmbedderOptions, type Embeddings, type EmbeddingMatrix } from './text/embed.js';
export { bertSpecFromConfig, type BertSpec } from './families/bert.js';
export { readHeader, openCheckpoint, type Checkpoint, type TensorInfo } from './formats/safetensors.js';
export { bytesReader, type ByteReader, type ModelFiles } from './sources/sources.js';
export { openModelFiles } from './sources/open.js';
export { RemoteFiles, modelBaseUrl, type SourceOptions, type DownloadProgress } from './sources/remote.js';
export { memoryCache, browserCache, defaultCache, type ModelCache, type CacheWriter } from './sources/cache.js';
export { relaxedSimdSupported, type SimdFlavor } from './runtime/wasm.js';
export { Trace, timedOps, topProbs } from './inspect/trace.js';
export type { TraceHook } from './families/decoder.js';
export { inspect, formatInspection, type Inspection, type InspectOptions } from './inspect/inspect.js';
export { inspectionHtml } from './inspect/html.js';
export * from './errors.js';

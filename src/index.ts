/**
 * Tide: transformer inference in TypeScript on WebAssembly SIMD kernels. No native dependencies.
 *
 * @example
 * ```ts
 * import { loadModel } from 'tide';
 * const model = await loadModel('weights/stories260K');
 * const s = model.session();
 * const logits = s.prefill(model.tokenizer!.encode('Once upon a time'));
 * console.log(logits.length); // 512
 * ```
 */
import { loadModelFrom, type LoadOptions, type Model } from './model.js';
import type { ModelFiles } from './sources.js';

export { Model, loadModelFrom, type LoadOptions, type ModelInfo } from './model.js';
export { Session, type SessionOptions } from './session.js';
export { TextTokenizer } from './tokenizer.js';
export { generateIds, type GenerateOptions, type GenerateResult } from './generate.js';
export { argmax } from './sampler.js';
export { specFromConfig, type ModelSpec } from './spec.js';
export { readHeader, openCheckpoint, type Checkpoint, type TensorInfo } from './safetensors.js';
export { bytesReader, type ByteReader, type ModelFiles } from './sources.js';
export { relaxedSimdSupported, type SimdFlavor } from './wasm.js';
export * from './errors.js';

/**
 * Load a model from a local directory (Node) or any ModelFiles source.
 * The directory holds config.json, model.safetensors (or a sharded index) and, for text, tokenizer.json.
 */
export async function loadModel(dirOrFiles: string | ModelFiles, opts: LoadOptions = {}): Promise<Model> {
  if (typeof dirOrFiles !== 'string') return loadModelFrom(dirOrFiles, opts);
  // Imported only when a path is given, so bundles for browsers and edge runtimes never pull in fs.
  const { dirSource } = await import('./node/dir-source.js');
  return loadModelFrom(await dirSource(dirOrFiles), opts);
}

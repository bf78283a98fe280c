// config.json's model_type → its family. Adding a family is a file in this folder and a line here.
import { ConfigError } from '../errors.js';
import { bert, type BertSpec, type EncoderFamily } from './bert.js';
import { show, type Json } from './config.js';
import type { DecoderFamily, DecoderSpec } from './decoder.js';
import { gemma3 } from './gemma3.js';
import { llama, qwen2 } from './llama.js';
import { phi3 } from './phi3.js';
import { qwen3 } from './qwen3.js';
import { smollm3 } from './smollm3.js';

export type Family = DecoderFamily | EncoderFamily;
export type AnySpec = DecoderSpec | BertSpec;

export const FAMILIES: Record<string, Family> = {
  llama,
  mistral: llama,     // llama with sliding_window
  qwen2,
  qwen3,
  gemma3_text: gemma3,
  phi3,
  smollm3,
  bert,
  roberta: bert,
};

/** The family of a config's model_type; `file` names the config in errors. */
export function familyOf(modelType: unknown, file: string): Family {
  if (typeof modelType !== 'string') throw new ConfigError(`${file}: missing field model_type`);
  const f = Object.hasOwn(FAMILIES, modelType) ? FAMILIES[modelType] : undefined;
  if (!f) throw new ConfigError(`${file}: model_type ${show(modelType)} is not supported; supported: ${Object.keys(FAMILIES).join(', ')}`);
  return f;
}

/** The spec of a parsed config.json, through its family's reader. */
export function specFromConfig(config: Json, file = 'config.json'): AnySpec {
  return familyOf(config.model_type, file).readSpec(config, file);
}

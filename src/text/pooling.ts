// sentence-transformers conventions: which pooling and normalisation a model's modules.json,
// 1_Pooling/config.json and sentence_bert_config.json ask for, and the pooling itself over hidden states.
import { ConfigError } from '../errors.js';
import { parseJson } from '../formats/json.js';
import type { ModelFiles } from '../sources/sources.js';

/** How token vectors become one sentence vector (sentence-transformers' Pooling modes). */
export type Pooling = 'mean' | 'cls' | 'max' | 'lasttoken';
export const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'max', 'lasttoken'];

export interface SentenceConfig {
  pooling: Pooling;
  normalize: boolean;           // a Normalize module follows the pooling
  maxSeqLength?: number;        // sentence_bert_config.json max_seq_length
  doLowerCase: boolean;         // sentence_bert_config.json do_lower_case: texts are lowercased first
  warnings: string[];           // what was assumed because a file was missing
}

const MODULE = 'sentence_transformers.models.';
const FLAGS: [string, Pooling | undefined][] = [
  ['pooling_mode_mean_tokens', 'mean'], ['pooling_mode_cls_token', 'cls'], ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_lasttoken', 'lasttoken'], ['pooling_mode_mean_sqrt_len_tokens', undefined],
  ['pooling_mode_weightedmean_tokens', undefined],
];

/** Read the sentence-transformers files; without modules.json, mean pooling + Normalize (with a warning). */
export async function readSentenceConfig(files: ModelFiles, dim: number): Promise<SentenceConfig> {
  const bert = await jsonFile(files, 'sentence_bert_config.json');
  const maxSeqLength = bert?.max_seq_length;
  if (maxSeqLength !== undefined && maxSeqLength !== null && (!Number.isSafeInteger(maxSeqLength) || (maxSeqLength as number) < 1)) {
    throw new ConfigError(`${files.label}/sentence_bert_config.json: max_seq_length must be a positive integer, got ${JSON.stringify(maxSeqLength)}`);
  }
  const base = { maxSeqLength: (maxSeqLength ?? undefined) as number | undefined, doLowerCase: bert?.do_lower_case === true };
  const modulesText = await files.text('modules.json');
  if (modulesText === undefined) {
    return { ...base, pooling: 'mean', normalize: true,
      warnings: [`${files.label}: no modules.json; using mean pooling and L2 normalisation`] };
  }
  const label = `${files.label}/modules.json`;
  let modules: unknown;
  try { modules = JSON.parse(modulesText); } catch (e) { throw new ConfigError(`${label}: not valid JSON: ${(e as Error).message}`); }
  if (!Array.isArray(modules)) throw new ConfigError(`${label}: expected a JSON array of modules`);
  let pooling: Pooling | undefined, normalize = false;
  for (const m of modules as { type?: unknown; path?: unknown }[]) {
    const type = String(m?.type ?? '');
    if (type === MODULE + 'Transformer') {
      if (m.path) throw new ConfigError(`${label}: Transformer module in subfolder "${m.path}" is not supported; expected path ""`);
    } else if (type === MODULE + 'Pooling') {
      pooling = await poolingMode(files, String(m.path ?? ''), dim);
    } else if (type === MODULE + 'Normalize') {
      normalize = true;
    } else {
      throw new ConfigError(`${label}: module type "${type}" is not supported; supported: Transformer, Pooling, Normalize`);
    }
  }
  if (!pooling) throw new ConfigError(`${label}: no sentence_transformers.models.Pooling module`);
  return { ...base, pooling, normalize, warnings: [] };
}

async function poolingMode(files: ModelFiles, path: string, dim: number): Promise<Pooling> {
  const file = `${path ? path + '/' : ''}config.json`;
  const label = `${files.label}/${file}`;
  const c = await jsonFile(files, file);
  if (!c) throw new ConfigError(`${label}: missing (modules.json names a Pooling module there)`);
  if (c.word_embedding_dimension !== undefined && c.word_embedding_dimension !== dim) {
    throw new ConfigError(`${label}: word_embedding_dimension ${c.word_embedding_dimension} but the model's hidden_size is ${dim}`);
  }
  if (c.include_prompt === false) throw new ConfigError(`${label}: include_prompt false is not supported`);
  const on = FLAGS.filter(([flag]) => c[flag] === true);
  if (on.length !== 1) {
    throw new ConfigError(`${label}: expected exactly one pooling_mode_* true, got ${on.length ? on.map(([f]) => f).join(', ') : 'none'}`);
  }
  const [flag, mode] = on[0];
  if (!mode) throw new ConfigError(`${label}: ${flag} is not supported; supported: ${POOLINGS.join(', ')}`);
  return mode;
}

async function jsonFile(files: ModelFiles, name: string): Promise<Record<string, unknown> | undefined> {
  const text = await files.text(name);
  return text === undefined ? undefined : parseJson(text, `${files.label}/${name}`);
}

/**
 * out (dim,) = pooled rows [r0, r1) of h (rows, dim), in float64 then rounded once:
 * mean, the first row (CLS), the element-wise max, or the last row (last-token).
 */
export function pool(out: Float32Array, h: Float32Array, dim: number, r0: number, r1: number, mode: Pooling): void {
  if (mode === 'cls' || mode === 'lasttoken') {
    const r = mode === 'cls' ? r0 : r1 - 1;
    out.set(h.subarray(r * dim, (r + 1) * dim));
    return;
  }
  for (let j = 0; j < dim; j++) {
    let acc = mode === 'max' ? -Infinity : 0;
    for (let r = r0; r < r1; r++) acc = mode === 'max' ? Math.max(acc, h[r * dim + j]) : acc + h[r * dim + j];
    out[j] = mode === 'max' ? acc : acc / (r1 - r0);
  }
}

/** In place: v /= max(‖v‖₂, 1e-12), as torch.nn.functional.normalize (sentence-transformers' Normalize). */
export function l2normalize(v: Float32Array): void {
  let ss = 0;
  for (let j = 0; j < v.length; j++) ss += v[j] * v[j];
  const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
  for (let j = 0; j < v.length; j++) v[j] *= inv;
}

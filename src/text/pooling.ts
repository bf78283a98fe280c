// sentence-transformers conventions: what a model's modules.json (Pooling, Dense, Normalize modules),
// sentence_bert_config.json and config_sentence_transformers.json ask for, and the pooling itself.
import { ConfigError, OptionError } from '../errors.js';
import { jsonFault, parseJson } from '../formats/json.js';
import type { ModelFiles } from '../sources/sources.js';
import { dense, readDense, type DenseLayer } from './dense.js';

/** How token vectors become one sentence vector (sentence-transformers' Pooling modes). */
export type Pooling = 'mean' | 'cls' | 'max' | 'lasttoken';
export const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'max', 'lasttoken'];

export interface SentenceConfig {
  pooling: Pooling;
  dense: DenseLayer[];          // Dense modules after the pooling, in order
  normalize: boolean;           // a Normalize module ends the pipeline
  maxSeqLength?: number;        // sentence_bert_config.json max_seq_length (or the loader's option)
  doLowerCase: boolean;         // sentence_bert_config.json do_lower_case: texts are lowercased first
  prompts: Map<string, string>; // config_sentence_transformers.json prompts, by name
  defaultPromptName?: string;   // its default_prompt_name: the prompt a text gets when embed names none
  warnings: string[];           // what was assumed because a file was missing
}

type ModuleKind = 'Transformer' | 'Pooling' | 'Dense' | 'Normalize';
/** modules.json types, the classic names and sentence-transformers 6's; a pipeline runs in this order. */
const MODULES: Record<string, ModuleKind> = {
  'sentence_transformers.models.Transformer': 'Transformer',
  'sentence_transformers.base.models.Transformer': 'Transformer',
  'sentence_transformers.models.Pooling': 'Pooling',
  'sentence_transformers.sentence_transformer.models.Pooling': 'Pooling',
  'sentence_transformers.models.Dense': 'Dense',
  'sentence_transformers.sentence_transformer.models.Dense': 'Dense',
  'sentence_transformers.models.Normalize': 'Normalize',
  'sentence_transformers.sentence_transformer.models.Normalize': 'Normalize',
};
const ORDER: ModuleKind[] = ['Transformer', 'Pooling', 'Dense', 'Normalize'];
/** Pooling config.json's pooling_mode_* flags, and the pooling_mode names of newer files. */
const FLAGS: [string, Pooling | undefined][] = [
  ['pooling_mode_mean_tokens', 'mean'], ['pooling_mode_cls_token', 'cls'], ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_lasttoken', 'lasttoken'], ['pooling_mode_mean_sqrt_len_tokens', undefined],
  ['pooling_mode_weightedmean_tokens', undefined],
];
const MODE_NAMES: Record<string, Pooling | undefined> = {
  mean: 'mean', cls: 'cls', max: 'max', lasttoken: 'lasttoken', mean_sqrt_len_tokens: undefined, weightedmean: undefined,
};

/**
 * Read the sentence-transformers files; without modules.json, mean pooling + Normalize (with a warning).
 * `dim` is the transformer's hidden size; `maxSeqLength`, when given, overrides max_seq_length.
 */
export async function readSentenceConfig(files: ModelFiles, dim: number, maxSeqLength?: number): Promise<SentenceConfig> {
  if (maxSeqLength !== undefined && (!Number.isSafeInteger(maxSeqLength) || maxSeqLength < 1)) {
    throw new OptionError(`maxSeqLength ${maxSeqLength} must be a positive integer`);
  }
  const bert = await jsonFile(files, 'sentence_bert_config.json');
  const fileMax = bert?.max_seq_length;
  if (fileMax !== undefined && fileMax !== null && (!Number.isSafeInteger(fileMax) || (fileMax as number) < 1)) {
    throw new ConfigError(`${files.label}/sentence_bert_config.json: max_seq_length must be a positive integer, got ${JSON.stringify(fileMax)}`);
  }
  const base = {
    maxSeqLength: maxSeqLength ?? (fileMax ?? undefined) as number | undefined,
    doLowerCase: bert?.do_lower_case === true,
    ...await readPrompts(files),
  };
  const modulesText = await files.text('modules.json');
  if (modulesText === undefined) {
    return { ...base, pooling: 'mean', dense: [], normalize: true,
      warnings: [`${files.label}: no modules.json; using mean pooling and L2 normalisation`] };
  }
  return { ...base, ...await readModules(files, modulesText, dim), warnings: [] };
}

/** The pipeline modules.json lists: Transformer, Pooling, any Dense, an optional Normalize, in that order. */
async function readModules(files: ModelFiles, text: string, dim: number) {
  const label = `${files.label}/modules.json`;
  let modules: unknown;
  try { modules = JSON.parse(text); } catch (e) { throw new ConfigError(`${label}: not valid JSON (${jsonFault(e)})`); }
  if (!Array.isArray(modules)) throw new ConfigError(`${label}: expected a JSON array of modules`);
  let pooling: Pooling | undefined, last = -1, width = dim;
  const dense: DenseLayer[] = [];
  for (const m of modules as { type?: unknown; path?: unknown }[]) {
    const type = String(m?.type ?? '');
    const kind = Object.hasOwn(MODULES, type) ? MODULES[type] : undefined;
    if (!kind) throw new ConfigError(`${label}: module type "${type}" is not supported; supported: ${Object.keys(MODULES).join(', ')}`);
    const rank = ORDER.indexOf(kind);
    if (rank < last || (rank === last && kind !== 'Dense')) {
      throw new ConfigError(`${label}: ${kind} after ${ORDER[last]} is not supported; expected ${ORDER.join(', ')} in that order`);
    }
    last = rank;
    const path = modulePath(label, m.path);
    if (kind === 'Transformer' && path) throw new ConfigError(`${label}: Transformer module in subfolder "${path}" is not supported; expected path ""`);
    if (kind === 'Pooling') pooling = await poolingMode(files, path, dim);
    if (kind !== 'Transformer' && !pooling) throw new ConfigError(`${label}: ${kind} before any Pooling module is not supported`);
    if (kind === 'Dense') {
      dense.push(await readDense(files, path, width));
      width = dense[dense.length - 1].outFeatures;
    }
  }
  if (!pooling) throw new ConfigError(`${label}: no Pooling module`);
  return { pooling, dense, normalize: last === ORDER.indexOf('Normalize') };
}

/** A module's folder: relative, inside the model (as model.safetensors.index.json's shard names). */
function modulePath(label: string, path: unknown): string {
  const p = path ?? '';
  if (typeof p !== 'string' || p.startsWith('/') || p.split(/[\\/]/).includes('..')) {
    throw new ConfigError(`${label}: module path ${JSON.stringify(p)} must be a folder inside the model`);
  }
  return p.replace(/\/+$/, '');
}

async function poolingMode(files: ModelFiles, path: string, dim: number): Promise<Pooling> {
  const file = `${path ? path + '/' : ''}config.json`;
  const label = `${files.label}/${file}`;
  const c = await jsonFile(files, file);
  if (!c) throw new ConfigError(`${label}: missing (modules.json names a Pooling module there)`);
  for (const field of ['word_embedding_dimension', 'embedding_dimension']) {
    if (c[field] !== undefined && c[field] !== dim) throw new ConfigError(`${label}: ${field} ${c[field]} but the model's hidden_size is ${dim}`);
  }
  if (c.include_prompt === false) throw new ConfigError(`${label}: include_prompt false is not supported`);
  if (c.pooling_mode !== undefined && c.pooling_mode !== null) {
    const name = typeof c.pooling_mode === 'string' ? c.pooling_mode.toLowerCase() : undefined;
    const mode = name !== undefined && Object.hasOwn(MODE_NAMES, name) ? MODE_NAMES[name] : undefined;
    if (!mode) throw new ConfigError(`${label}: pooling_mode ${JSON.stringify(c.pooling_mode)} is not supported; supported: ${POOLINGS.join(', ')}`);
    return mode;
  }
  const on = FLAGS.filter(([flag]) => c[flag] === true);
  if (on.length !== 1) {
    throw new ConfigError(`${label}: expected exactly one pooling_mode_* true, got ${on.length ? on.map(([f]) => f).join(', ') : 'none'}`);
  }
  const [flag, mode] = on[0];
  if (!mode) throw new ConfigError(`${label}: ${flag} is not supported; supported: ${POOLINGS.join(', ')}`);
  return mode;
}

/** config_sentence_transformers.json's prompts (name → text) and default_prompt_name; none without the file. */
async function readPrompts(files: ModelFiles): Promise<{ prompts: Map<string, string>; defaultPromptName?: string }> {
  const name = 'config_sentence_transformers.json', label = `${files.label}/${name}`;
  const c = await jsonFile(files, name);
  const raw = c?.prompts ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
    throw new ConfigError(`${label}: prompts must be an object of name → prompt text`);
  }
  const prompts = new Map(Object.entries(raw as Record<string, string>));
  const def = c?.default_prompt_name ?? undefined;
  if (def !== undefined && (typeof def !== 'string' || !prompts.has(def))) {
    throw new ConfigError(`${label}: default_prompt_name ${JSON.stringify(def)} is not one of its prompts (${[...prompts.keys()].join(', ') || 'none'})`);
  }
  return { prompts, defaultPromptName: def };
}

async function jsonFile(files: ModelFiles, name: string): Promise<Record<string, unknown> | undefined> {
  const text = await files.text(name);
  return text === undefined ? undefined : parseJson(text, `${files.label}/${name}`);
}

/**
 * out (dim,) = pooled rows [r0, r1) of h (rows, dim), accumulated in float64:
 * mean, the first row (CLS), the element-wise max, or the last row (last-token).
 */
export function pool(out: Float64Array, h: Float32Array, dim: number, r0: number, r1: number, mode: Pooling): void {
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

/** The pooled vector through the Dense modules, in order, in float64. */
export function applyDense(layers: readonly DenseLayer[], x: Float64Array): Float64Array {
  return layers.reduce((v, layer) => dense(layer, v), x);
}

/** In place: v /= max(‖v‖₂, 1e-12), as torch.nn.functional.normalize (sentence-transformers' Normalize). */
export function l2normalize(v: Float32Array | Float64Array): void {
  let ss = 0;
  for (let j = 0; j < v.length; j++) ss += v[j] * v[j];
  const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
  for (let j = 0; j < v.length; j++) v[j] *= inv;
}

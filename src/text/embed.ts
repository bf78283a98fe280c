// Sentence embeddings: load a BERT-family encoder with its sentence-transformers pooling, embed texts
// or ids in length-sorted packed batches, and compare vectors (cosine similarity, top-k).
import { Arena, checkPlan, WASM32_MAX_BYTES } from '../runtime/arena.js';
import { ConfigError, OptionError, TokenizerError } from '../errors.js';
import { checkTensor, loadTensors, parseJson, type LoadOptions } from '../model.js';
import { allocEncoderState, bindWeights, checkpointPrefix, forward, planEncoderState, weightTable, type BertWeights } from '../families/bert.js';
import { Ops } from '../runtime/ops.js';
import { l2normalize, pool, POOLINGS, readSentenceConfig, type Pooling, type SentenceConfig } from './pooling.js';
import { openCheckpoint } from '../formats/safetensors.js';
import type { ModelFiles } from '../sources/sources.js';
import type { SourceOptions } from '../sources/remote.js';
import { withModelFiles } from '../sources/open.js';
import { bertSpecFromConfig, type BertSpec } from '../families/spec.js';
import { defaultSpawner, resolveThreads, ThreadPool } from '../runtime/threads.js';
import { TextTokenizer } from './tokenizer.js';
import { kernelModule } from '../runtime/wasm.js';
import { stagingBytes, tensorBytes, type Storage } from '../runtime/weights.js';

export { POOLINGS, type Pooling } from './pooling.js';

/** loadModel's options, less `quantize`: encoders keep f32 / 16-bit weights (q8/q4 are decoder-only for now). */
export interface EmbedderOptions extends Omit<LoadOptions, 'quantize'> {
  /** Called with each assumption made for a missing file (default: console.warn). */
  onWarning?: (message: string) => void;
}

export interface EmbedOptions {
  /** Sequences per forward pass, at most (each pass also holds at most FORWARD_TOKENS tokens); default 32. */
  batchSize?: number;
  /** L2-normalise each vector; default: whether the model has a Normalize module. */
  normalize?: boolean;
  /** Pooling mode; default: the model's 1_Pooling/config.json. */
  pooling?: Pooling;
}

/** n vectors of dim floats, row-major in one array. */
export interface EmbeddingMatrix {
  data: Float32Array;  // (rows, dim)
  rows: number;
  dim: number;
  tokens: number[];    // tokens embedded per input, after truncation
  truncated: number[]; // indices of inputs cut to maxSeqLength
}

/** One vector per input (views into one packed matrix), and which inputs were truncated. */
export type Embeddings = Float32Array[] & { truncated: number[]; tokens: number[] };

export const DEFAULT_BATCH_SIZE = 32;
/**
 * Tokens per forward pass, at most (a longer single sequence gets a pass of its own). The matmuls sweep
 * all of a pass's rows per weight panel, so past this the activations leave the cache: on the MiniLM
 * shape 32 × 128 tokens in one pass embedded ~25% fewer sentences/s than passes of 128-512 tokens.
 */
export const FORWARD_TOKENS = 512;

/**
 * Input indices in forward passes: sorted longest first (similar lengths together), at most batchSize
 * sequences and FORWARD_TOKENS tokens per pass. Sequences are packed, so the grouping changes no result
 * beyond the matmul's rounding (a row in a register tile or in its tail).
 */
export function packBatches(ids: number[][], batchSize: number): number[][] {
  const order = ids.map((_, i) => i).sort((a, b) => ids[b].length - ids[a].length || a - b);
  const batches: number[][] = [];
  let cur: number[] = [], tokens = 0;
  for (const i of order) {
    if (cur.length === batchSize || (cur.length > 0 && tokens + ids[i].length > FORWARD_TOKENS)) { batches.push(cur); cur = []; tokens = 0; }
    cur.push(i);
    tokens += ids[i].length;
  }
  if (cur.length) batches.push(cur);
  return batches;
}

export class Embedder {
  readonly ops: Ops;
  /** Longest input in tokens: max_seq_length, capped by the position table. Longer ones are truncated. */
  readonly maxSeqLength: number;

  constructor(readonly spec: BertSpec, readonly arena: Arena, readonly weights: BertWeights,
              readonly tokenizer: TextTokenizer | undefined, readonly config: SentenceConfig,
              readonly source: string, readonly pool?: ThreadPool) {
    this.ops = new Ops(arena.kernels, pool);
    this.maxSeqLength = Math.min(config.maxSeqLength ?? spec.seqLen, spec.seqLen);
  }

  get dim(): number { return this.spec.dim; }
  get threads(): number { return this.pool?.threads ?? 1; }

  /** One vector per text (or per id list); results are in input order. */
  async embed(inputs: readonly string[] | readonly (readonly number[])[], opts: EmbedOptions = {}): Promise<Embeddings> {
    const m = await this.embedMatrix(inputs, opts);
    const rows = Array.from({ length: m.rows }, (_, i) => m.data.subarray(i * m.dim, (i + 1) * m.dim));
    return Object.assign(rows, { truncated: m.truncated, tokens: m.tokens });
  }

  /** The same vectors as one (rows, dim) matrix. */
  async embedMatrix(inputs: readonly string[] | readonly (readonly number[])[], opts: EmbedOptions = {}): Promise<EmbeddingMatrix> {
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    const mode = opts.pooling ?? this.config.pooling;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError(`batchSize ${batchSize} must be a positive integer`);
    if (!POOLINGS.includes(mode)) throw new OptionError(`pooling "${mode}" is not supported; supported: ${POOLINGS.join(', ')}`);
    const { ids, truncated } = this.tokenize(inputs);
    const dim = this.dim;
    const data = new Float32Array(ids.length * dim);
    const batches = packBatches(ids, batchSize);
    const mark = this.arena.mark();
    try {
      // reduce, not Math.max(...): a corpus of 10⁵ inputs would overflow the argument stack.
      const N = batches.reduce((m, b) => Math.max(m, b.reduce((n, i) => n + ids[i].length, 0)), 1);
      const S = batches.reduce((m, b) => Math.max(m, b.length), 1), L = ids.reduce((m, x) => Math.max(m, x.length), 1);
      checkPlan(planEncoderState(this.spec, N, S, L, this.threads), this.arena.budgetBytes, this.arena.usedBytes);
      const s = allocEncoderState(this.arena, this.spec, N, S, L, this.threads);
      for (const batch of batches) {
        const offsets = forward(this.ops, this.spec, this.weights, s, this.arena, batch.map((i) => ids[i]));
        const h = this.arena.f32(s.x.ptr, offsets[batch.length] * dim);
        batch.forEach((i, j) => {
          const v = data.subarray(i * dim, (i + 1) * dim);
          pool(v, h, dim, offsets[j], offsets[j + 1], mode);
          if (opts.normalize ?? this.config.normalize) l2normalize(v);
        });
      }
    } finally {
      this.arena.release(mark);
    }
    return { data, rows: ids.length, dim, tokens: ids.map((x) => x.length), truncated };
  }

  /**
   * Token ids for each input, cut to maxSeqLength. A text keeps its closing special token ([SEP], </s>)
   * when cut, as sentence-transformers' tokenizer call does; id lists are cut as given.
   */
  tokenize(inputs: readonly string[] | readonly (readonly number[])[]): { ids: number[][]; truncated: number[] } {
    const max = this.maxSeqLength, truncated: number[] = [];
    const ids = inputs.map((input, i): number[] => {
      let x: number[];
      if (typeof input === 'string') {
        if (!this.tokenizer) throw new TokenizerError(`${this.source}: no tokenizer.json; pass token ids instead of text`);
        x = this.tokenizer.encode(this.config.doLowerCase ? input.toLowerCase() : input);
        if (x.length > max) {
          truncated.push(i);
          x = this.closers.has(x[x.length - 1]) && max > 1 ? [...x.slice(0, max - 1), x[x.length - 1]] : x.slice(0, max);
        }
      } else {
        if (!Array.isArray(input)) throw new OptionError(`input ${i}: expected a string or an array of token ids`);
        x = Array.from(input);
        if (x.length > max) { truncated.push(i); x = x.slice(0, max); }
      }
      if (x.length === 0) throw new OptionError(`input ${i}: no tokens to embed`);
      const bad = x.find((id) => !Number.isInteger(id) || id < 0 || id >= this.spec.vocabSize);
      if (bad !== undefined) throw new TokenizerError(`input ${i}: token id ${bad} is outside the vocabulary 0..${this.spec.vocabSize - 1}`);
      return x;
    });
    return { ids, truncated };
  }

  /** Special ids the tokenizer adds to every text (e.g. [CLS], [SEP]): kept at the end when a text is cut. */
  private get closers(): Set<number> {
    return new Set(this.tokenizer?.encode('') ?? []);
  }

  /** Stop the worker threads; the embedder must not be used afterwards. */
  async dispose(): Promise<void> { await this.pool?.close(); }
}

/**
 * The encoder's layouts: the linear layers' matrices in the decoder's 8-row panels (16-bit checkpoints
 * stay 16-bit); the embedding tables, read a row at a time, and all vectors stay f32.
 */
const encoderStorage: Storage = (hf, shape, src) =>
  shape.length !== 2 || hf.includes('embeddings.') ? 'f32' : src === 'BF16' ? 'bf16p8' : src === 'F16' ? 'f16p8' : 'f32p8';

/** Load an encoder from its files: config.json, model.safetensors, tokenizer.json, sentence-transformers files. */
export async function loadEmbedderFrom(files: ModelFiles, opts: EmbedderOptions = {}): Promise<Embedder> {
  const configText = await files.text('config.json');
  if (configText === undefined) throw new ConfigError(`${files.label}: no config.json`);
  const spec = bertSpecFromConfig(parseJson(configText, `${files.label}/config.json`), `${files.label}/config.json`);
  const config = await readSentenceConfig(files, spec.dim);
  for (const w of config.warnings) (opts.onWarning ?? console.warn)(w);

  if ((opts as LoadOptions).quantize !== undefined && (opts as LoadOptions).quantize !== 'none') {
    throw new OptionError(`quantize "${(opts as LoadOptions).quantize}" is not supported for encoders; supported: none`);
  }
  const threads = await resolveThreads(opts.threads);
  const ckpt = await openCheckpoint(files);
  try {
    const prefix = checkpointPrefix(spec, (hf) => ckpt.tensors.has(hf));
    const table = weightTable(spec, prefix);
    const weightBytes = table.reduce((sum, t) => sum + tensorBytes(encoderStorage(t.hf, t.shape, checkTensor(ckpt, t.hf, t.shape, spec).dtype), t.shape), 0);
    const budget = Math.min(opts.memoryBudgetBytes ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);
    const staging = { name: 'staging', bytes: stagingBytes(table.map((t) => t.shape)) };
    checkPlan([{ name: 'weights', bytes: weightBytes }, staging, ...planEncoderState(spec, 1, 1, 1, threads)], budget);
    const km = await kernelModule({ ...opts, shared: threads > 1 });
    const arena = new Arena(km, budget, weightBytes);
    const tensors = await loadTensors(arena, spec, ckpt, table, opts.onProgress, encoderStorage);
    const tokenizerText = await files.text('tokenizer.json');
    const tokenizer = tokenizerText === undefined ? undefined
      : TextTokenizer.parse(tokenizerText, await files.text('tokenizer_config.json'), `${files.label}/tokenizer.json`);
    const weights = bindWeights(spec, (hf) => tensors.get(hf)!, prefix);
    const pool = threads > 1 ? await ThreadPool.start(threads, km.module, arena.memory, arena.kernels, await defaultSpawner()) : undefined;
    return new Embedder(spec, arena, weights, tokenizer, config, files.label, pool);
  } finally {
    await ckpt.close();
  }
}

/**
 * Load an encoder from a local directory (Node), a base URL, a hub id (`hf:org/name[@revision]`), or any
 * ModelFiles source; downloads go through the cache, as loadModel's.
 *
 * @example
 * ```ts
 * const e = await loadEmbedder('test/fixtures/models/tiny-bert'); // no tokenizer.json: ids in
 * const [v] = await e.embed([[20, 36, 118, 81, 189, 48, 157]]);
 * console.log(v.length, v[0].toFixed(4));                        // 64 0.0020 (mean-pooled, L2-normalised)
 * await e.dispose();
 * ```
 */
export async function loadEmbedder(source: string | ModelFiles, opts: EmbedderOptions & SourceOptions = {}): Promise<Embedder> {
  return withModelFiles(source, opts, (files) => loadEmbedderFrom(files, opts));
}

/** cos(a, b) = a·b / (‖a‖ ‖b‖), accumulated in float64; 0 when either vector is zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new OptionError(`cosineSimilarity: vectors of length ${a.length} and ${b.length}`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** The k corpus vectors most cosine-similar to query, best first (ties: lower index first). */
export function topK(query: ArrayLike<number>, corpus: readonly ArrayLike<number>[], k = 5): { index: number; score: number }[] {
  if (!Number.isInteger(k) || k < 0) throw new OptionError(`topK: k ${k} must be a non-negative integer`);
  return corpus.map((v, index) => ({ index, score: cosineSimilarity(query, v) }))
    .sort((x, y) => y.score - x.score || x.index - y.index).slice(0, k);
}

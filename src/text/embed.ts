// Sentence embeddings: load an encoder (BERT-family, or a decoder family run as one) with its
// sentence-transformers modules (pooling, Dense, Normalize, prompts), embed texts or ids in length-sorted
// packed batches, and compare vectors (cosine, top-k).
import { OptionError, TokenizerError } from '../errors.js';
import { Encoder } from '../runtime/encoder.js';
import { LOAD_OPTIONS, loadCheckpoint, type LoadOptions } from '../runtime/load.js';
import { checkOptions, optionKeys } from '../options.js';
import { SOURCE_OPTIONS } from '../sources/remote.js';
import type { Ops } from '../runtime/ops.js';
import { applyDense, l2normalize, pool, POOLINGS, readSentenceConfig, type Pooling, type SentenceConfig } from './pooling.js';
import type { ModelFiles } from '../sources/sources.js';
import type { SourceOptions } from '../sources/remote.js';
import { withModelFiles } from '../sources/open.js';
import { TextTokenizer } from './tokenizer.js';

export { POOLINGS, type Pooling } from './pooling.js';

/** loadModel's options; `quantize` makes the linear layers q8/q4 (embedding tables and vectors stay as loaded). */
export interface EmbedderOptions extends LoadOptions {
  /** Called with each assumption made for a missing file (default: console.warn). */
  onWarning?: (message: string) => void;
  /** Longest input in tokens; default: sentence_bert_config.json's max_seq_length, else the position table. */
  maxSeqLength?: number;
}

/** Which prompt texts get (sentence-transformers' prompt_name / prompt); ids are embedded as given. */
export interface PromptOptions {
  /** A prompt of config_sentence_transformers.json by name (e.g. "query"); default: its default_prompt_name. */
  prompt?: string;
  /** Prompt text itself, prepended to each text; instead of `prompt`. */
  promptText?: string;
}

export interface EmbedOptions extends PromptOptions {
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

export const EMBED_OPTIONS = optionKeys<EmbedOptions>()('batchSize', 'normalize', 'pooling', 'prompt', 'promptText');
export const EMBEDDER_OPTIONS = [...LOAD_OPTIONS, ...optionKeys<Omit<EmbedderOptions, keyof LoadOptions>>()('onWarning', 'maxSeqLength')];

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
  /** Longest input in tokens: max_seq_length, capped by the position table. Longer ones are truncated. */
  readonly maxSeqLength: number;

  constructor(readonly encoder: Encoder, readonly tokenizer: TextTokenizer | undefined, readonly config: SentenceConfig,
              readonly source: string) {
    this.maxSeqLength = Math.min(config.maxSeqLength ?? encoder.spec.seqLen, encoder.spec.seqLen);
  }

  get spec() { return this.encoder.spec; }
  /** Output width: the last Dense module's out_features, else the hidden size. */
  get dim(): number { return this.config.dense.at(-1)?.outFeatures ?? this.spec.dim; }
  get threads(): number { return this.encoder.threads; }
  /** The encoder's ops (tests set minParallelWork on them). */
  get ops(): Ops { return this.encoder.ops; }

  /** One vector per text (or per id list), in input order; one text alone gives its vector. */
  async embed(text: string, opts?: EmbedOptions): Promise<Float32Array>;
  async embed(inputs: readonly string[] | readonly (readonly number[])[], opts?: EmbedOptions): Promise<Embeddings>;
  async embed(inputs: string | readonly string[] | readonly (readonly number[])[], opts: EmbedOptions = {}): Promise<Float32Array | Embeddings> {
    if (typeof inputs === 'string') return (await this.embedMatrix([inputs], opts)).data;
    const m = await this.embedMatrix(inputs, opts);
    const rows = Array.from({ length: m.rows }, (_, i) => m.data.subarray(i * m.dim, (i + 1) * m.dim));
    return Object.assign(rows, { truncated: m.truncated, tokens: m.tokens });
  }

  /** The same vectors as one (rows, dim) matrix. */
  async embedMatrix(inputs: readonly string[] | readonly (readonly number[])[], opts: EmbedOptions = {}): Promise<EmbeddingMatrix> {
    checkOptions(opts, EMBED_OPTIONS, 'embed options');
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    const mode = opts.pooling ?? this.config.pooling;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError(`batchSize ${batchSize} must be a positive integer`);
    if (!POOLINGS.includes(mode)) throw new OptionError(`pooling "${mode}" is not supported; supported: ${POOLINGS.join(', ')}`);
    const { ids, truncated } = this.tokenize(inputs, opts);
    const hidden = this.spec.dim, dim = this.dim, normalize = opts.normalize ?? this.config.normalize;
    const data = new Float32Array(ids.length * dim), pooled = new Float64Array(hidden);
    const batches = packBatches(ids, batchSize);
    this.encoder.run(batches.map((b) => b.map((i) => ids[i])), (h, offsets, b) => {
      batches[b].forEach((i, j) => {
        pool(pooled, h, hidden, offsets[j], offsets[j + 1], mode);
        const v = applyDense(this.config.dense, pooled); // float64 from the pooling to here, rounded once below
        if (normalize) l2normalize(v);
        data.set(v, i * dim);
      });
    });
    return { data, rows: ids.length, dim, tokens: ids.map((x) => x.length), truncated };
  }

  /**
   * Token ids for each input, cut to maxSeqLength. A text gets the prompt first, and keeps its closing
   * special token ([SEP], </s>) when cut, as sentence-transformers' tokenizer call does; id lists are
   * cut as given.
   */
  tokenize(inputs: readonly string[] | readonly (readonly number[])[], opts: PromptOptions = {}): { ids: number[][]; truncated: number[] } {
    const max = this.maxSeqLength, truncated: number[] = [], prompt = this.promptFor(opts);
    const ids = inputs.map((input, i): number[] => {
      let x: number[];
      if (typeof input === 'string') {
        if (!this.tokenizer) throw new TokenizerError(`${this.source}: no tokenizer.json; pass token ids instead of text`);
        const text = prompt + input;
        x = this.tokenizer.encode(this.config.doLowerCase ? text.toLowerCase() : text);
        if (x.length > max) {
          truncated.push(i);
          x = this.closers.has(x[x.length - 1]) && max > 1 ? [...x.slice(0, max - 1), x[x.length - 1]] : x.slice(0, max);
        }
      } else {
        if (!Array.isArray(input)) throw new OptionError(`input ${i}: expected a string or an array of token ids`);
        if (opts.prompt !== undefined || opts.promptText !== undefined) throw new OptionError(`input ${i}: a prompt applies to text, not token ids`);
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

  /** The text put before each input: promptText, the prompt named, or the model's default prompt. */
  private promptFor({ prompt, promptText }: PromptOptions): string {
    if (prompt !== undefined && promptText !== undefined) throw new OptionError('give prompt or promptText, not both');
    if (promptText !== undefined) {
      if (typeof promptText !== 'string') throw new OptionError(`promptText must be a string, got ${typeof promptText}`);
      return promptText;
    }
    const name = prompt ?? this.config.defaultPromptName;
    if (name === undefined) return '';
    const text = this.config.prompts.get(name);
    if (text === undefined) {
      const known = [...this.config.prompts.keys()];
      throw new OptionError(`prompt "${name}" is not one of the model's prompts: ${known.length ? known.join(', ') : 'none (no config_sentence_transformers.json prompts)'}`);
    }
    return text;
  }

  /** Special ids the tokenizer adds to every text (e.g. [CLS], [SEP]): kept at the end when a text is cut. */
  private get closers(): Set<number> {
    return new Set(this.tokenizer?.encode('') ?? []);
  }

  /** Stop the worker threads; the embedder must not be used afterwards. */
  async dispose(): Promise<void> { await this.encoder.dispose(); }

  /** `await using e = await loadEmbedder(...)` disposes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> { await this.dispose(); }
}

/**
 * Load an embedding model from its files: config.json, model.safetensors, tokenizer.json and the
 * sentence-transformers files. BERT-family encoders and decoder families (Qwen3-Embedding, EmbeddingGemma).
 */
export async function loadEmbedderFrom(files: ModelFiles, opts: EmbedderOptions = {}): Promise<Embedder> {
  const encoder = new Encoder(await loadCheckpoint(files, opts));
  try {
    const config = await readSentenceConfig(files, encoder.spec.dim, opts.maxSeqLength);
    for (const w of config.warnings) (opts.onWarning ?? console.warn)(w);
    return new Embedder(encoder, await TextTokenizer.read(files), config, files.label);
  } catch (e) {
    await encoder.dispose();
    throw e;
  }
}

/**
 * Load an encoder from a local directory (Node), a base URL, a hub id (`[hf:]org/name[@revision]`), or any
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
  checkOptions(opts, [...EMBEDDER_OPTIONS, ...SOURCE_OPTIONS], 'loadEmbedder options');
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

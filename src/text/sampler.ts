// Picking the next token from logits: penalties and bias, then the warpers, in Hugging Face
// transformers' logits-processor order, then a draw from the seeded Rng. Knows nothing of text.
import { OptionError } from '../errors.js';
import { Rng } from './rng.js';

export interface SamplingOptions {
  /** 0 = greedy (argmax after penalties and bias); > 0 divides the logits. */
  temperature?: number;
  /** Keep the k most likely tokens (ties with the k-th kept, as transformers); 0 = off. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off. */
  topP?: number;
  /** Drop tokens less likely than minP × the top probability; 0 = off. */
  minP?: number;
  /** transformers' repetition penalty over prompt + output: positive logits ÷ p, negative × p; 1 = off. */
  repetitionPenalty?: number;
  /** OpenAI's: subtract this once from every token already generated; 0 = off. */
  presencePenalty?: number;
  /** OpenAI's: subtract this × the times a token was generated; 0 = off. */
  frequencyPenalty?: number;
  /** Added to the logit of these token ids (-Infinity bans a token). */
  logitBias?: Record<number, number>;
  /** Seed of the Rng (integer in 0..2^32-1); the same seed gives the same tokens on every runtime. */
  seed?: number;
}

type Params = Required<Omit<SamplingOptions, 'seed' | 'logitBias'>> & { bias: [number, number][] };

/** Sampling options that a model's generation_config.json sets (do_sample false or absent: greedy). */
export function samplingDefaults(gc: Record<string, unknown>): SamplingOptions {
  const num = (k: string) => (typeof gc[k] === 'number' ? gc[k] as number : undefined);
  const out: SamplingOptions = { temperature: gc.do_sample === true ? num('temperature') ?? 1 : 0 };
  const map: [keyof SamplingOptions, string][] = [['topK', 'top_k'], ['topP', 'top_p'], ['minP', 'min_p'], ['repetitionPenalty', 'repetition_penalty']];
  for (const [ours, hf] of map) if (num(hf) !== undefined) (out as Record<string, number>)[ours] = num(hf)!;
  return out;
}

/** Draws tokens from logits with fixed options; `next` is called once per generated token. */
export class Sampler {
  private readonly p: Params;
  private readonly rng: Rng | undefined;
  private readonly scores: Float64Array;
  private readonly counts = new Map<number, number>(); // generated token → times

  constructor(opts: SamplingOptions, readonly vocabSize: number) {
    this.p = checkOptions(opts, vocabSize);
    this.rng = this.p.temperature > 0 ? new Rng(opts.seed) : undefined;
    this.scores = new Float64Array(vocabSize);
  }

  get greedy(): boolean { return this.rng === undefined; }

  /** Next token given `logits` (vocabSize,) and the ids so far (prompt + generated). */
  next(logits: ArrayLike<number>, history: ArrayLike<number>): number {
    const { p, scores } = this;
    if (logits.length !== this.vocabSize) throw new OptionError(`logits: length ${logits.length}, expected vocabSize ${this.vocabSize}`);
    for (let i = 0; i < scores.length; i++) {
      if (Number.isNaN(logits[i])) throw new OptionError(`logits: NaN at token ${i}`);
      scores[i] = logits[i];
    }
    if (p.repetitionPenalty !== 1) repetitionPenalty(scores, history, p.repetitionPenalty);
    if (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) penalties(scores, this.counts, p.presencePenalty, p.frequencyPenalty);
    for (const [id, b] of p.bias) scores[id] += b;
    if (!this.rng) {
      const id = argmax(scores);
      if (scores[id] === -Infinity) throw allMasked();
      return id;
    }
    temperature(scores, p.temperature);
    if (p.topK > 0) topK(scores, p.topK);
    if (p.topP < 1) topP(scores, p.topP);
    if (p.minP > 0) minP(scores, p.minP);
    return draw(softmax(scores), this.rng.nextFloat());
  }

  /** Record a generated token (for the presence and frequency penalties). */
  accept(id: number): void { this.counts.set(id, (this.counts.get(id) ?? 0) + 1); }
}

function checkOptions(o: SamplingOptions, V: number): Params {
  const check = (name: string, v: number, ok: boolean, want: string) => {
    if (typeof v !== 'number' || !ok) throw new OptionError(`${name} ${v}: expected ${want}`);
    return v;
  };
  const t = o.temperature ?? 1, k = o.topK ?? 0, tp = o.topP ?? 1, mp = o.minP ?? 0, rp = o.repetitionPenalty ?? 1;
  const pp = o.presencePenalty ?? 0, fp = o.frequencyPenalty ?? 0;
  const bias: [number, number][] = Object.entries(o.logitBias ?? {}).map(([id, b]) => {
    const n = Number(id);
    check(`logitBias token`, n, Number.isInteger(n) && n >= 0 && n < V, `a token id in 0..${V - 1}`);
    return [n, check(`logitBias[${id}]`, b, !Number.isNaN(b) && b !== Infinity, 'a finite number or -Infinity')];
  });
  return {
    temperature: check('temperature', t, Number.isFinite(t) && t >= 0, 'a number >= 0'),
    topK: check('topK', k, Number.isInteger(k) && k >= 0, 'an integer >= 0'),
    topP: check('topP', tp, tp >= 0 && tp <= 1, 'a number in [0, 1]'),
    minP: check('minP', mp, mp >= 0 && mp <= 1, 'a number in [0, 1]'),
    repetitionPenalty: check('repetitionPenalty', rp, Number.isFinite(rp) && rp > 0, 'a number > 0'),
    presencePenalty: check('presencePenalty', pp, Number.isFinite(pp), 'a finite number'),
    frequencyPenalty: check('frequencyPenalty', fp, Number.isFinite(fp), 'a finite number'),
    bias,
  };
}

/** Index of the largest logit; the first one on ties (as torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** transformers' RepetitionPenaltyLogitsProcessor: each seen token once, positive ÷ p, negative × p. */
export function repetitionPenalty(scores: Float64Array, seen: ArrayLike<number>, penalty: number): void {
  const done = new Set<number>();
  for (let i = 0; i < seen.length; i++) {
    const id = seen[i];
    if (done.has(id) || id < 0 || id >= scores.length) continue;
    done.add(id);
    scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty;
  }
}

/** OpenAI's presence and frequency penalties over the generated tokens' counts. */
export function penalties(scores: Float64Array, counts: Map<number, number>, presence: number, frequency: number): void {
  for (const [id, n] of counts) scores[id] -= presence + frequency * n;
}

export function temperature(scores: Float64Array, t: number): void {
  for (let i = 0; i < scores.length; i++) scores[i] /= t;
}

/** transformers' TopKLogitsWarper: drop scores below the k-th largest (ties with it stay). */
export function topK(scores: Float64Array, k: number): void {
  if (k >= scores.length) return;
  const kth = Float64Array.from(scores).sort()[scores.length - k];
  for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
}

/**
 * transformers' TopPLogitsWarper: sort ascending (stable, so among ties the lower id goes first), drop
 * tokens while the cumulative probability is <= 1 - p, and always keep the most likely one.
 */
export function topP(scores: Float64Array, p: number): void {
  const probs = softmax(Float64Array.from(scores));
  // Every token below (1 - p) / V is dropped (together they hold < 1 - p), so only the rest is sorted.
  const floor = (1 - p) / scores.length;
  const rest: number[] = [];
  let cum = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] < floor) { cum += probs[i]; scores[i] = -Infinity; } else rest.push(i);
  }
  rest.sort((a, b) => probs[a] - probs[b] || a - b);
  for (let j = 0; j < rest.length - 1; j++) {
    cum += probs[rest[j]];
    if (cum > 1 - p) break;
    scores[rest[j]] = -Infinity;
  }
}

/** transformers' MinPLogitsWarper: drop tokens whose probability is below p × the top one. */
export function minP(scores: Float64Array, p: number): void {
  const probs = softmax(Float64Array.from(scores));
  let top = 0;
  for (const q of probs) if (q > top) top = q;
  for (let i = 0; i < probs.length; i++) if (probs[i] < p * top) scores[i] = -Infinity;
}

/** In place: scores → probabilities. Rejects an all -Infinity (fully masked) or +Infinity row. */
export function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  if (max === -Infinity) throw allMasked();
  if (max === Infinity) throw new OptionError('sampling: a logit is +Infinity');
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i] = Math.exp(scores[i] - max));
  for (let i = 0; i < scores.length; i++) scores[i] /= sum;
  return scores;
}

const allMasked = () => new OptionError('sampling: every token was masked (all logits -Infinity after penalties, bias and filters); nothing can be drawn');

/** The token whose cumulative-probability interval holds u ∈ [0, 1) (torch.multinomial with one draw). */
export function draw(probs: Float64Array, u: number): number {
  let cum = 0, last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // u beyond the rounded total: the last possible token
}

// The server's use of generate() (src/text/generate.ts): a request's prompt ids are checked (context,
// vocabulary, sampling options) before anything is sent, then it runs on its own session, which is
// disposed (its KV cache returned to the model) as soon as the generation ends, is aborted, or fails.
import { generate, type FinishReason } from '../text/generate.js';
import type { Model } from '../model.js';
import { Sampler, samplingDefaults, type SamplingOptions } from '../text/sampler.js';
import { invalid, toApiError } from './errors.js';
import type { GenerationParams } from './validate.js';

export type { FinishReason };

/** A validated generation: everything that can be wrong with a request is found before a byte is sent. */
export interface GenerationJob {
  promptIds: number[];
  /** The prompt opened a <think> block (DeepSeek-R1 distills' templates do). */
  startsInReasoning: boolean;
  sampling: SamplingOptions;
  maxTokens: number;
  stop: string[];
  contextLength: number;
}

/** Prompt tokens fed per step; health checks and disconnects are seen between steps. */
const PREFILL_SLICE = 64;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface GenerationOutcome {
  text: string;
  completionTokens: number;
  finishReason: FinishReason;
}

/** The prompt's ids (from the prompt thread, or as the request gave them) checked against the model and context. */
export function prepareGeneration(model: Model, prompt: { ids: ArrayLike<number>; startsInReasoning: boolean }, params: GenerationParams,
                                  defaultMaxTokens: number, contextLength: number): GenerationJob {
  const V = model.spec.vocabSize, n = prompt.ids.length;
  if (n === 0) throw invalid('prompt', 'prompt: encodes to no tokens');
  if (n > contextLength) throw invalid(null, `prompt: ${n} tokens > context length ${contextLength}`, 'context_length_exceeded');
  const ids = Array.from(prompt.ids);
  const bad = ids.findIndex((id) => id >= V);
  if (bad >= 0) throw invalid('prompt', `prompt: token id ${ids[bad]} at index ${bad} is outside the vocabulary (0..${V - 1})`);
  try {
    // Built only to check the options now (a 400), not after the stream has started.
    new Sampler({ ...samplingDefaults(model.generationConfig), ...params.sampling }, V);
  } catch (e) {
    throw toApiError(e);
  }
  // Output can only fill the context that is left (generate() needs a finite count).
  const maxTokens = Math.min(params.maxTokens ?? defaultMaxTokens, contextLength - ids.length + 1);
  return { promptIds: ids, startsInReasoning: prompt.startsInReasoning, sampling: params.sampling, maxTokens, stop: params.stop, contextLength };
}

/**
 * Run `job` on a fresh session; `onText` gets each piece of text as it becomes final (stop strings
 * never leak). generate() yields to the event loop between tokens, so an abort stops it within one.
 */
export async function runGeneration(model: Model, job: GenerationJob, signal: AbortSignal,
                                    onText?: (piece: string) => void): Promise<GenerationOutcome> {
  const session = model.session({ contextLength: job.contextLength });
  try {
    // A long prompt goes in slices with the event loop running between them: generate() keeps what the
    // session already holds when the next prompt extends it, so each call feeds only the new slice.
    for (let end = PREFILL_SLICE; end < job.promptIds.length; end += PREFILL_SLICE) {
      await generate(model, job.promptIds.slice(0, end), { ...job.sampling, maxTokens: 0, signal, session }).result;
      await tick();
      if (signal.aborted) return { text: '', completionTokens: 0, finishReason: 'abort' };
    }
    const g = generate(model, job.promptIds, { ...job.sampling, maxTokens: job.maxTokens, stop: job.stop, signal, session });
    if (onText) for await (const piece of g) onText(piece);
    const r = await g.result;
    return { text: r.text, completionTokens: r.ids.length, finishReason: r.finishReason };
  } finally {
    session.dispose();
  }
}

// The server's generations: a request's prompt ids are checked (context, vocabulary, sampling options)
// before anything is sent, then it joins the model's scheduler (src/text/scheduler.ts), decoded in one
// batch with the other running requests on a session of its own, which goes back to the model (its rows
// to the prefix cache) as soon as the generation ends, is aborted, or fails.
import type { FinishReason } from '../text/generate.js';
import type { Model } from '../model.js';
import { Sampler, samplingDefaults, type SamplingOptions } from '../text/sampler.js';
import { invalid, toApiError } from './errors.js';
import type { GenerationParams } from './validate.js';
import type { Exchange, ServerState } from './state.js';

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

export interface GenerationOutcome {
  text: string;
  completionTokens: number;
  finishReason: FinishReason;
  /** Prompt tokens whose keys and values came from the prefix cache (OpenAI's usage.prompt_tokens_details.cached_tokens). */
  cachedTokens: number;
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
 * Run `job` in the text model's running batch; `onText` gets each piece of text as it becomes final (stop
 * strings never leak). The scheduler yields to the event loop between steps, so an abort stops it within one.
 */
export async function runGeneration(s: ServerState, x: Exchange, job: GenerationJob, onText?: (piece: string) => void): Promise<GenerationOutcome> {
  const t = s.text!;
  const g = t.scheduler.generate(job.promptIds, {
    ...job.sampling, ...t.speculation, maxTokens: job.maxTokens, stop: job.stop, signal: x.signal, onToken: s.metrics.tokenClock(x.start),
  });
  if (onText) for await (const piece of g) onText(piece);
  const r = await g.result;
  s.metrics.generation(r.finishReason, { promptTokens: job.promptIds.length, cachedTokens: r.cachedTokens, completionTokens: r.ids.length,
    drafted: r.drafted, accepted: r.accepted });
  return { text: r.text, completionTokens: r.ids.length, finishReason: r.finishReason, cachedTokens: r.cachedTokens };
}

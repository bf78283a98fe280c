// Generation from one prompt: text, chat messages or ids in, sampled tokens out, with text streamed as it
// becomes stable, stop strings cut, AbortSignal cancellation, and timings. It runs on a scheduler of its
// own (src/text/scheduler.ts), the same loop that batches many requests: one request is a batch of one.
import type { Session } from '../runtime/session.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import type { GenerateOptions, GenerateResult, Generation, Prompt, TextModel } from './request.js';

export { encodePrompt, Generation, GENERATE_OPTIONS, type FinishReason, type GenerateOptions, type GenerateResult, type Prompt, type TextModel } from './request.js';

/** A scheduler for one request: its prompt goes in chunks of the session's prefillChunk, on the session's threads, as Session.prefill. */
const oneRequest = (opts: GenerateOptions): SchedulerOptions =>
  ({ maxSequences: 1, batchTokens: Math.max(64, opts.session?.prefillChunk ?? 0), threads: opts.session?.threads, prefixCache: opts.prefixCache });

/**
 * Synchronous generation on `session` after `promptIds`; `onToken` sees every new id.
 * Samples with `opts` (greedy by default unless generation_config.json says do_sample).
 */
export function generateIds(model: TextModel, session: Session, promptIds: number[], opts: GenerateOptions = {},
                            onToken?: (id: number) => void): GenerateResult {
  const all = { ...opts, session, onToken: onToken ?? opts.onToken };
  const scheduler = new Scheduler(model, oneRequest(all));
  try {
    const seq = scheduler.add(promptIds, all);
    while (scheduler.step());
    if (seq.error) throw seq.error;
    return seq.result!;
  } finally {
    scheduler.dispose();
  }
}

/** Start generating from text (encoded with the model's special tokens), chat messages or ids. */
export function generate(model: TextModel, prompt: Prompt, opts: GenerateOptions = {}): Generation {
  const scheduler = new Scheduler(model, oneRequest(opts));
  const g = scheduler.generate(prompt, opts);
  g.result.finally(() => scheduler.dispose()).catch(() => {});
  return g;
}

/** Start generating from every prompt at once, decoded together (one forward per step for all of them). */
export function generateBatch(model: TextModel, prompts: Prompt[], opts: GenerateOptions | GenerateOptions[] = {},
                              schedulerOpts: SchedulerOptions = {}): Generation[] {
  const scheduler = new Scheduler(model, { maxSequences: prompts.length, ...schedulerOpts });
  const gs = prompts.map((p, i) => scheduler.generate(p, Array.isArray(opts) ? opts[i] ?? {} : opts));
  Promise.allSettled(gs.map((g) => g.result)).then(() => scheduler.dispose());
  return gs;
}

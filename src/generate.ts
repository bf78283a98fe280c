// The generation loop: prompt ids in, one token at a time out, with text decoded as it becomes stable.
import type { Model } from './model.js';
import { argmax } from './sampler.js';
import type { Session } from './session.js';

export interface GenerateOptions {
  maxTokens?: number;
  /** Stop when one of these ids is produced (default: the model's eos_token_id list). */
  stopIds?: number[];
}

export interface GenerateResult {
  promptIds: number[];
  ids: number[];            // generated only
  text: string;             // decoded generated ids
  finishReason: 'stop' | 'length';
  prefillMs: number;
  decodeMs: number;
  prefillTokS: number;
  decodeTokS: number;
}

/** Greedy generation on `session` after `promptIds`; `onToken` sees every new id. */
export function generateIds(model: Model, session: Session, promptIds: number[], opts: GenerateOptions = {},
                            onToken?: (id: number) => void): GenerateResult {
  const maxTokens = opts.maxTokens ?? 256;
  const stop = new Set(opts.stopIds ?? model.eosTokenIds);
  const t0 = performance.now();
  let logits = session.prefill(promptIds);
  const t1 = performance.now();
  const ids: number[] = [];
  let finishReason: GenerateResult['finishReason'] = 'length';
  while (ids.length < maxTokens) {
    const id = argmax(logits);
    if (stop.has(id)) { finishReason = 'stop'; break; }
    ids.push(id);
    onToken?.(id);
    if (ids.length === maxTokens || session.pos === session.contextLength) break;
    logits = session.step(id);
  }
  const t2 = performance.now();
  const decodeSteps = Math.max(ids.length - 1, 0); // the first id came from the prefill logits
  return {
    promptIds, ids,
    text: model.tokenizer ? model.tokenizer.decode(ids) : '',
    finishReason,
    prefillMs: t1 - t0, decodeMs: t2 - t1,
    prefillTokS: promptIds.length / ((t1 - t0) / 1000),
    decodeTokS: decodeSteps / ((t2 - t1) / 1000),
  };
}

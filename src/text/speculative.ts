// Speculative decoding: a cheap guess of the next k tokens (a smaller draft model, or an n-gram seen earlier
// in the context), then one forward of the target over all k + 1 rows, which keeps the longest prefix of
// the guess the target agrees with. The acceptance rule (Leviathan et al. 2023, Chen et al. 2023) makes the
// output follow the target's own distribution; greedy output is the target's argmax path, token for token.
import type { Batch } from '../runtime/batch.js';
import type { Session } from '../runtime/session.js';
import { draw, type Sampler } from './sampler.js';

/**
 * One drafted token x, drawn from q (undefined: drawn with certainty, as prompt lookup does), checked
 * against the target's distribution p: kept with probability min(1, p(x) / q(x)); otherwise the result is
 * a draw from norm(max(0, p − q)), which never gives x. Returns x when kept. `u` draws uniforms in [0, 1).
 * p is overwritten (it is the sampler's scratch).
 */
export function verifyDraft(p: Float64Array, q: Float64Array | undefined, x: number, u: () => number): number {
  const qx = q ? q[x] : 1;
  if (p[x] >= qx || u() * qx < p[x]) return x;
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += (p[i] = Math.max(0, p[i] - (q ? q[i] : i === x ? 1 : 0)));
  // p and q equal up to rounding: nothing is left to draw from, and the rejection had probability ~0.
  if (!(sum > 0)) return x;
  return draw(p, u() * sum);
}

/**
 * Prompt lookup decoding (Saxena 2023; transformers' prompt_lookup_num_tokens): the tokens that followed
 * the latest earlier occurrence of the context's last n ids (n from maxNgram down to 1), at most k of them.
 */
export function lookupDraft(context: ArrayLike<number>, k: number, maxNgram = 3): number[] {
  const len = context.length;
  for (let n = Math.min(maxNgram, len - 1); n >= 1; n--) {
    for (let i = len - n - 1; i >= 0; i--) {
      let j = 0;
      while (j < n && context[i + j] === context[len - n + j]) j++;
      if (j === n) return Array.prototype.slice.call(context, i + n, Math.min(i + n + k, len)) as number[];
    }
  }
  return [];
}

/** What the draft model is asked for one sequence: continue `context` by k tokens sampled like `sampler`. */
export interface DraftRequest {
  /** The draft model's session for this sequence (its cache is kept in step with `context` here). */
  session: Session;
  /** Every id of the sequence so far: the target's cache, then its last sampled id. */
  context: number[];
  k: number;
  sampler: Sampler;
  /** Receives q for draft j at j × vocabSize (sampled requests; greedy drafts need none). */
  q?: Float64Array;
}

/**
 * Drafts for many sequences at once on one draft model: each session first catches up with its context
 * (keepPrefix keeps what it already holds), then k single-token forwards, all sequences in one batch.
 */
export function draftTokens(batch: Batch, reqs: DraftRequest[], vocabSize: number): number[][] {
  const drafts: number[][] = reqs.map(() => []);
  const history = reqs.map((r) => r.context.slice(0, r.session.keepPrefix(r.context)));
  const rows = new Array<Float32Array>(reqs.length); // each request's latest logits
  let feeds = reqs.map((r, i) => ({ i, ids: r.context.slice(history[i].length) }));
  for (let j = 0; feeds.length; j++) {
    feedAll(batch, reqs, feeds, (i, ids, out) => { history[i].push(...ids); if (out) rows[i] = out; });
    feeds = [];
    reqs.forEach((r, i) => {
      if (r.k <= j) return;
      let x: number;
      if (r.sampler.greedy) x = r.sampler.next(rows[i], history[i]);
      else {
        const q = r.sampler.probs(rows[i], history[i]);
        x = draw(q, r.sampler.uniform());
        r.q?.set(q, j * vocabSize);
      }
      drafts[i].push(x);
      if (r.k > j + 1) feeds.push({ i, ids: [x] });
    });
  }
  return drafts;
}

/** Feed each request its ids in as many forwards as the batch and each session's prefillChunk allow; `fed` gets the last chunk's logits. */
function feedAll(batch: Batch, reqs: DraftRequest[], feeds: { i: number; ids: number[] }[],
                 fed: (i: number, ids: number[], logits?: Float32Array) => void): void {
  let rest = feeds.map((f) => ({ ...f }));
  while (rest.length) {
    let room = batch.maxTokens;
    const now: { i: number; ids: number[]; last: boolean }[] = [];
    for (const f of rest) {
      const n = Math.min(f.ids.length, room, reqs[f.i].session.prefillChunk);
      if (n === 0) break;
      now.push({ i: f.i, ids: f.ids.slice(0, n), last: n === f.ids.length });
      f.ids = f.ids.slice(n);
      room -= n;
    }
    const out = batch.forward(now.map((f) => ({ session: reqs[f.i].session, ids: f.ids, logits: f.last ? 'last' : 'none' })));
    now.forEach((f, j) => fed(f.i, f.ids, f.last ? out[j] : undefined));
    rest = rest.filter((f) => f.ids.length > 0);
  }
}

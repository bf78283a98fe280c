// POST /v1/embeddings: text inputs are tokenized on the prompt thread inside the request's queue slot,
// then embedded in batches with the event loop running between them.
import { DEFAULT_BATCH_SIZE } from '../text/embed.js';
import { invalid, toApiError } from './errors.js';
import { embedModel, needTokenizer, sendJson, tokenize, type EmbedModel, type Exchange, type ServerState } from './state.js';
import { parseEmbeddings } from './validate.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function embeddings(s: ServerState, x: Exchange): Promise<void> {
  const p = parseEmbeddings(x.body);
  const e = embedModel(s, p.model);
  const input = p.input;
  if (typeof input[0] === 'string') needTokenizer(e.embedder, e.id, 'input');
  const out = await s.queue.run(x.signal, async () => {
    const ids = typeof input[0] === 'string' ? (await tokenize(s, x, { op: 'embed', texts: input as string[] }, 'input'))?.ids : input as number[][];
    if (!ids) return undefined;
    const lists = checked(e, ids);
    x.log.promptTokens = lists.reduce((n, t) => n + t.length, 0);
    const vectors: Float32Array[] = [];
    for (let b = 0; b < lists.length; b += DEFAULT_BATCH_SIZE) {
      vectors.push(...await e.embedder.embed(lists.slice(b, b + DEFAULT_BATCH_SIZE)));
      await tick(); // a long list must not stall health checks
      if (x.signal.aborted) return undefined;
    }
    return { vectors, tokens: x.log.promptTokens };
  });
  if (!out) { x.log.finish = 'abort'; return; }
  const encode = (v: Float32Array) => p.encodingFormat === 'base64'
    ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v);
  sendJson(x.res, 200, {
    object: 'list', model: e.id,
    data: out.vectors.map((v, index) => ({ object: 'embedding', index, embedding: encode(v) })),
    usage: { prompt_tokens: out.tokens, total_tokens: out.tokens },
  });
}

/** An input longer than the encoder reads is a 400, as OpenAI's, never cut quietly; ids outside the vocabulary too. */
function checked(e: EmbedModel, ids: ArrayLike<number>[]): number[][] {
  const long = ids.findIndex((t) => t.length > e.embedder.maxSeqLength);
  if (long >= 0) throw invalid('input', `input[${long}]: more than the ${e.embedder.maxSeqLength} tokens the model reads (max_seq_length)`, 'context_length_exceeded');
  const lists = ids.map((t) => Array.from(t));
  try {
    e.embedder.tokenize(lists); // nothing is cut (checked above): this checks for empty lists and ids outside the vocabulary
  } catch (err) {
    throw toApiError(err, 'input');
  }
  return lists;
}

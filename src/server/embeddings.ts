// POST /v1/embeddings: text inputs are tokenized on the prompt thread inside the request's queue slot,
// then embedded in batches shared with the other requests in flight, the event loop running between them.
import { invalid, toApiError } from './errors.js';
import { embedModel, needTokenizer, sendJson, tokenize, type EmbedModel, type Exchange, type ServerState } from './state.js';
import { parseEmbeddings } from './validate.js';

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
    // Embedded together with the inputs of every other request in flight (src/server/embed-batch.ts).
    const vectors = await e.batcher.embed(lists, x.signal);
    if (!vectors) return undefined;
    s.metrics.embeddingInputs += lists.length;
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

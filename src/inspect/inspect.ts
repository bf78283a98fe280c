// A look inside the model (`tide inspect`): one head's attention weights and the logit lens, the
// final norm + LM head applied to the residual stream after every layer. Read through the forward's
// trace hooks only; the lens runs on the same kernels as the model's own logits.
import { OptionError } from '../errors.js';
import type { Model } from '../model.js';
import { fmt, formatTable } from './table.js';
import { tokenLabel, topProbs } from './trace.js';

export interface InspectOptions {
  layer: number;
  head: number;
  /** Candidates kept per lens cell; default 5. */
  topK?: number;
  /** Keep every lens row's full logits (T × vocabSize), e.g. to compare with the model's. */
  keepLogits?: boolean;
}

export interface Candidate { id: number; token: string; p: number; logit: number }

export interface Inspection {
  model: string;
  ids: number[];
  tokens: string[];                 // each id as the vocabulary spells it, quoted
  layer: number;
  head: number;
  kvHead: number;                   // the KV head the query head reads (grouped-query attention)
  attention: number[][];            // (T, T): row t = weights of query t over keys 0..t, 0 after t
  layerHeads: number[][][];         // (nHeads, T, T): the same for every head of the layer (attention = layerHeads[head])
  lens: { name: string; top: Candidate[][] }[]; // 'embed', 'layer 0', ...: top-k per position
  lensLogits?: Float32Array[];      // per lens row (T × vocabSize), with keepLogits
}

/** Run `ids` through a fresh session of `model` and read out the attention of one head and the logit lens. */
export function inspect(model: Model, ids: number[], opts: InspectOptions): Inspection {
  const { spec, arena } = model;
  const { layer, head, topK = 5 } = opts;
  const T = ids.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.nLayers) throw new OptionError(`--layer ${layer} must be in 0..${spec.nLayers - 1}`);
  if (!Number.isInteger(head) || head < 0 || head >= spec.nHeads) throw new OptionError(`--head ${head} must be in 0..${spec.nHeads - 1}`);
  if (!Number.isInteger(topK) || topK < 1) throw new OptionError(`--top ${topK} must be a positive integer`);
  if (T < 1 || T > spec.seqLen) throw new OptionError(`inspect: ${T} token ids; expected 1..${spec.seqLen} (max_position_embeddings)`);

  const residuals: Float32Array[] = []; // (T, dim) per lens row
  let q: Float32Array | undefined, k: Float32Array | undefined;
  const session = model.session({ contextLength: T, prefillChunk: T });
  session.tracer = {
    step: (name, l, t) => {
      const copy = () => arena.f32(t.ptr, T * t.shape[t.shape.length - 1]).slice();
      if (name === 'embed' || name === 'l_out') residuals.push(copy());
      else if (l === layer && name === 'q') q = copy(); // after RoPE, as the kernel scores them
      else if (l === layer && name === 'k') k = copy(); // this forward's keys after RoPE: positions 0..T-1
    },
  };
  let lensLogits: Float32Array[];
  try {
    session.prefill(ids);
    session.tracer = undefined;
    lensLogits = residuals.map((r) => session.project(r, T)); // the logit lens: final norm + head on each residual
  } finally {
    session.dispose();
  }
  const group = spec.nHeads / spec.nKvHeads;
  const layerHeads = Array.from({ length: spec.nHeads },
    (_, h) => headWeights(q!, k!, T, h, Math.floor(h / group), spec, spec.layers[layer].window));
  return {
    model: model.info.source, ids, tokens: ids.map((id) => tokenLabel(model, id)), layer, head,
    kvHead: Math.floor(head / group), attention: layerHeads[head], layerHeads,
    lens: lensLogits.map((rows, i) => ({
      name: i === 0 ? 'embed' : `layer ${i - 1}`,
      top: Array.from({ length: T }, (_, t) => topProbs(rows.subarray(t * spec.vocabSize, (t + 1) * spec.vocabSize), topK)
        .map((c) => ({ ...c, token: tokenLabel(model, c.id) }))),
    })),
    lensLogits: opts.keepLogits ? lensLogits : undefined,
  };
}

/**
 * The attention weights of one query head over its KV head, in float64, as the kernel computes them:
 * softmax over the keys i ≤ t within the layer's window (0: all) of q_t · k_i × the spec's score scale,
 * soft-capped where the spec says.
 */
function headWeights(q: Float32Array, k: Float32Array, T: number, head: number, kvHead: number,
                     spec: Model['spec'], window: number): number[][] {
  const { headDim, qDim, kvDim, attnScale, attnSoftcap } = spec;
  return Array.from({ length: T }, (_, t) => {
    const row = new Array<number>(T).fill(0), lo = window > 0 ? Math.max(0, t - window + 1) : 0;
    for (let i = lo; i <= t; i++) {
      let s = 0;
      for (let d = 0; d < headDim; d++) s += q[t * qDim + head * headDim + d] * k[i * kvDim + kvHead * headDim + d];
      row[i] = attnSoftcap ? Math.tanh((s * attnScale) / attnSoftcap) * attnSoftcap : s * attnScale;
    }
    const max = Math.max(...row.slice(lo, t + 1));
    let sum = 0;
    for (let i = lo; i <= t; i++) sum += (row[i] = Math.exp(row[i] - max));
    for (let i = lo; i <= t; i++) row[i] /= sum;
    return row;
  });
}

/** The inspection as text: the attention matrix, then the lens's top token per layer and position. */
export function formatInspection(r: Inspection): string {
  const T = r.ids.length;
  const pos = (t: number) => `${t} ${r.tokens[t]}`;
  const out = [
    `${r.model}: ${T} tokens`,
    '',
    `attention weights, layer ${r.layer} head ${r.head} (KV head ${r.kvHead}): row = query position, column = key position`,
    formatTable(['query \\ key', ...r.ids.map((_, i) => String(i))],
      r.attention.map((row, t) => [pos(t), ...row.map((w, i) => (i <= t ? w.toFixed(2) : ''))])),
    '',
    'logit lens: top token (probability) of final norm + LM head on the residual stream after each layer',
    formatTable(['', ...r.ids.map((_, t) => pos(t))],
      r.lens.map((row) => [row.name, ...row.top.map((c) => `${c[0].token} ${fmt(c[0].p, 2)}`)])),
  ];
  return out.join('\n');
}

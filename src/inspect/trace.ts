// Tracing a generation (`tide generate --trace`): every Ops call timed in a wrapper (matmuls through the
// matmul or gemv calls it makes), attributed to the layer of the forward's next trace hook; the chosen
// token's probability from the 'logits' hook.
// A session without a tracer runs the plain Ops and skips each hook with one branch: off costs nothing.
import { Ops } from '../runtime/ops.js';
import { storedBytes, type Tensor } from '../runtime/arena.js';
import type { Model } from '../model.js';
import type { TraceHook } from '../families/decoder.js';
import type { Session } from '../runtime/session.js';
import { fmt, formatTable } from './table.js';

type OpName = { [K in keyof Ops]-?: Ops[K] extends (...a: never[]) => unknown ? K : never }[keyof Ops];
interface Cost { flops: number; bytes: number }

const cols = (t: Tensor) => t.shape[t.shape.length - 1];
const F32 = 4;

/** Bytes per element of an f32 or f16 tensor (activations, KV caches). */
const elt = (t: Tensor) => (t.dtype === 'f16' ? 2 : F32);

function matmulCost(w: Tensor, T: number): Cost {
  const [d, n] = w.shape;
  return { flops: 2 * T * d * n, bytes: storedBytes(w.dtype ?? 'f32', d, n) + F32 * T * (n + d) };
}

/**
 * Work done by one call, from the wrapper's own arguments: FLOPs, and the bytes it must move at
 * least once (weights as stored and KV cache read, f32 activations read and written).
 */
const COSTS: { [K in OpName]?: (...a: Parameters<Ops[K]>) => Cost } = {
  matmul: (_out, _x, w, T) => matmulCost(w, T),
  gemv: (_outs, _x, ws) => ws.map((w) => matmulCost(w, 1)).reduce((a, c) => ({ flops: a.flops + c.flops, bytes: a.bytes + c.bytes })),
  rmsnorm: (_out, _x, w, T) => ({ flops: 4 * T * w.shape[0], bytes: F32 * (2 * T + 1) * w.shape[0] }),
  embed: (out, _table, ids) => ({ flops: 0, bytes: 2 * F32 * ids.length * cols(out) }),
  rope: (_x, _cos, _sin, nHeads, headDim, T, rotDim = headDim) => ({ flops: 3 * T * nHeads * rotDim, bytes: F32 * T * (2 * nHeads + 1) * rotDim }),
  attention: (_out, _q, kc, _vc, _att, nHeads, nKvHeads, headDim, pos0, T, opts) => {
    const w = opts?.window || Infinity; // query t attends to pos0 + t + 1 positions, or the last w of them
    let keys = 0;
    for (let t = 0; t < T; t++) keys += Math.min(w, pos0 + t + 1);
    // q·k and a·v: 2 FLOPs per element each; the cache rows are read once, q read and out written.
    const cacheRows = Math.min(pos0 + T, w + T - 1);
    return { flops: 4 * nHeads * headDim * keys, bytes: 2 * elt(kc) * cacheRows * nKvHeads * headDim + 2 * F32 * T * nHeads * headDim };
  },
  storeKv: (cache, x, _pos0, T) => ({ flops: 0, bytes: (F32 + elt(cache)) * T * cols(x) }),
  swiglu: (_out, gate, _up, T) => ({ flops: 5 * T * cols(gate), bytes: 3 * F32 * T * cols(gate) }),
  geglu: (_out, gate, _up, T) => ({ flops: 12 * T * cols(gate), bytes: 3 * F32 * T * cols(gate) }),
  rmsnormHeads: (_out, x, w, _nHeads, T) => ({ flops: 4 * T * cols(x), bytes: F32 * (2 * T * cols(x) + w.shape[0]) }),
  add: (_out, a, _b, T) => ({ flops: T * cols(a), bytes: 3 * F32 * T * cols(a) }),
  addBias: (x, _b, T) => ({ flops: T * cols(x), bytes: F32 * (2 * T + 1) * cols(x) }),
};

/** The weight's role, from its checkpoint name ("model.layers.3.mlp.up_proj.weight" → "up_proj"). */
function role(w: Tensor): string {
  const m = /([a-z_]+)\.weight$/.exec(w.name);
  return !m ? w.name : m[1] === 'embed_tokens' ? 'lm_head' : m[1];
}

/** One timed call: a label for the summary ("matmul q_proj"), a column for the per-layer table. */
interface Call { label: string; group: string; ms: number; cost?: Cost }

/** Per-layer table columns of the ops that are not named after their column; other ops get their own. */
const OP_GROUP: Record<string, string> = { rmsnorm: 'norm', rmsnormHeads: 'norm', swiglu: 'mlp', geglu: 'mlp', addBias: 'add', storeKv: 'kv' };
const GROUPS = ['embed', 'norm', 'qkvo', 'rope', 'kv', 'attention', 'mlp', 'add', 'lm_head'];

/** base's methods, each timed and reported to `rec` with its arguments; everything else (k, ...) read through. */
export function timedOps(base: Ops, rec: (op: OpName, args: unknown[], ms: number, end: number) => void): Ops {
  const timed = Object.create(base) as Ops;
  for (const op of Object.getOwnPropertyNames(Ops.prototype) as OpName[]) {
    const f = base[op] as unknown;
    // matmuls only dispatches: left unwrapped, its own calls (matmul or gemv) are the ones timed.
    if (op === ('constructor' as string) || op === 'matmuls' || typeof f !== 'function') continue;
    (timed as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (f as (...a: unknown[]) => unknown).apply(base, args);
      const end = performance.now();
      rec(op, args, end - t0, end);
      return r;
    };
  }
  return timed;
}

/** The summary label ("matmul q_proj") and per-layer column of one call, with its cost. */
function describe(op: OpName, args: unknown[], labels: Map<string, string>): { label: string; group: string; cost?: Cost } {
  const cost = (COSTS[op] as ((...a: unknown[]) => Cost) | undefined)?.(...args);
  if (op !== 'matmul' && op !== 'gemv') return { label: op, group: OP_GROUP[op] ?? op, cost };
  const ws = op === 'gemv' ? args[2] as Tensor[] : [args[2] as Tensor], key = ws.map((w) => w.name).join('+');
  let label = labels.get(key);
  if (label === undefined) labels.set(key, (label = `matmul ${ws.map(role).join('+')}`));
  const r = role(ws[0]);
  return { label, group: ['gate_proj', 'up_proj', 'down_proj'].includes(r) ? 'mlp' : r === 'lm_head' ? 'lm_head' : 'qkvo', cost };
}

interface Stat { calls: number; ms: number; flops: number; bytes: number }

/** Softmax of one logit: exp(logits[id] − max) / Σ exp(logits − max), in float64. */
function softmaxAt(logits: ArrayLike<number>): (id: number) => number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return (id) => Math.exp(logits[id] - max) / sum;
}

/** The top k ids of a logits row with their softmax probabilities (computed in float64). */
export function topProbs(logits: ArrayLike<number>, k: number, prob = softmaxAt(logits)): { id: number; p: number; logit: number }[] {
  const top: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (top.length === k && !(logits[i] > logits[top[k - 1]])) continue;
    let j = top.length;
    while (j > 0 && logits[i] > logits[top[j - 1]]) j--; // ties keep the lower id first, as argmax does
    top.splice(j, 0, i);
    if (top.length > k) top.pop();
  }
  return top.map((id) => ({ id, p: prob(id), logit: logits[id] }));
}

/** A token as the vocabulary spells it ("▁there", "Ġthe"), quoted; "#id" without a tokenizer. */
export function tokenLabel(model: Model, id: number): string {
  const t = model.tokenizer?.idToToken(id);
  return t === undefined ? `#${id}` : JSON.stringify(t);
}

/**
 * Per-step token choices and op timings for one session. `attach` it; each step's report comes from
 * `token(id)`, or, with `print`, is printed when the next forward embeds the chosen id (so the
 * generation loop needs no hook); `finish(ids)` prints the last step and the summary.
 */
export class Trace {
  private readonly timed = new WeakMap<Ops, Ops>();
  private readonly rec: (op: OpName, args: unknown[], ms: number, end: number) => void;
  readonly step: TraceHook;
  private pending: Call[] = [];
  private byLayer = new Map<number, Map<string, number>>(); // this step: layer → group → ms
  private readonly stats: [Map<string, Stat>, Map<string, Stat>] = [new Map(), new Map()]; // prefill, decode
  private readonly wallMs = [0, 0];
  private readonly steps = [0, 0];
  private tokens = 0;
  private first = -1;   // start of this step's first op
  private last = 0;     // end of its latest op or hook
  private ownMs = 0;    // the tracer's own bookkeeping in this step, not counted as the model's
  private readonly ownTotal = [0, 0];
  private logits: Float32Array | undefined;

  constructor(readonly model: Model, readonly topK = 5, private readonly print?: (report: string) => void) {
    const labels = new Map<string, string>();
    this.rec = (op, args, ms, end) => {
      // A forward embedding one id after a step's logits: that id is the token the step chose.
      if (op === 'embed' && this.logits && this.print) this.print(this.token((args[2] as ArrayLike<number>)[0]));
      if (this.first < 0) this.first = end - ms;
      this.pending.push({ ...describe(op, args, labels), ms });
      this.last = performance.now();
      this.ownMs += this.last - end;
    };
    this.step = (name, layer, t) => {
      const t0 = performance.now();
      const times = this.byLayer.get(layer) ?? new Map<string, number>();
      this.byLayer.set(layer, times);
      for (const c of this.pending) times.set(c.group, (times.get(c.group) ?? 0) + c.ms);
      const phase = this.stats[this.tokens === 0 ? 0 : 1];
      for (const c of this.pending) {
        const s = phase.get(c.label) ?? { calls: 0, ms: 0, flops: 0, bytes: 0 };
        phase.set(c.label, { calls: s.calls + 1, ms: s.ms + c.ms, flops: s.flops + (c.cost?.flops ?? 0), bytes: s.bytes + (c.cost?.bytes ?? 0) });
      }
      this.pending = [];
      if (name === 'logits') this.logits = model.arena.f32(t.ptr, model.spec.vocabSize).slice();
      this.last = performance.now();
      this.ownMs += this.last - t0;
    };
  }

  /** The session's ops, timed (made once per Ops). */
  readonly wrap = (ops: Ops): Ops => {
    let t = this.timed.get(ops);
    if (!t) this.timed.set(ops, (t = timedOps(ops, this.rec)));
    return t;
  };

  /** Route the session's forwards through this trace. */
  attach(session: Session): this {
    session.tracer = this;
    return this;
  }

  /** Close the step that produced `id`: its token line, then the per-layer times (µs). */
  token(id: number): string {
    const phase = this.tokens === 0 ? 0 : 1;
    const wall = this.first < 0 ? 0 : this.last - this.first;
    const lines: string[] = [];
    const prob = this.logits && softmaxAt(this.logits);
    const top = this.logits && prob ? topProbs(this.logits, this.topK, prob) : [];
    const p = prob ? prob(id) : NaN;
    lines.push(`step ${this.tokens} (${phase === 0 ? 'prefill' : 'decode'}): ${tokenLabel(this.model, id)} id ${id} p ${fmt(p, 4)}` +
      ` | top-${this.topK}: ${top.map((c) => `${tokenLabel(this.model, c.id)} ${fmt(c.p, 4)}`).join(', ')}`);
    const seen = new Set([...this.byLayer.values()].flatMap((m) => [...m.keys()]));
    const used = [...GROUPS.filter((g) => seen.has(g)), ...[...seen].filter((g) => !GROUPS.includes(g))];
    const rows = [...this.byLayer.entries()].sort((a, b) => a[0] - b[0])
      .map(([l, m]) => [l < 0 ? 'embed+head' : `layer ${l}`, ...used.map((g) => (m.has(g) ? Math.round(m.get(g)! * 1000) : ''))]);
    lines.push(formatTable(['µs', ...used], rows, '  '));
    const kernels = [...this.byLayer.values()].reduce((s, m) => s + [...m.values()].reduce((a, b) => a + b, 0), 0);
    lines.push(`  step ${fmt(wall - this.ownMs)} ms: kernels ${fmt(kernels)} ms, JS between them ${fmt(wall - this.ownMs - kernels)} ms` +
      ` (tracer's own time ${fmt(this.ownMs)} ms left out)`);
    this.closeStep();
    return lines.join('\n');
  }

  /** Count the step's wall time in its phase (prefill is the first step) and start the next. */
  private closeStep(): void {
    if (this.first < 0) return;
    const phase = this.tokens === 0 ? 0 : 1;
    this.wallMs[phase] += this.last - this.first - this.ownMs;
    this.ownTotal[phase] += this.ownMs;
    this.ownMs = 0;
    this.steps[phase]++;
    this.tokens++;
    this.byLayer = new Map();
    this.first = -1;
    this.logits = undefined;
  }

  /** Print the step not yet reported (its token is the last of `generated`, or a stop id), then the summary. */
  finish(generated: number[]): void {
    if (this.first >= 0 && this.print) {
      const chose = this.tokens < generated.length ? generated[generated.length - 1] : undefined;
      this.print(chose === undefined ? `step ${this.tokens}: ended on a stop id` : this.token(chose));
    }
    this.print?.(this.summary());
  }

  /** Per op and phase: calls, total ms, % of the phase's time, GFLOP/s and GB/s achieved. */
  summary(): string {
    this.closeStep(); // a step whose token was a stop id is never passed to token()
    const out: string[] = [];
    for (const phase of [0, 1]) {
      const stats = this.stats[phase];
      if (this.steps[phase] === 0 || stats.size === 0) continue;
      const wall = this.wallMs[phase];
      const kernelMs = [...stats.values()].reduce((s, x) => s + x.ms, 0);
      const rows: (string | number)[][] = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([label, s]) => [
        label, s.calls, fmt(s.ms), fmt((100 * s.ms) / wall, 1) + '%',
        s.flops ? fmt(s.flops / s.ms / 1e6, 2) : '', s.bytes ? fmt(s.bytes / s.ms / 1e6, 2) : '',
      ]);
      rows.push(['(JS between kernels)', '', fmt(wall - kernelMs), fmt((100 * (wall - kernelMs)) / wall, 1) + '%', '', '']);
      rows.push(['total', '', fmt(wall), '100.0%', '', '']);
      const n = this.steps[phase];
      const rate = phase === 1 ? `, ${fmt((1000 * n) / wall, 1)} tok/s` : '';
      out.push(`${phase === 0 ? 'prefill' : 'decode'}: ${n} step${n === 1 ? '' : 's'}, ${fmt(wall)} ms${rate}` +
        ` (the tracer's own ${fmt(this.ownTotal[phase])} ms left out)`);
      out.push(formatTable(['op', 'calls', 'total ms', '% time', 'GFLOP/s', 'GB/s'], rows, '  '));
    }
    return out.join('\n');
  }
}

// Each sampler stage on hand-made logits with known answers, in transformers' semantics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argmax, draw, minP, penalties, repetitionPenalty, Sampler, samplingDefaults, softmax, temperature, topK, topP } from '../src/text/sampler.js';
import { OptionError } from '../src/errors.js';
import { Rng } from '../src/text/rng.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fixtureConfig } from './paths.js';

const N = -Infinity;
const f64 = (a: number[]) => Float64Array.from(a);
const logs = (p: number[]) => f64(p.map(Math.log));
const kept = (s: Float64Array) => [...s.keys()].filter((i) => s[i] !== N);
const isOptionError = (re: RegExp) => (e: Error) => e instanceof OptionError && re.test(e.message);

test('argmax: first maximum on ties, -Infinity ignored', () => {
  assert.is(argmax([1, 3, 3, 2]), 1);
  assert.is(argmax([N, N, -5]), 2);
});

test('repetition penalty: positive ÷ p, negative × p, each seen id once', () => {
  const s = f64([2, -2, 1, 0.5]);
  repetitionPenalty(s, [0, 1, 1, 1], 2);
  assert.equal(Array.from(s), [1, -4, 1, 0.5]);
});

test('presence and frequency penalties subtract presence + frequency × count', () => {
  const s = f64([0, 0, 0]);
  penalties(s, new Map([[0, 2], [2, 1]]), 0.5, 1);
  assert.equal(Array.from(s), [-2.5, 0, -1.5]);
});

test('temperature divides', () => {
  const s = f64([2, 4, N]);
  temperature(s, 2);
  assert.equal(Array.from(s), [1, 2, N]);
});

test('top-k keeps the k largest, and ties with the k-th', () => {
  let s = f64([1, 3, 3, 2, N]); topK(s, 2); assert.equal(kept(s), [1, 2]);
  s = f64([1, 3, 3, 2, N]); topK(s, 3); assert.equal(kept(s), [1, 2, 3]);
  s = f64([1, 2, 2, 3]); topK(s, 2); assert.equal(kept(s), [1, 2, 3]);
  s = f64([1, 2]); topK(s, 5); assert.equal(kept(s), [0, 1]);
});

test('top-p drops the low tail while its mass <= 1 - p, keeps the top one', () => {
  let s = logs([0.5, 0.3, 0.15, 0.05]); topP(s, 0.7); assert.equal(kept(s), [0, 1]);
  s = logs([0.5, 0.3, 0.15, 0.05]); topP(s, 0.9); assert.equal(kept(s), [0, 1, 2]);
  s = logs([0.5, 0.3, 0.15, 0.05]); topP(s, 0); assert.equal(kept(s), [0]);
  // Ties: a stable ascending sort puts the lower id first, so it is dropped first.
  s = logs([0.25, 0.25, 0.25, 0.25]); topP(s, 0.5); assert.equal(kept(s), [2, 3]);
});

test('top-p equals the literal transformers algorithm (full sort) on random logits', () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 50; trial++) {
    const V = 1000, p = [0.5, 0.9, 0.95, 0.99][trial % 4];
    const s = f64(Array.from({ length: V }, () => (rng.nextFloat() - 0.5) * 20));
    const ref = Float64Array.from(s);
    const probs = softmax(Float64Array.from(s));
    const order = [...probs.keys()].sort((a, b) => probs[a] - probs[b] || a - b);
    let cum = 0;
    order.forEach((i, j) => { cum += probs[i]; if (cum <= 1 - p && j < V - 1) ref[i] = N; });
    topP(s, p);
    assert.equal(kept(s), kept(ref), `trial ${trial}`);
  }
});

test('min-p drops tokens below p × the top probability', () => {
  let s = logs([0.6, 0.3, 0.08, 0.02]); minP(s, 0.1); assert.equal(kept(s), [0, 1, 2]);
  s = logs([0.6, 0.3, 0.08, 0.02]); minP(s, 0.6); assert.equal(kept(s), [0]);
  s = logs([0.4, 0.4, 0.2]); minP(s, 1); assert.equal(kept(s), [0, 1]);
});

test('softmax rejects a fully masked row and +Infinity', () => {
  assert.equal(Array.from(softmax(f64([0, 0, N]))), [0.5, 0.5, 0]);
  assert.throws(() => softmax(f64([N, N])), isOptionError(/masked/));
  assert.throws(() => softmax(f64([0, Infinity])), isOptionError(/Infinity/));
});

test('draw walks the cumulative distribution, skipping zero-probability tokens', () => {
  const p = f64([0.2, 0, 0.5, 0.3]);
  assert.equal([0, 0.19, 0.2, 0.69, 0.7, 0.9999999].map((u) => draw(p, u)), [0, 0, 2, 2, 3, 3]);
});

test('greedy sampler: penalties and bias apply before argmax', () => {
  assert.is(new Sampler({ temperature: 0 }, 2).next([2, 1.5], [0]), 0);
  assert.is(new Sampler({ temperature: 0, repetitionPenalty: 2 }, 2).next([2, 1.5], [0]), 1);
  assert.is(new Sampler({ temperature: 0, logitBias: { 1: 1 } }, 2).next([2, 1.5], []), 1);
  assert.is(new Sampler({ temperature: 0, logitBias: { 0: N } }, 2).next([2, 1.5], []), 1);
  const s = new Sampler({ temperature: 0, presencePenalty: 1 }, 2);
  s.accept(0);
  assert.is(s.next([2, 1.5], []), 1);
});

test('sampled frequencies follow the probabilities; top-k 1 is greedy', () => {
  const s = new Sampler({ temperature: 1, seed: 3 }, 3);
  const counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[s.next(logs([0.5, 0.3, 0.2]), [])]++;
  counts.forEach((c, i) => assert.ok(Math.abs(c / 20000 - [0.5, 0.3, 0.2][i]) < 0.02, `token ${i}: ${c}`));
  const k1 = new Sampler({ temperature: 5, topK: 1, seed: 3 }, 3);
  for (let i = 0; i < 100; i++) assert.is(k1.next([0.1, 0.3, 0.2], []), 1);
});

test('same seed, same tokens; another seed, other tokens', () => {
  const run = (seed: number) => { const s = new Sampler({ temperature: 1, seed }, 8); return Array.from({ length: 64 }, () => s.next(new Float32Array(8), [])); };
  assert.equal(run(42), run(42));
  assert.not.equal(run(42), run(43));
});

test('NaN logits and bad options are rejected', () => {
  assert.throws(() => new Sampler({}, 3).next([0, NaN, 1], []), isOptionError(/NaN at token 1/));
  assert.throws(() => new Sampler({}, 3).next([0, 1], []), isOptionError(/length 2/));
  const bad: [object, RegExp][] = [[{ temperature: -1 }, /temperature/], [{ temperature: NaN }, /temperature/], [{ topK: 1.5 }, /topK/],
    [{ topP: 1.5 }, /topP/], [{ minP: -0.1 }, /minP/], [{ repetitionPenalty: 0 }, /repetitionPenalty/],
    [{ presencePenalty: Infinity }, /presencePenalty/], [{ logitBias: { 3: 1 } }, /logitBias/], [{ logitBias: { 0: NaN } }, /logitBias/],
    [{ seed: -1 }, /seed/]];
  for (const [o, re] of bad) assert.throws(() => new Sampler(o, 3), isOptionError(re), JSON.stringify(o));
});

test('every token banned: a typed error, greedy or sampled, never id 0', () => {
  const banAll = { logitBias: { 0: N, 1: N, 2: N } };
  for (const temperature of [0, 1]) {
    assert.throws(() => new Sampler({ ...banAll, temperature }, 3).next([1, 2, 3], []), isOptionError(/every token was masked/), `temperature ${temperature}`);
  }
  assert.throws(() => new Sampler({ temperature: 0 }, 2).next([N, N], []), isOptionError(/every token was masked/));
});

test('defaults from generation_config.json: do_sample decides, fields map over', () => {
  const r1 = JSON.parse(readFileSync(resolve(fixtureConfig('deepseek-r1-distill-qwen-1.5b'), 'generation_config.json'), 'utf8'));
  assert.equal(samplingDefaults(r1), { temperature: 0.6, topP: 0.95 }); // DeepSeek-R1-Distill's own file
  assert.equal(samplingDefaults({ do_sample: true, top_k: 20, repetition_penalty: 1.1 }), { temperature: 1, topK: 20, repetitionPenalty: 1.1 });
  assert.equal(samplingDefaults({ temperature: 0.7 }), { temperature: 0 });
  assert.equal(samplingDefaults({}), { temperature: 0 });
});

test.run();

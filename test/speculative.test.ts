// Speculative decoding (src/text/speculative.ts): the acceptance rule gives the target's distribution
// (chi-square, fixed seeds, with a control the same test rejects); prompt lookup finds the latest n-gram;
// greedy output with a q4 self-draft or prompt lookup is plain greedy's, alone and batched; sampled
// output through the whole pipeline follows the model's distribution.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, lookupDraft, OptionError, Rng, Sampler, verifyDraft, type GenerateResult } from '../src/index.js';
import { draw } from '../src/text/sampler.js';
import { oracle, fixtureModel, WEIGHTS } from './paths.js';

const greedy = oracle('stories260K-greedy.json');

/** Pearson's chi-square of observed counts against probabilities p (categories with p = 0 must be empty). */
function chiSquare(counts: number[], p: ArrayLike<number>): number {
  const n = counts.reduce((a, b) => a + b, 0);
  let x2 = 0;
  counts.forEach((c, i) => {
    if (p[i] === 0) { x2 += c > 0 ? Infinity : 0; return; }
    x2 += (c - n * p[i]) ** 2 / (n * p[i]);
  });
  return x2;
}
/** Chi-square critical values at α = 0.001 by degrees of freedom. */
const CRITICAL_001: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52 };

test('acceptance rule: drafts drawn from q, kept with min(1, p/q), else redrawn from norm(max(0, p − q)), come out as p', () => {
  const p = [0.05, 0.3, 0.1, 0.25, 0.2, 0.1], q = [0.3, 0.05, 0.2, 0.25, 0, 0.2];
  const rng = new Rng(12345), u = () => rng.nextFloat(), N = 20000;
  const counts = new Array(6).fill(0), asIs = new Array(6).fill(0);
  let kept = 0;
  for (let t = 0; t < N; t++) {
    const x = draw(Float64Array.from(q), u());
    const id = verifyDraft(Float64Array.from(p), Float64Array.from(q), x, u);
    counts[id]++;
    asIs[x]++;
    if (id === x) kept++;
  }
  const x2 = chiSquare(counts, p), control = chiSquare(asIs, p);
  console.log(`  chi-square over 6 ids, ${N} drafts: ${x2.toFixed(2)} (critical ${CRITICAL_001[5]} at α 0.001); the drafts kept as drawn: ${control.toFixed(0)}`);
  assert.ok(x2 < CRITICAL_001[5], `x2 ${x2}`);
  assert.ok(control > CRITICAL_001[5], `the control (q itself) passed: ${control}`);
  // Σ min(p, q) = 0.05 + 0.05 + 0.1 + 0.25 + 0 + 0.1 = 0.55 of drafts are kept, in expectation.
  assert.ok(Math.abs(kept / N - 0.55) < 0.02, `kept ${kept / N}`);
});

test('acceptance rule with a certain draft (prompt lookup, q one-hot): kept with p(x), else a draw from p without x', () => {
  const p = [0.1, 0.4, 0.3, 0.2], rng = new Rng(99), u = () => rng.nextFloat();
  const counts = [0, 0, 0, 0];
  for (let t = 0; t < 20000; t++) counts[verifyDraft(Float64Array.from(p), undefined, 2, u)]++;
  const x2 = chiSquare(counts, p);
  assert.ok(x2 < CRITICAL_001[3], `x2 ${x2}`);
  assert.ok(chiSquare(counts, [0, 0, 1, 0]) === Infinity, 'control: always keeping the draft is rejected');
});

test('prompt lookup drafts what followed the latest earlier match of the last 3, 2 or 1 ids', () => {
  assert.equal(lookupDraft([5, 1, 2, 3, 9, 9, 7, 1, 2, 3, 4, 1, 2, 3], 3), [4, 1, 2]);  // "1 2 3" last seen before 4
  assert.equal(lookupDraft([8, 2, 3, 6, 5, 2, 3], 2), [6, 5]);                          // "2 3"
  assert.equal(lookupDraft([4, 7, 1, 7], 5), [1, 7]);                                   // "7", cut at the end of the context
  assert.equal(lookupDraft([1, 2, 3], 4), []);
  assert.equal(lookupDraft([1, 2, 1, 2], 0), []);
});

const stories = await loadModel(`${WEIGHTS}/stories260K`);
const selfQ4 = await loadModel(`${WEIGHTS}/stories260K`, { quantize: 'q4' });

test('greedy with a q4 self-draft or prompt lookup: the 200 plain greedy ids, with drafts drafted and kept', async () => {
  for (const [name, o] of [['draft', { draft: selfQ4, draftTokens: 4 }], ['lookup', { lookup: 4 }]] as const) {
    const r = await stories.complete([1], { maxTokens: 200, temperature: 0, ...o });
    assert.equal(r.ids, greedy.greedy_ids, name);
    assert.is(r.text, greedy.text);
    console.log(`  ${name}: ${r.accepted} of ${r.drafted} drafted ids kept`);
    assert.ok(r.drafted > 0 && r.accepted > 0 && r.accepted <= r.drafted, `${name}: ${r.accepted}/${r.drafted}`);
  }
});

test('greedy speculation in a batch, on q8 and on tiny-qwen3: each request\'s plain greedy ids', async () => {
  const q8 = await loadModel(`${WEIGHTS}/stories260K`, { quantize: 'q8', threads: 2 });
  const qwen3 = await loadModel(fixtureModel('tiny-qwen3'));
  const qwen3Q4 = await loadModel(fixtureModel('tiny-qwen3'), { quantize: 'q4' });
  for (const [m, draft] of [[stories, selfQ4], [q8, selfQ4], [qwen3, qwen3Q4]] as const) {
    const prompts = ([[1], [1, 403, 407], greedy.greedy_ids.slice(0, 40)] as number[][]).map((p) => p.map((id) => id % m.spec.vocabSize));
    const base = { maxTokens: 40, temperature: 0, stopIds: [] };
    const want = await Promise.all(prompts.map((p) => m.complete(p, base)));
    for (const o of [{ draft, draftTokens: 3 }, { lookup: 5 }]) {
      const got = await Promise.all(m.generateBatch(prompts, { ...base, ...o }).map((g) => g.result));
      assert.equal(got.map((r) => r.ids), want.map((r) => r.ids), `${m.info.source} ${Object.keys(o)}`);
      assert.ok(got.some((r) => r.accepted > 0));
    }
  }
});

test('sampled with a q4 self-draft: the second token over 3000 seeds follows the model\'s top-3 distribution at temperature 2', async () => {
  // maxTokens 3: the second token is the first that drafts can reach (one id always comes from the model).
  const opts = { temperature: 2, topK: 3, maxTokens: 3, stopIds: [] };
  const runs: GenerateResult[] = [];
  for (let seed = 0; seed < 3000; seed += 100) {
    runs.push(...await Promise.all(stories.generateBatch(Array.from({ length: 100 }, () => [1]),
      Array.from({ length: 100 }, (_, i) => ({ ...opts, seed: seed + i, draft: selfQ4, draftTokens: 3 }))).map((g) => g.result)));
  }
  const first = new Map<number, number>();
  for (const r of runs) first.set(r.ids[0], (first.get(r.ids[0]) ?? 0) + 1);
  const t1 = [...first].sort((a, b) => b[1] - a[1])[0][0];
  const s = stories.session(), sampler = new Sampler(opts, 512);
  const p = sampler.probs(s.prefill([1, t1]), [1, t1]);
  const support = [...p.keys()].filter((i) => p[i] > 0);
  const counts = support.map(() => 0);
  for (const r of runs) if (r.ids[0] === t1) counts[support.indexOf(r.ids[1])]++;
  const x2 = chiSquare(counts, support.map((i) => p[i]));
  const drafted = runs.reduce((n, r) => n + r.drafted, 0), kept = runs.reduce((n, r) => n + r.accepted, 0);
  console.log(`  after id ${t1} (${first.get(t1)} runs): counts ${counts} vs p ${support.map((i) => p[i].toFixed(3))}, chi-square ${x2.toFixed(2)} (critical ${CRITICAL_001[2]}); ${kept} of ${drafted} drafts kept`);
  assert.is(support.length, 3);
  assert.ok(x2 < CRITICAL_001[2], `x2 ${x2}`);
  assert.ok(drafted > 0 && kept > 0 && kept < drafted, `${kept} of ${drafted}`);
});

test('the same seed gives the same sampled speculative output; --json counts', async () => {
  const o = { maxTokens: 60, temperature: 0.9, seed: 3, stopIds: [], draft: selfQ4 };
  const a = await stories.complete([1], o), b = await stories.complete([1], o);
  assert.equal([a.ids, a.drafted, a.accepted], [b.ids, b.drafted, b.accepted]);
  assert.is(a.ids.length, 60);
});

test('a draft of another vocabulary, or both a draft and lookup, is an OptionError', async () => {
  const qwen = await loadModel(fixtureModel('tiny-qwen2'));
  const fails = async (p: Promise<unknown>, re: RegExp) => {
    const e = await p.then(() => undefined, (x: Error) => x);
    assert.ok(e instanceof OptionError && re.test(e.message), String(e));
  };
  await fails(stories.complete([1], { draft: qwen }), /vocabulary of 300 tokens, the model's has 512/);
  await fails(stories.complete([1], { draft: selfQ4, lookup: 3 }), /choose one/);
  await fails(stories.complete([1], { lookup: -1 }), /lookup -1/);
});

test.run();

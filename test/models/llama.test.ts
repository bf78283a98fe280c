// The llama-family forward against outside oracles: llama2.c run.c and HF transformers (test/oracles).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, generateIds, type Model } from '../../src/index.js';
import { firstMismatches, oracle, sharedModel, WEIGHTS } from '../paths.js';

/** The oracle logits are float64 references; ours run in f32 over 5 layers. */
const STORIES_LOGIT_ATOL = 5e-4;
/** tiny-qwen2: |ours − HF float64| ≤ atol + rtol·|ref|; measured max abs error 3e-7. */
const QWEN_RTOL = 1e-4, QWEN_ATOL = 1e-5;
/**
 * 16-bit copies are the f32 weights rounded, so their logits differ from the f32 model's by the
 * rounding: measured max abs difference 0.093 (bf16, 8-bit mantissa) and 0.0166 (f16, 11-bit) over
 * BOS + the first 16 greedy ids (logits span about ±15). The bounds are 2× that; the first 16
 * greedy ids must equal the f32 ones exactly (bf16 first flips at step 185, per the oracle's note).
 */
const BF16_VS_F32_ATOL = 0.2, F16_VS_F32_ATOL = 0.035;

const greedy = oracle('stories260K-greedy.json');
const prompts = oracle('stories260K-prompts.json');
const qwen = oracle('tiny-qwen2.json');
const shipped = `${WEIGHTS}/stories260K`;

const models = new Map<string, Promise<Model>>();
const load = (dir: string) => {
  if (!models.has(dir)) models.set(dir, loadModel(dir));
  return models.get(dir)!;
};

test('stories260K: 200 greedy ids from BOS equal llama2.c run.c, and the text decodes byte for byte', async () => {
  const m = await load(shipped);
  const r = generateIds(m, m.session(), greedy.prompt_ids, { maxTokens: greedy.steps });
  const first = r.ids.findIndex((id, i) => id !== greedy.greedy_ids[i]);
  assert.is(first, -1, `first differing step ${first}: want ${greedy.greedy_ids[first]} got ${r.ids[first]}`);
  assert.is(r.ids.length, 200);
  assert.is(r.text, greedy.text);
});

test('stories260K: last-position logits within 5e-4 of the float64 reference', async () => {
  const m = await load(shipped);
  for (const c of greedy.logit_checks) {
    const logits = m.session().prefill(c.ids);
    const bad = firstMismatches(logits, c.last_logits, () => STORIES_LOGIT_ATOL);
    assert.equal(bad, [], `ids ${c.ids}: ${bad.join('; ')}`);
  }
});

test('stories260K: text prompts encode to the oracle ids and continue greedily as transformers does', async () => {
  const m = await load(shipped);
  for (const c of prompts.cases) {
    const ids = m.tokenizer!.encode(c.prompt);
    assert.equal(ids, c.prompt_ids, c.prompt);
    const r = generateIds(m, m.session(), ids, { maxTokens: prompts.steps, stopIds: [] });
    assert.equal(r.ids, c.greedy_ids, c.prompt);
  }
});

test('stories260K: prefill in chunks, token by token, or at once gives the same logits', async () => {
  const m = await load(shipped);
  const ids = greedy.greedy_ids.slice(0, 40);
  const once = m.session({ prefillChunk: 64 }).prefill(ids, { allLogits: true });
  const chunked = m.session({ prefillChunk: 7 }).prefill(ids, { allLogits: true });
  const s = m.session();
  const stepped = new Float32Array(once.length);
  ids.forEach((id: number, t: number) => stepped.set(s.step(id), t * 512));
  for (const other of [chunked, stepped]) {
    const bad = firstMismatches(other, once, (w) => 1e-5 * (1 + Math.abs(w)));
    assert.equal(bad, [], bad.join('; '));
  }
});

for (const [dir, atol] of [['stories260K-bf16', BF16_VS_F32_ATOL], ['stories260K-f16', F16_VS_F32_ATOL]] as const) {
  test(`${dir}: loads, first 16 greedy ids equal the f32 model's, logits within ${atol}`, async () => {
    const [m16, m32] = await Promise.all([load(sharedModel(dir)), load(shipped)]);
    const r = generateIds(m16, m16.session(), [1], { maxTokens: 16 });
    assert.equal(r.ids, greedy.greedy_ids.slice(0, 16));
    const path = [1, ...r.ids];
    const a = m16.session().prefill(path, { allLogits: true }), b = m32.session().prefill(path, { allLogits: true });
    const bad = firstMismatches(a, b, () => atol);
    assert.equal(bad, [], bad.join('; '));
  });
}

test('tiny-qwen2: logits at every position within 1e-4 relative of transformers (float64)', async () => {
  const m = await load(sharedModel('tiny-qwen2'));
  const { ids, logits } = qwen.logits[0];
  const got = m.session().prefill(ids, { allLogits: true });
  const bad = firstMismatches(got, logits.flat(), (w) => QWEN_ATOL + QWEN_RTOL * Math.abs(w));
  assert.equal(bad, [], bad.join('; '));
});

test('tiny-qwen2: 16 greedy ids equal transformers', async () => {
  const m = await load(sharedModel('tiny-qwen2'));
  const g = qwen.greedy[0];
  const r = generateIds(m, m.session(), g.prompt_ids, { maxTokens: qwen.greedy_steps, stopIds: [] });
  assert.equal(r.ids, g.greedy_ids);
});

test.run();

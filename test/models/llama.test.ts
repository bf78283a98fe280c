// The llama-family forward against outside oracles: llama2.c run.c and HF transformers (test/oracles),
// once with the weights as stored and once quantized to q8 at load, each mode with its bounds (bounds.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, generateIds, MemoryBudgetError, type Model } from '../../src/index.js';
import { firstMismatches, fixtureModel, oracle, WEIGHTS } from '../paths.js';
import { BOUNDS, QUANT_MODES, firstDifference, maxAbsDiff, type Mode } from './bounds.js';

const greedy = oracle('stories260K-greedy.json');
const prompts = oracle('stories260K-prompts.json');
const qwen = oracle('tiny-qwen2.json');
const shipped = `${WEIGHTS}/stories260K`;

const models = new Map<string, Promise<Model>>();
const load = (dir: string, quantize: Mode, f16: 'auto' | 'keep' = 'auto') => {
  const key = `${dir} ${quantize} ${f16}`;
  if (!models.has(key)) models.set(key, loadModel(dir, { quantize, f16 }));
  return models.get(key)!;
};

for (const mode of QUANT_MODES) {
  const b = BOUNDS[mode];

  test(`stories260K ${mode}: the first ${b.greedySteps} of 200 greedy ids from BOS equal llama2.c run.c`, async () => {
    const m = await load(shipped, mode);
    assert.is(m.info.quantize, mode);
    const r = generateIds(m, m.session(), greedy.prompt_ids, { maxTokens: greedy.steps });
    const first = firstDifference(r.ids, greedy.greedy_ids);
    if (first >= 0) console.log(`  stories260K ${mode} [${m.info.simd}]: leaves run.c's path at step ${first} (bound ≥ ${b.greedySteps})`);
    assert.ok(first === -1 || first >= b.greedySteps, `first differing step ${first}: want ${greedy.greedy_ids[first]} got ${r.ids[first]}`);
    assert.is(r.ids.length, 200);
    if (first === -1) assert.is(r.text, greedy.text); // byte for byte
  });

  test(`stories260K ${mode}: last-position logits within ${b.storiesLogitAtol} of the float64 reference`, async () => {
    const m = await load(shipped, mode);
    for (const c of greedy.logit_checks) {
      const logits = m.session().prefill(c.ids);
      const bad = firstMismatches(logits, c.last_logits, () => b.storiesLogitAtol);
      if (mode !== 'none') console.log(`  stories260K ${mode} [${m.info.simd}]: ${c.ids.length} ids, max |logit err| ${maxAbsDiff(logits, c.last_logits).toExponential(2)} (bound ${b.storiesLogitAtol})`);
      assert.equal(bad, [], `ids ${c.ids}: ${bad.join('; ')}`);
    }
  });

  test(`stories260K ${mode}: text prompts encode to the oracle ids and continue greedily as transformers does`, async () => {
    // q8: all 48 continuation ids are equal on both prompts (inside issue 4's 100-token bound).
    const m = await load(shipped, mode);
    for (const c of prompts.cases) {
      const ids = m.tokenizer!.encode(c.prompt);
      assert.equal(ids, c.prompt_ids, c.prompt);
      const r = generateIds(m, m.session(), ids, { maxTokens: prompts.steps, stopIds: [] });
      assert.equal(r.ids, c.greedy_ids, c.prompt);
    }
  });

  test(`stories260K ${mode}: prefill in chunks, token by token, or at once gives the same logits`, async () => {
    const m = await load(shipped, mode);
    const ids = greedy.greedy_ids.slice(0, 40);
    const once = m.session({ prefillChunk: 64 }).prefill(ids, { allLogits: true });
    const chunked = m.session({ prefillChunk: 7 }).prefill(ids, { allLogits: true });
    const s = m.session();
    const stepped = new Float32Array(once.length);
    ids.forEach((id: number, t: number) => stepped.set(s.step(id), t * 512));
    for (const [how, other] of [['chunks of 7', chunked], ['token by token', stepped]] as const) {
      const bad = firstMismatches(other, once, (w) => b.prefillRtol * (1 + Math.abs(w)));
      assert.equal(bad, [], `${how}: ${bad.join('; ')}`);
    }
  });

  // stories260K-f16 is small enough that f16 'auto' widens it to f32 at load; 'keep' runs the f16 kernels.
  const sixteen = [['stories260K-bf16', b.bf16Atol, 'auto'], ['stories260K-f16', b.f16Atol, 'auto'],
    ...(mode === 'none' ? [['stories260K-f16', b.f16Atol, 'keep'] as const] : [])] as const;
  for (const [dir, atol, f16] of sixteen) {
    test(`${dir} ${mode}${f16 === 'keep' ? ', kept f16' : ''}: loads, first 16 greedy ids equal the f32 model's, logits within ${atol}`, async () => {
      const [m16, m32] = await Promise.all([load(fixtureModel(dir), mode, f16), load(shipped, mode)]);
      if (dir.endsWith('-f16') && mode === 'none') {
        // Widened: the f32 model's bytes; kept: its matrices at 2 bytes (the norms stay f32).
        if (f16 === 'auto') assert.is(m16.info.weightBytes, m32.info.weightBytes);
        else assert.ok(m16.info.weightBytes < 0.55 * m32.info.weightBytes, `${m16.info.weightBytes} of ${m32.info.weightBytes} bytes`);
      }
      const r = generateIds(m16, m16.session(), [1], { maxTokens: 16 });
      assert.equal(r.ids, greedy.greedy_ids.slice(0, 16));
      const path = [1, ...r.ids];
      const a = m16.session().prefill(path, { allLogits: true }), ref = m32.session().prefill(path, { allLogits: true });
      if (mode !== 'none') console.log(`  ${dir} ${mode} [${m16.info.simd}]: max |logit − f32 ${mode}| ${maxAbsDiff(a, ref).toExponential(2)} (bound ${atol})`);
      const bad = firstMismatches(a, ref, () => atol);
      assert.equal(bad, [], bad.join('; '));
    });
  }

  if (mode === 'none') {
    test('stories260K-f16: f16 \'auto\' widens only where the memory budget allows; \'widen\' then fails', async () => {
      // 1 MiB holds the f16 weights (514 KiB) with staging and a one-token plan, not the f32 ones (1026 KiB).
      const dir = fixtureModel('stories260K-f16'), memoryBudgetBytes = 1 << 20;
      const kept = await loadModel(dir, { memoryBudgetBytes, threads: 1 });
      try {
        assert.is(kept.info.weightBytes, (await load(dir, 'none', 'keep')).info.weightBytes);
      } finally {
        await kept.dispose();
      }
      const err = await loadModel(dir, { memoryBudgetBytes, threads: 1, f16: 'widen' }).then(() => undefined, (e: unknown) => e);
      assert.instance(err, MemoryBudgetError);
    });
  }

  test(`tiny-qwen2 ${mode}: logits at every position within ${b.qwenAtol} + ${b.qwenRtol}·|ref| of transformers (float64)`, async () => {
    const m = await load(fixtureModel('tiny-qwen2'), mode);
    const { ids, logits } = qwen.logits[0];
    const got = m.session().prefill(ids, { allLogits: true });
    if (mode !== 'none') console.log(`  tiny-qwen2 ${mode} [${m.info.simd}]: max |logit err| ${maxAbsDiff(got, logits.flat()).toExponential(2)} (bound ${b.qwenAtol})`);
    const bad = firstMismatches(got, logits.flat(), (w) => b.qwenAtol + b.qwenRtol * Math.abs(w));
    assert.equal(bad, [], bad.join('; '));
  });

  test(`tiny-qwen2 ${mode}: 16 greedy ids equal transformers`, async () => {
    const m = await load(fixtureModel('tiny-qwen2'), mode);
    const g = qwen.greedy[0];
    const r = generateIds(m, m.session(), g.prompt_ids, { maxTokens: qwen.greedy_steps, stopIds: [] });
    assert.equal(r.ids, g.greedy_ids);
  });
}

test.run();

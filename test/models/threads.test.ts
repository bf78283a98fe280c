// Threads: the same greedy ids and logits at any thread count, against the outside oracles, with the
// worker pool really used. Every model is disposed so its workers stop and the process can exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, generateIds, OptionError, type Model } from '../../src/index.js';
import { firstMismatches, oracle, sharedModel, WEIGHTS } from '../paths.js';

/** As in llama.test.ts: tiny-qwen2 against HF float64, |ours − ref| ≤ atol + rtol·|ref|. */
const QWEN_RTOL = 1e-4, QWEN_ATOL = 1e-5;
/**
 * 1 vs 2 threads, relative. Baseline: exact. Relaxed: f32x4.relaxed_madd may fuse in one V8 tier and
 * not in another, and workers' code tiers up on its own schedule, so only rounding may differ.
 */
const THREADS_TOL: Record<string, number> = { baseline: 0, relaxed: 1e-5 };

const greedy = oracle('stories260K-greedy.json');
const qwen = oracle('tiny-qwen2.json');
const shipped = `${WEIGHTS}/stories260K`;

async function withModel(dir: string, threads: number, body: (m: Model) => void | Promise<void>): Promise<void> {
  const m = await loadModel(dir, { threads });
  m.ops.minParallelWork = 0; // these models are tiny: split every op, so the pool really runs them
  try {
    assert.is(m.threads, threads);
    await body(m);
  } finally {
    await m.dispose();
  }
}

for (const threads of [1, 2]) {
  test(`stories260K, threads ${threads}: 200 greedy ids from BOS equal llama2.c run.c`, async () => {
    await withModel(shipped, threads, (m) => {
      const r = generateIds(m, m.session(), greedy.prompt_ids, { maxTokens: greedy.steps });
      const first = r.ids.findIndex((id, i) => id !== greedy.greedy_ids[i]);
      assert.is(first, -1, `first differing step ${first}: want ${greedy.greedy_ids[first]} got ${r.ids[first]}`);
      assert.is(r.ids.length, 200);
      if (threads > 1) assert.ok(m.pool!.jobs > 1000, `only ${m.pool!.jobs} jobs went to the pool`);
    });
  });

  test(`tiny-qwen2, threads ${threads}: logits at every position within 1e-4 relative of transformers`, async () => {
    await withModel(sharedModel('tiny-qwen2'), threads, (m) => {
      const { ids, logits } = qwen.logits[0];
      const got = m.session().prefill(ids, { allLogits: true });
      const bad = firstMismatches(got, logits.flat(), (w) => QWEN_ATOL + QWEN_RTOL * Math.abs(w));
      assert.equal(bad, [], bad.join('; '));
    });
  });
}

test('tiny-qwen2: 2 threads give bit-identical logits to 1 (rows and heads are split, sums are not)', async () => {
  const { ids } = qwen.logits[0];
  const run = (m: Model) => {
    const stepped = m.session();
    return [m.session().prefill(ids, { allLogits: true }), Float32Array.from(ids.flatMap((id: number) => Array.from(stepped.step(id))))];
  };
  let one: Float32Array[] = [], two: Float32Array[] = [], flavor = '';
  await withModel(sharedModel('tiny-qwen2'), 1, (m) => { one = run(m); flavor = m.info.simd; });
  await withModel(sharedModel('tiny-qwen2'), 2, (m) => { two = run(m); });
  for (const [i, how] of ['prefill', 'step by step'].entries()) {
    const bad = firstMismatches(two[i], one[i], (w) => THREADS_TOL[flavor] * Math.abs(w));
    assert.equal(bad, [], `${how}: ${bad.join('; ')}`);
  }
});

test('session threads: 1 on a 2-thread model bypasses the pool and gives the same ids', async () => {
  await withModel(shipped, 2, (m) => {
    const before = m.pool!.jobs;
    const r = generateIds(m, m.session({ threads: 1 }), [1], { maxTokens: 50 });
    assert.equal(r.ids, greedy.greedy_ids.slice(0, 50));
    assert.is(m.pool!.jobs, before);
    assert.throws(() => m.session({ threads: 3 }), (e: Error) => e instanceof OptionError && /session threads 3/.test(e.message));
  });
});

test('threads option: 0, 1.5 and 1000 are rejected naming the option', async () => {
  for (const threads of [0, 1.5, 1000]) {
    try {
      await loadModel(shipped, { threads });
      assert.unreachable(`threads ${threads} loaded`);
    } catch (e) {
      assert.instance(e, OptionError);
      assert.match((e as Error).message, `threads ${threads}`);
    }
  }
});

test('a pool grown memory: a session allocated after load (memory.grow) still decodes on every thread', async () => {
  await withModel(shipped, 2, (m) => {
    const big = m.session({ contextLength: 512, prefillChunk: 256 });
    const r = generateIds(m, big, [1], { maxTokens: 30 });
    assert.equal(r.ids, greedy.greedy_ids.slice(0, 30));
  });
});

test.run();

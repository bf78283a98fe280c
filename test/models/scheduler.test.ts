// Continuous batching (src/text/scheduler.ts): requests of mixed prompt lengths decoded together, joining
// and leaving between steps, each with its own options, give the greedy ids each gets alone (the logits
// differ only by accumulation order: test/models/batch.test.ts bounds that), on llama, qwen2, qwen3 and gemma3,
// f32 and q8, at 1 and 2 threads; sampled requests keep their seeds, stops and signals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, type GenerateOptions, type GenerateResult, type Model } from '../../src/index.js';
import { oracle, fixtureModel, WEIGHTS } from '../paths.js';

const greedy = oracle('stories260K-greedy.json');
const MODELS: [string, string][] = [['stories260K', `${WEIGHTS}/stories260K`], ['tiny-qwen2', fixtureModel('tiny-qwen2')], ['tiny-qwen3', fixtureModel('tiny-qwen3')],
  ['tiny-gemma3', fixtureModel('tiny-gemma3')]]; // sliding-window rings
/** Prompts of 1, 30, 3, 71 and 9 ids (71 > one 64-row forward: it goes in two chunks beside decodes). */
const PROMPTS: number[][] = [[1], greedy.greedy_ids.slice(0, 30), [1, 403, 407], [1, ...greedy.greedy_ids.slice(0, 70)], [1, 9, 8, 7, 6, 5, 4, 3, 2]];
/** The prompts within a vocabulary (tiny-qwen2 and tiny-qwen3 have 300 ids). */
const promptsFor = (m: Model) => PROMPTS.map((p) => p.map((id) => id % m.spec.vocabSize));
const OPTS: GenerateOptions = { maxTokens: 24, temperature: 0, stopIds: [] };

const alone = (m: Model, prompts: number[][], opts: GenerateOptions[]) => Promise.all(prompts.map((p, i) => m.complete(p, opts[i])));
const ids = (rs: GenerateResult[]) => rs.map((r) => r.ids);

for (const [name, dir] of MODELS) {
  for (const quantize of ['none', 'q8'] as const) {
    for (const threads of [1, 2]) {
      test(`${name} ${quantize} (threads ${threads}): five prompts of 1 to 71 ids batched give each one's greedy ids alone`, async () => {
        const m = await loadModel(dir, { quantize, threads });
        m.minParallelWork = 0;
        const prompts = promptsFor(m), opts = PROMPTS.map((_, i) => ({ ...OPTS, maxTokens: 8 + 5 * i })); // they leave at different steps
        const want = ids(await alone(m, prompts, opts));
        const got = await Promise.all(m.generateBatch(prompts, opts).map((g) => g.result));
        assert.equal(ids(got), want);
        assert.equal(got.map((r) => r.finishReason), got.map(() => 'length'));
        // Small forwards: prompts in chunks of what the decodes leave of 8 rows, at most 3 sequences at once.
        const small = await Promise.all(m.generateBatch(prompts, opts, { batchTokens: 8, maxSequences: 3 }).map((g) => g.result));
        assert.equal(ids(small), want);
        await m.dispose();
      });
    }
  }
}

test('requests join a running scheduler at any step and leave when done; at most maxSequences run at once', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`);
  const want = ids(await alone(m, PROMPTS, PROMPTS.map(() => OPTS)));
  const sch = m.scheduler({ maxSequences: 2 });
  const seen: number[] = [];
  const first = sch.generate(PROMPTS[0], { ...OPTS, onToken: () => seen.push(sch.running) });
  const rest: Promise<GenerateResult>[] = [];
  let n = 0;
  for await (const _ of first) if (++n === 2) for (const p of PROMPTS.slice(1)) rest.push(sch.generate(p, OPTS).result);
  const got = [await first.result, ...await Promise.all(rest)];
  assert.equal(ids(got), want);
  assert.ok(Math.max(...seen) === 2 && sch.running === 0 && sch.queued === 0, `running ${seen}`);
  sch.dispose();
});

test('each request keeps its own seed, sampling, stop strings, stop ids and signal in a batch', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`);
  const ac = new AbortController();
  const opts: GenerateOptions[] = [
    { maxTokens: 40, temperature: 1, seed: 7, stopIds: [] },
    { maxTokens: 40, temperature: 0.8, topK: 20, seed: 8, stopIds: [] },
    { maxTokens: 200, temperature: 0, stop: [' Lily'] },
    { maxTokens: 200, temperature: 0, stopIds: [greedy.greedy_ids[7]] },
    { maxTokens: 200, temperature: 0, signal: ac.signal },
  ];
  const bos = opts.map(() => [1]);
  const want = await alone(m, bos, opts.map((o, i) => (i === 4 ? { ...o, signal: undefined, maxTokens: 50 } : o)));
  const gs = m.generateBatch(bos, opts);
  let pieces = 0;
  for await (const _ of gs[4]) if (++pieces === 3) ac.abort();
  const got = await Promise.all(gs.map((g) => g.result));
  for (const i of [0, 1, 2, 3]) assert.equal([got[i].ids, got[i].text, got[i].finishReason], [want[i].ids, want[i].text, want[i].finishReason], `request ${i}`);
  assert.is(got[2].finishReason, 'stop');
  assert.not.ok(got[2].text.includes('Lily'));
  assert.is(got[4].finishReason, 'abort');
  assert.ok(got[4].ids.length > 0 && got[4].ids.length < 50, String(got[4].ids.length));
  assert.equal(got[4].ids, want[4].ids.slice(0, got[4].ids.length));
});

test('a request whose options are wrong, or whose onToken throws, fails alone; the others in the batch finish', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`);
  const boom = { ...OPTS, onToken: (id: number) => { if (id === greedy.greedy_ids[3]) throw new Error('boom'); } };
  const gs = m.generateBatch([[1], [1, 600], [1], [1]], [OPTS, OPTS, { ...OPTS, topP: 2 }, boom]);
  const rs = await Promise.allSettled(gs.map((g) => g.result));
  assert.equal(rs.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'rejected']);
  assert.match(String((rs[3] as PromiseRejectedResult).reason), /boom/);
  assert.match(String((rs[1] as PromiseRejectedResult).reason), /token id 600 at index 1/);
  assert.match(String((rs[2] as PromiseRejectedResult).reason), /topP 2/);
  assert.equal((rs[0] as PromiseFulfilledResult<GenerateResult>).value.ids, greedy.greedy_ids.slice(0, 24));
});

test('a session two requests would share, or a disposed scheduler, is refused with an OptionError', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`);
  const sch = m.scheduler(), session = m.session();
  const a = sch.generate([1], { ...OPTS, session });
  const e = await sch.generate([1, 5], { ...OPTS, session }).result.then(() => undefined, (x: Error) => x);
  assert.match(String(e), /another running request generates on it/);
  assert.equal((await a.result).ids, greedy.greedy_ids.slice(0, 24));
  sch.dispose();
  assert.throws(() => sch.add([1]), /scheduler: used after dispose/);
  assert.throws(() => m.scheduler({ maxSequences: 0 }), /maxSequences 0/);
  assert.throws(() => m.scheduler({ batchToken: 8 } as never), /unknown option "batchToken"; did you mean "batchTokens"/);
});

test.run();

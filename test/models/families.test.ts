// The decoder families against Hugging Face transformers 5.18 run in float64 (test/oracles/tiny-*.json,
// random-weight checkpoints written by transformers itself): logits at every position within
// 1e-5 + 1e-4·max|ref| of that position's row, and the greedy ids equal. Prefilled whole, in chunks that
// wrap Gemma's sliding-window rings, and token by token; at 1 and 2 threads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, loadModelFrom, generateIds, type Model, type ModelFiles } from '../../src/index.js';
import { dirSource } from '../../src/node/index.js';
import { oracle, fixtureModel } from '../paths.js';

interface FamilyOracle { logits: { ids: number[]; logits: number[][] }[]; greedy: { prompt_ids: number[]; ids: number[] }[] }

const FAMILIES = ['tiny-qwen3', 'tiny-gemma3', 'tiny-phi3', 'tiny-smollm3'];
const CHUNKS = [64, 5, 1];

/** The worst |ours − ref| / (1e-5 + 1e-4·max|ref row|) over every position: ≤ 1 passes. */
function worst(got: Float32Array, want: number[][]): { ratio: number; at: string } {
  let ratio = 0, at = '';
  const V = want[0].length;
  want.forEach((row, t) => {
    const tol = 1e-5 + 1e-4 * Math.max(...row.map(Math.abs));
    row.forEach((w, i) => {
      const r = Math.abs(got[t * V + i] - w) / tol;
      if (!(r <= ratio)) { ratio = r; at = `position ${t} id ${i}: want ${w} got ${got[t * V + i]}`; }
    });
  });
  return { ratio, at };
}

for (const name of FAMILIES) {
  const o = oracle<FamilyOracle>(`${name}.json`);
  for (const threads of [1, 2]) {
    let model: Promise<Model> | undefined;
    const load = () => (model ??= loadModel(fixtureModel(name), { threads }).then((m) => { m.minParallelWork = 0; return m; }));

    test(`${name} (threads ${threads}): logits at every position match transformers, in chunks of ${CHUNKS.join(', ')}`, async () => {
      const m = await load();
      for (const [c, { ids, logits }] of o.logits.entries()) {
        for (const prefillChunk of CHUNKS) {
          const s = m.session({ prefillChunk, contextLength: ids.length });
          const got = s.prefill(ids, { allLogits: true });
          s.dispose();
          const { ratio, at } = worst(got, logits);
          assert.ok(ratio <= 1, `${name} case ${c} chunk ${prefillChunk}: ${ratio.toFixed(2)}× the bound at ${at}`);
        }
      }
    });

    test(`${name} (threads ${threads}): greedy ids equal transformers' generate()`, async () => {
      const m = await load();
      for (const g of o.greedy) {
        // transformers stops after an eos id and lists it; Tide stops on it and does not.
        const eos = m.eosTokenIds.includes(g.ids[g.ids.length - 1]);
        const r = generateIds(m, m.session({ prefillChunk: 4 }), g.prompt_ids, { maxTokens: g.ids.length });
        assert.equal(r.ids, eos ? g.ids.slice(0, -1) : g.ids);
        assert.is(r.finishReason, eos ? 'stop' : 'length');
      }
    });
  }
}

test('tiny-gemma3: a chat continues on the cache across turns only as far back as the sliding-window ring allows', async () => {
  const m = await loadModel(fixtureModel('tiny-gemma3'), { threads: 1 });
  const { ids } = oracle<FamilyOracle>('tiny-gemma3.json').logits[0];
  const s = m.session({ prefillChunk: 4 });
  s.prefill(ids.slice(0, 20));
  assert.is(s.keepPrefix(ids.slice(0, 30)), 20);        // an extension keeps everything
  s.prefill(ids.slice(20, 30));
  assert.is(s.keepPrefix([...ids.slice(0, 28), 1, 2]), 28); // 2 back: within the ring's 3 spare rows
  s.prefill(ids.slice(28, 30));
  assert.is(s.keepPrefix([...ids.slice(0, 10), 1, 2]), 0);  // 20 back: the ring has overwritten those rows
});

/** A fixture model with config.json changed by `patch`. */
async function patched(patch: Record<string, unknown>, name = 'tiny-gemma3'): Promise<Model> {
  const dir = await dirSource(fixtureModel(name));
  const files: ModelFiles = { ...dir, label: dir.label, open: (n) => dir.open(n),
    text: async (n) => (n === 'config.json' ? JSON.stringify({ ...JSON.parse((await dir.text(n))!), ...patch }) : dir.text(n)) };
  return loadModelFrom(files, { threads: 1 });
}

test("Gemma 2's soft caps where a config sets them: logits → tanh(l / c)·c; attention scores capped too", async () => {
  const ids = oracle<FamilyOracle>('tiny-gemma3.json').logits[0].ids.slice(0, 12);
  const plain = (await patched({})).session().prefill(ids);
  const capped = (await patched({ final_logit_softcapping: 0.5 })).session().prefill(ids);
  let worst = 0;
  plain.forEach((l, i) => { worst = Math.max(worst, Math.abs(capped[i] - Math.tanh(l / 0.5) * 0.5)); });
  assert.ok(worst < 1e-6, `final soft cap off by ${worst}`);
  assert.ok(Math.max(...capped.map(Math.abs)) <= 0.5);
  const attn = (await patched({ attn_logit_softcapping: 0.05 })).session().prefill(ids);
  assert.ok(attn.some((l, i) => Math.abs(l - plain[i]) > 1e-3), 'a tight attention cap changes the logits');
});

test('mistral is llama with a sliding window: the same logits while a query sees every key, others after', async () => {
  const ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 280];
  const llama = (await patched({}, 'stories260K')).session({ prefillChunk: 3 }).prefill(ids, { allLogits: true });
  const mistral = await patched({ model_type: 'mistral', sliding_window: 4 }, 'stories260K');
  assert.equal(mistral.spec.layers.map((k) => k.window), [4, 4, 4, 4, 4]);
  const got = mistral.session({ prefillChunk: 3 }).prefill(ids, { allLogits: true });
  const V = 512, row = (a: Float32Array, t: number) => Array.from(a.subarray(t * V, (t + 1) * V));
  for (let t = 0; t < 4; t++) assert.equal(row(got, t), row(llama, t), `position ${t} sees all ${t + 1} keys`);
  for (let t = 4; t < ids.length; t++) assert.ok(row(got, t).some((x, i) => Math.abs(x - row(llama, t)[i]) > 1e-4), `position ${t} sees only 4`);
});

test.run();

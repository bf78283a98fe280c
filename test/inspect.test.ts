// `tide inspect`: the logit lens of the last layer is the model's logits, and attention rows are
// distributions that reproduce the kernel's attention output (test/e2e/inspect.test.ts opens the HTML page in Chromium).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadModel, OptionError, type Model } from '../src/index.js';
import { inspect, formatInspection } from '../src/inspect/inspect.js';
import { main } from '../src/cli/index.js';
import { firstMismatches, fixtureModel, ROOT, WEIGHTS } from './paths.js';

const OUT = resolve(ROOT, 'test/out');
/** The lens runs the prefill kernel over T rows, the model's logits the decode kernel on one: same sums, other order. */
const LENS_RTOL = 1e-5;

const models = new Map<string, Promise<Model>>();
const load = (dir: string, quantize?: 'q8') => {
  const key = `${dir} ${quantize}`;
  if (!models.has(key)) models.set(key, loadModel(dir, { quantize }));
  return models.get(key)!;
};
const cases = [
  { name: 'stories260K', dir: `${WEIGHTS}/stories260K`, ids: (m: Model) => m.tokenizer!.encode('Once upon a time there was a little girl'), layer: 3, head: 5 },
  { name: 'tiny-qwen2', dir: fixtureModel('tiny-qwen2'), ids: () => [1, 17, 42, 99, 5, 250, 3, 8], layer: 2, head: 5 },
  // A sliding layer (window 8) over 12 positions, Gemma's score scale, and q8 weights (the lens runs on the session's scratch).
  { name: 'tiny-gemma3', dir: fixtureModel('tiny-gemma3'), ids: () => [2, 145, 143, 224, 253, 289, 11, 287, 118, 7, 99, 31], layer: 0, head: 3 },
  { name: 'stories260K q8', dir: `${WEIGHTS}/stories260K`, quantize: 'q8' as const, ids: (m: Model) => m.tokenizer!.encode('Once upon a time'), layer: 1, head: 2 },
];

for (const c of cases) {
  test(`${c.name}: the logit lens of the last layer equals the model's logits at every position`, async () => {
    const m = await load(c.dir, c.quantize);
    const ids = c.ids(m);
    const r = inspect(m, ids, { layer: c.layer, head: c.head, keepLogits: true });
    assert.is(r.lens.length, m.spec.nLayers + 1);
    const want = m.session().prefill(ids, { allLogits: true });
    const bad = firstMismatches(r.lensLogits![m.spec.nLayers], want, (w) => LENS_RTOL * (1 + Math.abs(w)));
    assert.equal(bad, [], bad.join('; '));
    // And an earlier layer's lens is not (the test can tell layers apart).
    assert.ok(firstMismatches(r.lensLogits![m.spec.nLayers - 1], want, (w) => LENS_RTOL * (1 + Math.abs(w))).length > 0);
  });

  test(`${c.name}: attention rows sum to 1, are causal, and weight the values into the kernel's output`, async () => {
    const m = await load(c.dir, c.quantize);
    const ids = c.ids(m);
    const { nHeads, nKvHeads, headDim, kvDim } = m.spec;
    const r = inspect(m, ids, { layer: c.layer, head: c.head });
    assert.is(r.kvHead, Math.floor(c.head / (nHeads / nKvHeads)));
    assert.is(r.layerHeads.length, nHeads);
    assert.equal(r.layerHeads[c.head], r.attention);
    r.attention.forEach((row, t) => {
      const sum = row.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `row ${t} sums to ${sum}`);
      assert.ok(row.every((w, i) => (i > t ? w === 0 : w >= 0)), `row ${t}: ${row}`);
    });
    // The kernel's own output for this head, out[t] = Σ_i a[t,i] · v_i, read through the trace hooks.
    const T = ids.length, qDim = nHeads * headDim;
    let v: Float32Array | undefined, out: Float32Array | undefined;
    const s = m.session({ contextLength: T, prefillChunk: T });
    s.tracer = {
      step: (name, l, t) => {
        if (l === c.layer && name === 'v') v = m.arena.f32(t.ptr, T * kvDim).slice();
        if (l === c.layer && name === 'attn') out = m.arena.f32(t.ptr, T * qDim).slice();
      },
    };
    s.prefill(ids);
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < headDim; d++) {
        let want = 0;
        for (let i = 0; i <= t; i++) want += r.attention[t][i] * v![i * kvDim + r.kvHead * headDim + d];
        const got = out![t * qDim + c.head * headDim + d];
        assert.ok(Math.abs(got - want) < 1e-5 * (1 + Math.abs(want)), `t ${t} d ${d}: kernel ${got}, weights·V ${want}`);
      }
    }
  });
}

test('inspect: a layer or head outside the model is an OptionError naming the option', async () => {
  const m = await load(`${WEIGHTS}/stories260K`);
  assert.throws(() => inspect(m, [1, 2], { layer: m.spec.nLayers, head: 0 }), (e: Error) => e instanceof OptionError && /--layer 5/.test(e.message));
  assert.throws(() => inspect(m, [1, 2], { layer: 0, head: -1 }), (e: Error) => e instanceof OptionError && /--head -1/.test(e.message));
});

test('text tables: one attention row per position and one lens row per layer plus the embedding', async () => {
  const m = await load(fixtureModel('tiny-qwen2'));
  const text = formatInspection(inspect(m, [1, 17, 42], { layer: 0, head: 0 }));
  assert.match(text, /attention weights, layer 0 head 0 \(KV head 0\)/);
  assert.match(text, /^2 #42 +\d\.\d\d +\d\.\d\d +\d\.\d\d$/m);
  for (const row of ['embed', 'layer 0', 'layer 3']) assert.match(text, new RegExp(`^${row} +#\\d+ `, 'm'));
});

test('tide inspect --ids --html writes the page and prints the tables', async () => {
  mkdirSync(OUT, { recursive: true });
  const html = resolve(OUT, 'inspect-cli.html');
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  const silenced = console.error;
  console.error = () => {};
  try {
    await main(['node', 'tide', 'inspect', fixtureModel('tiny-qwen2'), '--ids', '1,17,42', '--layer', '1', '--head', '7', '--html', html]);
  } finally {
    console.log = log;
    console.error = silenced;
  }
  assert.ok(existsSync(html));
  assert.match(lines.join('\n'), /layer 1 head 7 \(KV head 1\)/);
});

test.run();

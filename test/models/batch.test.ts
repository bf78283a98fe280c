// The multi-sequence forward (src/runtime/batch.ts): sequences of different lengths at different positions,
// prefill chunks beside decodes, in one forward, give each sequence the logits it gets alone. They may differ
// only by accumulation order (a T-row GEMM tile against the 1-row GEMV, q8's qgemm from 4 rows against its
// gemv), so the bound is bounds.ts' prefillRtol for the same reason: |batched − alone| ≤ rtol·(1 + |alone|).
// Measured max of |batched − alone| / (1 + |alone|) over these checks, baseline / relaxed SIMD: f32 4.4e-6 /
// 6.1e-6 (stories260K), ≤ 1.2e-6 (tiny-qwen2, tiny-qwen3, tiny-smollm3, tiny-gemma3); bf16 5.7e-6, f16 5.9e-6; q8 7.2e-4 /
// 6.4e-4 (stories260K), ≤ 1.2e-4 (the tiny ones); q4 1.2e-4 / 2.3e-5. Bounds: f32 and 16-bit 1e-5, q8 and q4 3e-3.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, OptionError, ContextOverflowError, type Model } from '../../src/index.js';
import { fixtureModel, WEIGHTS } from '../paths.js';
import { BOUNDS } from './bounds.js';

const MODELS: [string, string][] = [
  ['stories260K', `${WEIGHTS}/stories260K`], ['tiny-qwen2', fixtureModel('tiny-qwen2')],
  ['tiny-qwen3', fixtureModel('tiny-qwen3')], ['tiny-smollm3', fixtureModel('tiny-smollm3')],
  ['tiny-gemma3', fixtureModel('tiny-gemma3')], // sliding-window layers: ring caches of window + 63 rows
];
const PROMPTS = [[1, 5, 9, 20, 33, 7, 8], [1, 40], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]];
const STEPS = [11, 12, 13];

/** The worst |got − want| / (1 + |want|). */
function worstRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  return m;
}

/** Each prompt alone: every position's logits, then STEPS one at a time. */
function alone(m: Model): { prompt: Float32Array; steps: Float32Array[] }[] {
  return PROMPTS.map((p) => {
    const s = m.session();
    const prompt = s.prefill(p, { allLogits: true });
    const steps = STEPS.map((id) => s.step(id).slice());
    s.dispose();
    return { prompt, steps };
  });
}

const cases: [string, string, 'none' | 'q8' | 'q4', number, number][] = [];
for (const [name, dir] of MODELS) for (const q of ['none', 'q8'] as const) for (const threads of [1, 2]) cases.push([name, dir, q, threads, BOUNDS[q].prefillRtol]);
cases.push(['stories260K', `${WEIGHTS}/stories260K`, 'q4', 2, BOUNDS.q8.prefillRtol]);
cases.push(['stories260K-bf16', fixtureModel('stories260K-bf16'), 'none', 2, BOUNDS.none.prefillRtol]);
cases.push(['stories260K-f16', fixtureModel('stories260K-f16'), 'none', 2, BOUNDS.none.prefillRtol]);

for (const [name, dir, quantize, threads, rtol] of cases) {
  test(`${name} ${quantize} (threads ${threads}): prompts of 7, 2 and 13 ids, then decodes, in one forward each, within ${rtol} of each alone`, async () => {
    const m = await loadModel(dir, { quantize, threads });
    m.minParallelWork = 0; // split every op, so 2 threads really share the work
    const want = alone(m), b = m.batch();
    const ss = PROMPTS.map(() => m.session());
    let worst = 0;
    const got = b.forward(PROMPTS.map((ids, i) => ({ session: ss[i], ids, logits: 'all' })));
    got.forEach((g, i) => { worst = Math.max(worst, worstRel(g, want[i].prompt)); });
    for (const [k, id] of STEPS.entries()) {
      const out = b.forward(ss.map((session) => ({ session, ids: [id] })));
      out.forEach((g, i) => { worst = Math.max(worst, worstRel(g, want[i].steps[k])); });
    }
    // A prompt in two chunks beside two decodes: chunk rows give no logits, the last chunk its last row's.
    const fresh = m.session(), [a, c] = [ss[0], ss[2]];
    a.rewind(PROMPTS[0].length + 2); c.rewind(PROMPTS[2].length + 2);
    const mixed = b.forward([{ session: a, ids: [STEPS[2]] }, { session: fresh, ids: PROMPTS[1].slice(0, 1), logits: 'none' }, { session: c, ids: [STEPS[2]] }]);
    assert.equal(mixed.map((x) => x.length), [m.spec.vocabSize, 0, m.spec.vocabSize]);
    const last = b.forward([{ session: fresh, ids: PROMPTS[1].slice(1) }])[0];
    worst = Math.max(worst, worstRel(mixed[0], want[0].steps[2]), worstRel(mixed[2], want[2].steps[2]),
      worstRel(last, want[1].prompt.subarray(m.spec.vocabSize)));
    assert.is(fresh.pos, PROMPTS[1].length);
    assert.equal(ss.map((s) => s.pos), PROMPTS.map((p) => p.length + STEPS.length));
    console.log(`  ${name} ${quantize} t${threads}: max |batched − alone| / (1 + |alone|) = ${worst.toExponential(2)} (bound ${rtol})`);
    assert.ok(worst <= rtol, `${worst} > ${rtol}`);
    await m.dispose();
  });
}

test('a batch refuses what one forward cannot hold, with a typed one-line error', async () => {
  const m = await loadModel(`${WEIGHTS}/stories260K`, { threads: 1 });
  const b = m.batch({ maxTokens: 8 }), s = m.session({ prefillChunk: 4 }), t = m.session({ contextLength: 4 });
  const other = (await loadModel(`${WEIGHTS}/stories260K`)).session();
  const fails = (f: () => unknown, cls: Function, re: RegExp) =>
    assert.throws(f, (e: Error) => e instanceof cls && re.test(e.message) && !e.message.includes('\n'));
  fails(() => b.forward([{ session: m.session(), ids: new Array(9).fill(1) }]), OptionError, /9 rows in 1 sequences; one forward holds 1\.\.8/);
  fails(() => b.forward([{ session: s, ids: [1, 2, 3, 4, 5] }]), OptionError, /5 ids for one session in one forward > its prefillChunk 4/);
  fails(() => b.forward([{ session: s, ids: [1] }, { session: s, ids: [2] }]), OptionError, /a session appears twice/);
  fails(() => b.forward([{ session: other, ids: [1] }]), OptionError, /another model/);
  fails(() => b.forward([{ session: t, ids: [1, 2, 3, 4, 5] }]), ContextOverflowError, /context length 4/);
  fails(() => b.forward([{ session: s, ids: [1] }, { session: t, ids: [600] }]), Error, /token id 600/);
  assert.is(s.pos, 0, 'nothing ran: the failing entry was checked before the forward');
  fails(() => b.forward([{ session: s, ids: [1, 2], logits: 'all', out: new Float32Array(3) }]), OptionError, /out has 3 elements, expected 1024/);
  fails(() => m.batch({ maxTokens: 0 }), OptionError, /maxTokens 0/);
  fails(() => m.batch({ threads: 2 }), OptionError, /batch threads 2 must be an integer in 1\.\.1/);
  b.dispose();
  fails(() => b.forward([{ session: s, ids: [1] }]), OptionError, /after dispose/);
});

test.run();

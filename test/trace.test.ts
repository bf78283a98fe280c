// The trace hooks and `tide generate --trace`: tracing changes no result, every named step is
// reported in order, op counts follow the model's shape, and token probabilities are the softmax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { loadModel, generateIds, type Model } from '../src/index.js';
import { Trace, topProbs } from '../src/inspect/trace.js';
import { main } from '../src/cli/index.js';
import { fixtureModel, oracle, WEIGHTS } from './paths.js';

const greedy = oracle('stories260K-greedy.json');
const models = new Map<string, Promise<Model>>();
const load = (dir: string) => {
  if (!models.has(dir)) models.set(dir, loadModel(dir));
  return models.get(dir)!;
};
const stories = () => load(`${WEIGHTS}/stories260K`);

/** An F32 tensor straight from a safetensors file (8-byte header length, JSON header, data). */
function checkpointF32(file: string, name: string): Float32Array {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const [start, end] = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))[name].data_offsets;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + start, bytes.byteOffset + 8 + n + end));
}

/** Each layer's named steps, in forward order (src/families/llama.ts). */
const LAYER_STEPS = ['attn_norm', 'q', 'k', 'v', 'attn', 'attn_out', 'ffn_inp', 'ffn_norm', 'ffn_act', 'ffn_out', 'l_out'];

test('a traced generation gives llama2.c\'s greedy ids, like an untraced one', async () => {
  const m = await stories();
  const s = m.session();
  const trace = new Trace(m).attach(s);
  const reports: string[] = [];
  const r = generateIds(m, s, greedy.prompt_ids, { maxTokens: 30 }, (id) => reports.push(trace.token(id)));
  assert.equal(r.ids, greedy.greedy_ids.slice(0, 30));
  assert.is(reports.length, 30);
  assert.match(reports[0], /^step 0 \(prefill\): /);
  assert.match(reports[1], /^step 1 \(decode\): /);
});

test('hooks: embed, then each layer\'s steps in order, then result_norm and logits (tiny-qwen2, with q/k/v biases)', async () => {
  const m = await load(fixtureModel('tiny-qwen2'));
  const s = m.session();
  const seen: string[] = [];
  s.tracer = { step: (name, layer) => seen.push(`${layer}:${name}`) };
  s.prefill([1, 5, 9]);
  const want = ['-1:embed'];
  for (let l = 0; l < m.spec.nLayers; l++) want.push(...LAYER_STEPS.map((n) => `${l}:${n}`));
  want.push('-1:result_norm', '-1:logits');
  assert.equal(seen, want);
});

test('the hooked tensors hold the step outputs: the logits are the classifier times result_norm', async () => {
  const m = await stories();
  const s = m.session();
  let resultNorm: Float32Array | undefined;
  s.tracer = { step: (name, _l, t) => { if (name === 'result_norm') resultNorm = m.arena.f32(t.ptr, m.spec.dim).slice(); } };
  const logits = s.prefill([1]);
  // logits = classifier · result_norm, recomputed here in float64 from the checkpoint's tied embedding.
  const W = checkpointF32(`${WEIGHTS}/stories260K/model.safetensors`, 'model.embed_tokens.weight');
  for (const v of [0, 7, 300, 511]) {
    let dot = 0;
    for (let j = 0; j < m.spec.dim; j++) dot += W[v * m.spec.dim + j] * resultNorm![j];
    assert.ok(Math.abs(dot - logits[v]) < 1e-4, `logit ${v}: ${dot} vs ${logits[v]}`);
  }
});

test('summary: op calls follow the model shape (per decode step: 2 norms per layer + 1, 7 matmuls per layer + lm_head)', async () => {
  const m = await stories();
  const s = m.session();
  const trace = new Trace(m).attach(s);
  generateIds(m, s, [1, 403], { maxTokens: 5, stopIds: [] }, (id) => trace.token(id));
  const text = trace.summary();
  const [prefill, decode] = text.split(/^decode: /m);
  const calls = (block: string, op: string) => Number(new RegExp(`^  ${op} +(\\d+) `, 'm').exec(block)?.[1]);
  const L = m.spec.nLayers, steps = 4; // 5 tokens: the first comes from the prefill
  assert.match(decode, /^4 steps, /);
  assert.is(calls(decode, 'rmsnorm'), (2 * L + 1) * steps);
  for (const w of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']) assert.is(calls(decode, `matmul ${w}`), L * steps, w);
  assert.is(calls(decode, 'matmul lm_head'), steps);
  assert.is(calls(decode, 'attention'), L * steps);
  assert.is(calls(prefill, 'embed'), 1);
  assert.match(text, /GFLOP\/s/);
});

test('topProbs: the k largest logits in order (ties: lower id first) with softmax probabilities', () => {
  const logits = Float32Array.from([0.5, 3, -1, 3, 2, 0, 2.5]);
  const top = topProbs(logits, 4);
  assert.equal(top.map((c) => c.id), [1, 3, 6, 4]);
  const z = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
  top.forEach((c) => assert.ok(Math.abs(c.p - Math.exp(logits[c.id]) / z) < 1e-12));
});

test('token(): the reported probability of the greedy token is its softmax over the session\'s logits', async () => {
  const m = await stories();
  const s = m.session();
  const trace = new Trace(m, 3).attach(s);
  const logits = s.prefill([1, 403]);
  const best = topProbs(logits, 3);
  const line = trace.token(best[0].id).split('\n')[0];
  assert.ok(line.includes(`id ${best[0].id} p ${best[0].p.toFixed(4)}`), line);
  assert.ok(line.includes(`top-3: `), line);
});

test('tide generate --trace: a report per generated token on stderr, then the prefill and decode summaries', async () => {
  const err: string[] = [], out: string[] = [];
  const [error, log, write] = [console.error, console.log, process.stdout.write];
  console.error = (s: string) => err.push(String(s));
  console.log = (s: string) => out.push(String(s));
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  try {
    await main(['node', 'tide', 'generate', fixtureModel('tiny-qwen2'), '--prompt-ids', '1,5,9', '--max-tokens', '4', '--trace']);
  } finally {
    [console.error, console.log, process.stdout.write] = [error, log, write];
  }
  const text = err.join('\n');
  const ids = out.join('').trim().split(',').map(Number);
  assert.is(ids.length, 4, out.join(''));
  ids.forEach((id, i) => assert.match(text, new RegExp(`^step ${i} \\((prefill|decode)\\): #${id} id ${id} p [\\d.]+ \\| top-5: `, 'm')));
  assert.match(text, /^prefill: 1 step, /m);
  assert.match(text, /^decode: 3 steps, /m);
  assert.match(text, /^  layer 3 /m);
});

test.run();

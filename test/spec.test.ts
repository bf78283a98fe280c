// config.json → ModelSpec, on the real configs in shared/models/configs and on crafted faults.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { specFromConfig as anySpec, ConfigError, type DecoderSpec } from '../src/index.js';
import { ropeFrequencies, RopeTable } from '../src/families/rope.js';
import { planModel } from '../src/runtime/plan.js';
import { WASM32_MAX_BYTES } from '../src/runtime/arena.js';
import { fixtureConfig, fixtureModel } from './paths.js';

/** The spec of a decoder config. */
const specFromConfig = (c: Record<string, unknown>, file?: string) => anySpec(c, file) as DecoderSpec;
const config = (dir: string) => JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
const real = (name: string) => config(fixtureConfig(name));

test('DeepSeek-R1-Distill-Qwen-1.5B: qwen2, GQA 12/2, untied head, q/k/v biases', () => {
  const s = specFromConfig(real('deepseek-r1-distill-qwen-1.5b'));
  assert.equal([s.modelType, s.dim, s.nLayers, s.nHeads, s.nKvHeads, s.headDim, s.hiddenDim, s.vocabSize],
    ['qwen2', 1536, 28, 12, 2, 128, 8960, 151936]);
  assert.is(s.qkvBias, true);
  assert.is(s.oBias, false);
  assert.is(s.tiedEmbeddings, false);
  assert.is(s.ropes[0].theta, 10000);
});

test('SmolLM2-135M: llama, GQA 9/3, tied embeddings, no biases', () => {
  const s = specFromConfig(real('smollm2-135m'));
  assert.equal([s.modelType, s.dim, s.nHeads, s.nKvHeads, s.headDim, s.kvDim], ['llama', 576, 9, 3, 64, 192]);
  assert.is(s.tiedEmbeddings, true);
  assert.is(s.qkvBias, false);
});

test('Qwen2.5-0.5B-Instruct: tied embeddings, rope_theta 1e6', () => {
  const s = specFromConfig(real('qwen2.5-0.5b-instruct'));
  assert.is(s.tiedEmbeddings, true);
  assert.is(s.ropes[0].theta, 1000000);
});

test('tiny-qwen2: rope_theta read from rope_parameters (transformers ≥ 5)', () => {
  const s = specFromConfig(config(fixtureModel('tiny-qwen2')));
  assert.is(s.ropes[0].theta, 1000000);
  assert.is(s.ropes[0].scaling.type, 'default');
});

test('unsupported model_type lists the supported ones', () => {
  assert.throws(() => specFromConfig({ ...real('smollm2-135m'), model_type: 'mamba' }, 'x/config.json'),
    (e: Error) => e instanceof ConfigError && /x\/config\.json: model_type "mamba" is not supported; supported: llama, mistral, qwen2/.test(e.message));
});

test('unsupported rope_scaling type lists the supported ones', () => {
  assert.throws(() => specFromConfig({ ...real('smollm2-135m'), rope_scaling: { rope_type: 'yarn', factor: 4 } }),
    (e: Error) => e instanceof ConfigError && /rope type "yarn".*supported: default, linear, llama3, longrope/.test(e.message));
});

test('missing and mistyped fields name the field', () => {
  const c = real('smollm2-135m');
  delete c.hidden_size;
  assert.throws(() => specFromConfig(c), (e: Error) => e instanceof ConfigError && /missing field hidden_size/.test(e.message));
  assert.throws(() => specFromConfig({ ...real('smollm2-135m'), num_hidden_layers: '30' }),
    (e: Error) => e instanceof ConfigError && /num_hidden_layers must be a positive integer/.test(e.message));
  assert.throws(() => specFromConfig({ ...real('smollm2-135m'), num_key_value_heads: 4 }),
    (e: Error) => e instanceof ConfigError && /not a multiple of num_key_value_heads 4/.test(e.message));
  assert.throws(() => specFromConfig({ ...real('smollm2-135m'), eos_token_id: [2, 'x'] }),
    (e: Error) => e instanceof ConfigError && /eos_token_id/.test(e.message));
});

test('eos_token_id: an int or a list', () => {
  assert.equal(specFromConfig({ ...real('smollm2-135m'), eos_token_id: 7 }).eosTokenIds, [7]);
  assert.equal(specFromConfig({ ...real('smollm2-135m'), eos_token_id: [7, 8] }).eosTokenIds, [7, 8]);
});

test('RoPE frequencies: default, linear, and llama3 scaling as transformers computes them', () => {
  const base = { ...real('smollm2-135m'), head_dim: 8, rope_theta: 10000 };
  const def = ropeFrequencies(specFromConfig(base).ropes[0]);
  assert.equal(Array.from(def), [1, 0.1, 0.01, 0.001]);
  const lin = ropeFrequencies(specFromConfig({ ...base, rope_scaling: { rope_type: 'linear', factor: 4 } }).ropes[0]);
  assert.equal(Array.from(lin), [0.25, 0.025, 0.0025, 0.00025]);
  // llama3 with original context 8192, low 1, high 4, factor 8: wavelengths 2π/f.
  // 2π (< 2048: kept), 62.8 (kept), 628 (kept), 6283 (between 2048 and 8192: blended).
  const l3 = ropeFrequencies(specFromConfig({ ...base, rope_scaling: {
    rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }).ropes[0]);
  const smooth = (8192 / (2 * Math.PI / 0.001) - 1) / 3;
  assert.equal(Array.from(l3.slice(0, 3)), [1, 0.1, 0.01]);
  assert.ok(Math.abs(l3[3] - ((1 - smooth) * 0.001 / 8 + smooth * 0.001)) < 1e-18);
});


// Published parameter counts (the model cards' figures), against the weight tables built from the real
// configs alone. MiniLM's card counts BERT's pooler (384² + 384), which sentence-transformers never runs;
// EmbeddingGemma's 308M counts its two Dense modules (2 · 768 · 3072), which live outside the transformer.
const PUBLISHED: [string, number, number][] = [
  ['deepseek-r1-distill-qwen-1.5b', 1.78e9, 0],
  ['qwen2.5-0.5b-instruct', 494e6, 0],
  ['smollm2-135m', 135e6, 0],
  ['phi-4-mini-instruct', 3.84e9, 0],
  ['smollm3-3b', 3.08e9, 0],
  ['qwen3-embedding-0.6b', 596e6, 0],
  ['embeddinggemma-300m', 308e6, 2 * 768 * 3072],
  ['all-minilm-l6-v2', 22.7e6, 384 * 384 + 384],
];

for (const [name, published, outside] of PUBLISHED) {
  test(`${name}: parameters from config.json alone match the published ${published / 1e6}M within 0.5%`, () => {
    const plan = planModel(real(name), `${name}/config.json`);
    const ratio = (plan.parameters + outside) / published;
    assert.ok(Math.abs(ratio - 1) < 0.005, `${plan.parameters.toLocaleString('en-US')} (+${outside}) is ${ratio.toFixed(4)}× the published count`);
  });
}

test('which real models fit in wasm32 at each weight layout', () => {
  const fits = Object.fromEntries(PUBLISHED.map(([name]) => {
    const { weightBytes } = planModel(real(name), name);
    return [name, (['none', 'q8', 'q4'] as const).filter((q) => weightBytes[q] <= WASM32_MAX_BYTES)];
  }));
  assert.equal(fits['phi-4-mini-instruct'], ['q4']);   // 3.84 B: bf16 7.1 GiB, q8 4.0 GiB (just over)
  assert.equal(fits['smollm3-3b'], ['q8', 'q4']);      // 3.08 B: bf16 5.7 GiB
  assert.equal(fits['qwen3-embedding-0.6b'], ['none', 'q8', 'q4']);
});

test('phi3 longrope: short factors up to original_max_position_embeddings, long past it, both × the attention factor', () => {
  const s = specFromConfig(config(fixtureModel('tiny-phi3')));
  const r = s.ropes[0];
  assert.equal([r.rotDim, s.headDim, r.scaling.type], [12, 16, 'longrope']);
  if (r.scaling.type !== 'longrope') return;
  // max_position_embeddings 8192 / original 4096: factor 2, attention factor √(1 + ln 2 / ln 4096).
  assert.ok(Math.abs(r.scaling.attentionFactor - Math.sqrt(1 + Math.log(2) / Math.log(4096))) < 1e-15);
  const table = new RopeTable(r), cos = new Float32Array(6), sin = new Float32Array(6);
  const expect = (pos: number, factors: number[]) => factors.map((f, i) => Math.fround(Math.cos(pos / (f * Math.pow(10000, (2 * i) / 12))) * (r.scaling as { attentionFactor: number }).attentionFactor));
  table.angles(4095, 1, cos, sin); // the last position within the original context
  assert.equal(Array.from(cos), expect(4095, r.scaling.shortFactor));
  table.angles(4096, 1, cos, sin); // one past it: transformers switches to the long factors
  assert.equal(Array.from(cos), expect(4096, r.scaling.longFactor));
});

test('Phi-4-mini as published: rope_scaling with a top-level partial_rotary_factor and original_max_position_embeddings', () => {
  const s = specFromConfig(real('phi-4-mini-instruct'));
  const r = s.ropes[0];
  assert.equal([s.modelType, s.headDim, r.rotDim, r.scaling.type, s.tiedEmbeddings], ['phi3', 128, 96, 'longrope', true]);
  if (r.scaling.type === 'longrope') assert.equal([r.scaling.shortFactor.length, r.scaling.longFactor.length, r.scaling.originalMaxPositions], [48, 48, 4096]);
});

test('Gemma 3 and SmolLM3 layer kinds: five sliding layers to one full, each with its RoPE; no RoPE on every 4th', () => {
  const g = specFromConfig(config(fixtureModel('tiny-gemma3')));
  assert.equal(g.layers.map((k) => k.window), [8, 8, 8, 8, 8, 0]);
  assert.equal(g.ropes.map((r) => r.theta), [1e6, 1e4]);
  assert.equal(g.layers.map((k) => k.rope), [1, 1, 1, 1, 1, 0]);
  assert.equal([g.embedScale, g.attnScale, g.normPlusOne, g.act], [8, 1 / Math.sqrt(24), true, 'gelu_tanh']);
  const real3 = specFromConfig(real('smollm3-3b'));
  assert.equal(real3.layers.filter((k) => k.rope < 0).length, 9);
  assert.equal(real3.layers.slice(0, 4).map((k) => k.rope), [0, 0, 0, -1]);
});

test.run();

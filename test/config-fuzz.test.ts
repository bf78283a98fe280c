// Fuzz for config.json: 10 000 seeded mutations of the real configs in test/fixtures/configs (see
// test/fixtures/README.md). Each goes through the loader's first stage (parse, family, spec, the memory
// plan from the spec's dims) and, where that passes, the weight table. Each must pass or be refused with
// a one-line TideError: no other exception, no hang, and nothing large allocated (heap growth measured).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TideError } from '../src/errors.js';
import type { WeightEntry } from '../src/families/family.js';
import { LIST_LIMITS, SIZE_LIMITS } from '../src/families/config.js';
import { parseJson } from '../src/formats/json.js';
import { boundShape, planConfig } from '../src/runtime/load.js';
import { leastBytesPerParameter, type Quantize } from '../src/runtime/weights.js';
import { FIXTURES, rng as seededRandom } from './paths.js';

const SEED = 0xc0f19;
const CASES = 10_000;
const FILE = 'fuzz/config.json';

const DIR = join(FIXTURES, 'configs');
const CONFIGS: string[] = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory())
  .map((d) => readFileSync(join(DIR, d.name, 'config.json'), 'utf8'));

/** Every field a family reads, so mutations reach each reader. */
const FIELDS = [...Object.keys(SIZE_LIMITS), ...Object.keys(LIST_LIMITS),
  'model_type', 'hidden_act', 'hidden_activation', 'rope_scaling', 'rope_parameters', 'rope_theta', 'partial_rotary_factor',
  'tie_word_embeddings', 'attention_bias', 'mlp_bias', 'use_sliding_window', 'rms_norm_eps', 'layer_norm_eps', 'pad_token_id',
  'position_embedding_type', 'query_pre_attn_scalar', 'attn_logit_softcapping', 'final_logit_softcapping',
  'use_bidirectional_attention', 'rope_local_base_freq', 'bos_token_id', 'rope_type', 'factor', 'low_freq_factor',
  'high_freq_factor', 'attention_factor', 'full_attention', 'sliding_attention'];
const MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma3_text', 'phi3', 'smollm3', 'bert', 'roberta', 'gpt2', 'toString', '__proto__'];
const ROPE_TYPES = ['default', 'linear', 'llama3', 'longrope', 'yarn', 'dynamic'];

const DEEP = '<deep>';
const DEEP_TEXT = '['.repeat(5000) + ']'.repeat(5000);

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

/** Values that break assumptions: signs, non-integers, past-limit and power-of-two edges, wrong types. */
function weird(rng: Rng): unknown {
  const limit = pick(rng, [...Object.values(SIZE_LIMITS), ...Object.values(LIST_LIMITS)]);
  const list = (n: number) => Array.from({ length: n }, () => pick(rng, [0, 1, 1.5, 'full_attention', 'sliding_attention', null]));
  return pick<() => unknown>(rng, [
    () => pick(rng, [-1, 0, 1, 2, 3, 4, 6, 7, 8, 64, 0.5, 1.5, -0, 1e-300, 1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e8]),
    () => pick(rng, [limit - 1, limit, limit + 1, limit * 2]),
    () => pick(rng, [null, true, false, '', '64', 'silu', 'gelu', 'a\nb', 'x'.repeat(10_000), {}, [], [1, 2], { rope_type: 'longrope' }]),
    () => pick(rng, MODEL_TYPES),
    () => pick(rng, ROPE_TYPES),
    () => list(pick(rng, [1, 2, 3, 24, 36, 48, 1024, 1025, 5000])),
    () => DEEP, // replaced by 5000 nested lists in the text: a value shown in an error must not overflow the stack
  ])();
}

/** One edit of a config object: set, delete or nest a field, at the top or inside its rope parameters. */
function mutate(rng: Rng, c: Record<string, unknown>): void {
  const target = (() => {
    const nested = ['rope_scaling', 'rope_parameters'].map((k) => c[k]).filter((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    const inner = nested.flatMap((v) => Object.values(v as object)).filter((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    return pick(rng, [c, c, c, ...nested, ...inner]) as Record<string, unknown>;
  })();
  const key = rng() < 0.8 ? pick(rng, FIELDS) : pick(rng, Object.keys(target).concat('model_type'));
  const r = rng();
  if (r < 0.15) delete target[key];
  else if (r < 0.25) target[key] = { rope_type: pick(rng, ROPE_TYPES), factor: weird(rng), short_factor: weird(rng), long_factor: weird(rng), original_max_position_embeddings: weird(rng) };
  else target[key] = weird(rng);
}

function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test(`fuzz: ${CASES} seeded config.json mutations each plan or throw a one-line TideError, allocating nothing large (seed ${SEED})`, () => {
  const rng = seededRandom(SEED);
  const outcome = { planned: 0, refused: 0, tables: 0 };
  let slowest = { ms: 0, at: '' }, peakHeap = 0, biggestTable = 0;
  forceGc();
  const heap0 = getHeapStatistics().used_heap_size;
  for (let i = 0; i < CASES; i++) {
    const config = JSON.parse(CONFIGS[i % CONFIGS.length]) as Record<string, unknown>;
    for (let k = 1 + int(rng, 3); k > 0; k--) mutate(rng, config);
    const quantize = pick<Quantize>(rng, ['none', 'none', 'q8', 'q4']);
    const where = `case ${i} (seed ${SEED})`;
    const t0 = performance.now();
    try {
      // the loader's first stage, as loadCheckpoint runs it, from the text a file would hold
      const { family, spec, budget } = planConfig(parseJson(JSON.stringify(config).replaceAll(`"${DEEP}"`, DEEP_TEXT), FILE), FILE, { quantize });
      outcome.planned++;
      // what it lets through: a table whose matrices the plan counted at least (so it refused nothing the exact plan would take)
      const table = (family.weights as (s: typeof spec, has: (hf: string) => boolean) => WeightEntry[])(spec, (hf) => hf.startsWith('model.') || !hf.includes('.'));
      const parameters = table.filter((e) => e.shape.length === 2).reduce((sum, e) => sum + boundShape(e).reduce((a, b) => a * b, 1), 0);
      assert.ok(parameters * leastBytesPerParameter(quantize) <= budget, `${where}: the plan passed ${parameters} parameters over the budget`);
      biggestTable = Math.max(biggestTable, table.length);
      outcome.tables++;
    } catch (e) {
      assert.ok(e instanceof TideError, `${where}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.not.match(e.message, /[\r\n]/, `${where}: message is not one line: ${e.message}`);
      assert.ok(e.message.length < 300, `${where}: message of ${e.message.length} characters: ${e.message.slice(0, 300)}`);
      outcome.refused++;
    }
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest = { ms, at: where };
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size - heap0);
  }
  console.log(`  ${JSON.stringify(outcome)}; largest table ${biggestTable} entries; slowest ${slowest.ms.toFixed(1)} ms (${slowest.at}); peak heap growth ${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
  // both outcomes must occur, or the mutations are not reaching the checks
  assert.ok(outcome.planned > 500 && outcome.refused > 500, JSON.stringify(outcome));
  assert.ok(slowest.ms < 500, `slowest case ${slowest.ms} ms: ${slowest.at}`);
  assert.ok(peakHeap < 64 * 2 ** 20, `heap grew ${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
});

test.run();

// Runaway chat templates (endless loops, recursion, output that doubles) fail fast with a TemplateError
// naming the template's file; real templates stay far inside the same limits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChatTemplate, TEMPLATE_LIMITS, type ChatMessage } from '../src/text/chat.js';
import { TemplateError } from '../src/errors.js';
import { TextTokenizer } from '../src/text/tokenizer.js';
import { fixtureFiles } from './fixture-tokenizers.js';
import { oracle } from './paths.js';

const FILE = 'models/x/chat_template.jinja';
const hi: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/** Render `source` with the default limits; the TemplateError it fails with, and how long that took. */
function runaway(source: string): { error: TemplateError; ms: number } {
  const t0 = performance.now();
  let error: unknown;
  try {
    new ChatTemplate({ chat_template: source }, FILE).render(hi);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  assert.instance(error, TemplateError, `rendered: ${source}`);
  const { message } = error as TemplateError;
  assert.ok(message.startsWith(`${FILE}: chat template "default" failed: `), message);
  return { error: error as TemplateError, ms };
}

// Each of these would run for minutes or take gigabytes unbounded; on a busy 2-core machine they end in
// about a second at most (the assertion allows 10 s for slower ones).
const RUNAWAYS: [string, string, RegExp][] = [
  ['a loop over range(10^8)', '{% for i in range(100000000) %}x{% endfor %}', /budget of 1000000 steps/],
  ['nested loops, 10^8 iterations', '{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}', /budget of 1000000 steps/],
  ['a recursive macro with no end', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}', /nested deeper than 500/],
  ['a macro calling itself twice, 2^40 calls', '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}', /budget of 1000000 steps/],
  ['a string doubled 64 times', '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}', /made a string of 33554432 characters, over the bound of 16777216/],
  ['a list doubled 64 times', '{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}', /made a list of 1048576 items/],
  ['a 1 MiB string printed 20 times', '{% set ns = namespace(s="x") %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{% for i in range(20) %}{{ ns.s }}{% endfor %}', /printed more than 16777216 characters/],
];

for (const [what, source, message] of RUNAWAYS) {
  test(`runaway: ${what} fails fast`, () => {
    const { error, ms } = runaway(source);
    assert.match(error.message, message);
    assert.ok(ms < 10_000, `took ${ms.toFixed(0)} ms`);
  });
}

test('the bounds are the caller\'s: a loop of 100 (~1 200 steps: 100 for range, 10 an iteration, the body) fits 2000, not 1000', () => {
  const t = new ChatTemplate({ chat_template: '{% for i in range(100) %}.{% endfor %}' });
  const limits = { ...TEMPLATE_LIMITS, maxSteps: 2000 };
  assert.is(t.render(hi, { limits }), '.'.repeat(100));
  assert.throws(() => t.render(hi, { limits: { ...limits, maxSteps: 1000 } }), /budget of 1000 steps/);
  assert.throws(() => t.render(hi, { limits: { ...TEMPLATE_LIMITS, maxChars: 99 } }), /printed more than 99 characters/);
});

// Measured with the fixtures' templates: the oracle cases take at most 236 steps and nest 10 deep; 100
// messages of 1000 characters take 3 100 (Phi-4-mini) to 6 800 steps (Qwen3), nest 13 deep at most and
// print ~100 000 characters. So real templates stay within a hundredth of the step and size limits and
// a twentieth of the depth: 1/150 of the steps, 1/38 of the depth at most.
const TIGHT = { maxSteps: TEMPLATE_LIMITS.maxSteps / 100, maxChars: TEMPLATE_LIMITS.maxChars / 100, maxDepth: TEMPLATE_LIMITS.maxDepth / 20 };
const long: ChatMessage[] = Array.from({ length: 100 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'word '.repeat(200) }));
const FIXTURES = ['gemma3', 'llama3.2', 'qwen3', 'smollm3', 'phi4-mini', 'llama3', 'deepseek-v3', 'deepseek-r1-distill-qwen'];

test('real templates render the oracle cases and a 100-message conversation within a hundredth of the limits', async () => {
  const cases = [...oracle('chat-templates.json'), ...oracle('chat-templates-2.json').cases];
  for (const name of FIXTURES) {
    const files = fixtureFiles(name);
    const config = JSON.parse((await files.text('tokenizer_config.json'))!);
    const t = ChatTemplate.fromFiles(config, await files.text('chat_template.jinja'))!;
    for (const c of cases.filter((x: { template: string }) => x.template === name)) {
      t.render(c.messages, { addGenerationPrompt: c.add_generation_prompt, tools: c.tools ?? undefined, limits: TIGHT });
    }
    assert.ok(t.render(long, { limits: TIGHT }).length > 100_000, name);
  }
});

test('a runaway template loaded from a model directory names its file', async () => {
  const files = fixtureFiles('qwen3');
  const tok = await TextTokenizer.read({ ...files, text: async (f) => (f === 'chat_template.jinja' ? '{% for i in range(100000000) %}x{% endfor %}' : files.text(f)) });
  assert.throws(() => ChatTemplate.of(tok!)!.render(hi), (e: Error) => e instanceof TemplateError && e.message.startsWith(`${files.label}/chat_template.jinja: chat template "default" failed: ran past its budget`));
});

test.run();

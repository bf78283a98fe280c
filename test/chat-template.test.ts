// Chat templates: every case of the oracle (transformers' jinja2 renderer) renders exactly; errors are clear.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ChatTemplate, type ChatMessage } from '../src/text/chat.js';
import { OptionError, TemplateError } from '../src/errors.js';
import { fixtureTokenizer, oracle } from './paths.js';

interface Case { template: string; messages: ChatMessage[]; add_generation_prompt: boolean; expected: string }
const config = (name: string) => JSON.parse(readFileSync(resolve(fixtureTokenizer(name), 'tokenizer_config.json'), 'utf8'));
const cases = oracle<Case[]>('chat-templates.json');

for (const [i, c] of cases.entries()) {
  test(`oracle ${i}: ${c.template}, ${c.messages.map((m) => m.role).join('+')}, add_generation_prompt=${c.add_generation_prompt}`, () => {
    const t = ChatTemplate.fromConfig(config(c.template), c.template)!;
    assert.is(t.render(c.messages, { addGenerationPrompt: c.add_generation_prompt }), c.expected);
  });
}

test('R1-Distill drops the reasoning of earlier assistant turns', () => {
  const t = ChatTemplate.fromConfig(config('deepseek-r1-distill-qwen'))!;
  const out = t.render([{ role: 'user', content: 'a' }, { role: 'assistant', content: '<think>\nhmm\n</think>\n\nB' }, { role: 'user', content: 'c' }]);
  assert.not.ok(out.includes('hmm'), out);
  assert.ok(out.includes('B'), out);
});

test('no chat_template: fromConfig gives undefined', () => {
  assert.is(ChatTemplate.fromConfig(config('llama2')), undefined);
});

test('a list of named templates; tools pick "tool_use"; extra options and special tokens reach the template as variables', () => {
  const t = new ChatTemplate({
    bos_token: { __type: 'AddedToken', content: '<B>' },
    chat_template: [{ name: 'default', template: '{{ bos_token }}{{ messages[0].content }}{{ flag }}' },
      { name: 'tool_use', template: '{{ tools[0].name }}:{{ messages[0].content }}' }],
  });
  const m: ChatMessage[] = [{ role: 'user', content: 'hi' }];
  assert.is(t.render(m, { flag: '!' }), '<B>hi!');
  assert.is(t.render(m, { tools: [{ name: 'search' }] }), 'search:hi');
  assert.throws(() => t.render(m, { templateName: 'rag' }), (e: Error) => e instanceof TemplateError && /no template named "rag"/.test(e.message));
});

test('raise_exception surfaces as a TemplateError with its message', () => {
  const t = new ChatTemplate({ chat_template: "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok" }, 'x/tokenizer_config.json');
  assert.is(t.render([{ role: 'user', content: 'a' }]), 'ok');
  assert.throws(() => t.render([{ role: 'system', content: 'a' }]),
    (e: Error) => e instanceof TemplateError && e.message === 'x/tokenizer_config.json: chat template raised: Conversation must start with user');
});

test('bad messages and bad templates are rejected with one clear error each', () => {
  const t = new ChatTemplate({ chat_template: '{{ messages[0].content }}' });
  const isErr = (cls: Function, re: RegExp) => (e: Error) => e instanceof cls && re.test(e.message);
  assert.throws(() => t.render([]), isErr(OptionError, /non-empty/));
  assert.throws(() => t.render([{ role: 'bot', content: 'a' }]), isErr(OptionError, /messages\[0\]\.role "bot"/));
  assert.throws(() => t.render([{ role: 'user', content: 3 as unknown as string }]), isErr(OptionError, /messages\[0\]\.content/));
  assert.throws(() => new ChatTemplate({ chat_template: 5 }), isErr(TemplateError, /chat_template: expected a string/));
  assert.throws(() => new ChatTemplate({ chat_template: '{% if %}' }).render([{ role: 'user', content: 'a' }]), isErr(TemplateError, /does not parse/));
});

test.run();

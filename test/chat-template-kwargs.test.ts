// Template variables beyond messages and tools (enable_thinking, xml_tools, date_string, ...), strftime_now
// and jinja2's way of printing values: chat-template-kwargs.json (jinja2 in transformers' environment)
// rendered exactly, through ChatTemplate and through a loaded model's generate and chat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChatTemplate, type ChatMessage } from '../src/text/chat.js';
import { OptionError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { dirSource } from '../src/node/dir-source.js';
import type { ModelFiles } from '../src/sources/sources.js';
import { fixtureFiles } from './fixture-tokenizers.js';
import { oracle, WEIGHTS } from './paths.js';

interface Case {
  template?: string; source?: string; messages: ChatMessage[]; tools: unknown[] | null;
  kwargs: Record<string, unknown>; now: string; expected: string;
}
const { cases } = oracle<{ cases: Case[] }>('chat-template-kwargs.json');
/** The oracle's `now` is a local time without a zone, which is how Date reads such a string. */
const clockOf = (c: Case) => () => new Date(c.now);

async function fixtureTemplate(name: string): Promise<ChatTemplate> {
  const files = fixtureFiles(name);
  const config = JSON.parse((await files.text('tokenizer_config.json'))!);
  return ChatTemplate.fromFiles(config, await files.text('chat_template.jinja'), `${files.label}/`)!;
}

for (const [i, c] of cases.entries()) {
  const what = c.template ? `${c.template} with ${JSON.stringify(c.kwargs).slice(0, 60)}` : c.source!.slice(0, 60);
  test(`oracle ${i}: ${what}`, async () => {
    const t = c.template ? await fixtureTemplate(c.template) : new ChatTemplate({ chat_template: c.source });
    assert.is(t.render(c.messages, { ...c.kwargs, tools: c.tools ?? undefined, clock: clockOf(c) }), c.expected);
  });
}

/** stories260K with the chat template of a fixture as its chat_template.jinja (the loader reads it from there). */
async function storiesWithTemplate(name: string) {
  const model = await dirSource(`${WEIGHTS}/stories260K`);
  const jinja = name === 'smollm3' ? await fixtureFiles(name).text('chat_template.jinja') : JSON.parse((await fixtureFiles(name).text('tokenizer_config.json'))!).chat_template;
  const files: ModelFiles = { ...model, text: async (f) => (f === 'chat_template.jinja' ? jinja : model.text(f)) };
  return loadModel(files, { threads: 1 });
}
const oracleCase = (template: string, kwargs: object) =>
  cases.find((c) => c.template === template && c.messages.length === 1 && !c.tools && JSON.stringify(c.kwargs) === JSON.stringify(kwargs))!;

test('generate: chat options\' extra keys reach the template; the prompt is the oracle\'s, encoded without special tokens', async () => {
  const model = await storiesWithTemplate('smollm3');
  try {
    const c = oracleCase('smollm3', { enable_thinking: false });
    const r = await model.complete(c.messages, { maxTokens: 1, temperature: 0, chat: { ...c.kwargs, clock: clockOf(c) } });
    assert.equal(r.promptIds, model.tokenizer!.encode(c.expected, { addSpecialTokens: false }));
  } finally {
    await model.dispose();
  }
});

test('chat: chat_template_kwargs reach the template (Qwen3\'s empty think block); tide\'s own options are refused there', async () => {
  const model = await storiesWithTemplate('qwen3');
  try {
    const c = oracleCase('qwen3', { enable_thinking: false });
    const ask = (kwargs?: Record<string, unknown>) => model.chat({ messages: c.messages, max_tokens: 1, temperature: 0, chat_template_kwargs: kwargs });
    const withKwargs = await ask(c.kwargs), without = await ask();
    assert.is(withKwargs.usage.prompt_tokens, model.tokenizer!.encode(c.expected, { addSpecialTokens: false }).length);
    assert.is(without.usage.prompt_tokens, model.tokenizer!.encode(c.expected.replace('<think>\n\n</think>\n\n', ''), { addSpecialTokens: false }).length);
    const refused = (kwargs: unknown, re: RegExp) => assert.throws(() => ask(kwargs as Record<string, unknown>), (e: Error) => e instanceof OptionError && re.test(e.message));
    refused({ limits: { maxSteps: 1e12 } }, /^chat_template_kwargs\.limits: a chat option, not a template variable$/);
    refused({ clock: 0 }, /^chat_template_kwargs\.clock: /);
    refused(['enable_thinking'], /^chat_template_kwargs: expected an object of template variables/);
  } finally {
    await model.dispose();
  }
});

test.run();

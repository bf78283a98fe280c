// Every case of chat-templates-2.json (transformers 5.18's renderer on the real Gemma 3, Llama 3.2,
// Phi-4-mini, SmolLM3 and Qwen3 templates) renders exactly, on the oracle's day; for Gemma 3, Llama 3.2
// and Qwen3 the prompt encodes to the oracle's ids with the real tokenizer.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChatTemplate, type ChatMessage } from '../src/text/chat.js';
import { TextTokenizer } from '../src/text/tokenizer.js';
import { fixtureFiles } from './fixture-tokenizers.js';
import { oracle } from './paths.js';

interface Case {
  template: string; messages: ChatMessage[]; add_generation_prompt: boolean; tools: unknown[] | null;
  kwargs: Record<string, unknown>; special_tokens: Record<string, string>; expected: string; ids?: number[];
}
const { rendered_on, cases } = oracle<{ rendered_on: string; cases: Case[] }>('chat-templates-2.json');
// Llama 3.2 and SmolLM3 print strftime_now's date: the clock is set to noon (local) of the day the oracle was made.
const [y, m, d] = rendered_on.split('-').map(Number);
const clock = () => new Date(y, m - 1, d, 12);

/** The template as a model directory's files give it (chat_template.jinja included), and the tokenizer when there is one. */
async function load(name: string): Promise<{ template: ChatTemplate; tokenizer?: TextTokenizer }> {
  const files = fixtureFiles(name);
  const tokenizer = await TextTokenizer.read(files);
  if (tokenizer) return { template: ChatTemplate.of(tokenizer)!, tokenizer };
  const config = JSON.parse((await files.text('tokenizer_config.json'))!);
  return { template: ChatTemplate.fromFiles(config, await files.text('chat_template.jinja'), `${files.label}/`)! };
}
const loaded = new Map<string, ReturnType<typeof load>>();
const get = (name: string) => { if (!loaded.has(name)) loaded.set(name, load(name)); return loaded.get(name)!; };

test('the oracle covers the five templates, ids for three of them', () => {
  assert.equal([...new Set(cases.map((c) => c.template))], ['gemma3', 'llama3.2', 'phi4-mini', 'smollm3', 'qwen3']);
  assert.equal([...new Set(cases.filter((c) => c.ids).map((c) => c.template))], ['gemma3', 'llama3.2', 'qwen3']);
});

for (const [i, c] of cases.entries()) {
  const what = `${c.template}, ${c.messages.map((x) => x.role).join('+')}${c.tools ? ' + tools' : ''}`;
  test(`oracle ${i}: ${what} renders exactly${c.ids ? ' and encodes to its ids' : ''}`, async () => {
    const { template, tokenizer } = await get(c.template);
    const text = template.render(c.messages, { ...c.kwargs, addGenerationPrompt: c.add_generation_prompt, tools: c.tools ?? undefined, clock });
    assert.is(text, c.expected);
    if (!c.ids) return;
    // apply_chat_template encodes without special tokens: the template writes BOS itself.
    const ids = tokenizer!.encode(text, { addSpecialTokens: false });
    const at = ids.findIndex((id, j) => id !== c.ids![j]);
    assert.equal(ids, c.ids, `first difference at ${at}: want ${c.ids[at]} got ${ids[at]} (${ids.length} vs ${c.ids.length} ids)`);
  });
}

test('each special token transformers passed reaches the template with its text; unset ones are undefined', async () => {
  for (const name of new Set(cases.map((c) => c.template))) {
    const { special_tokens } = cases.find((c) => c.template === name)!;
    const files = fixtureFiles(name);
    const config = JSON.parse((await files.text('tokenizer_config.json'))!);
    const names = [...new Set([...Object.keys(special_tokens), 'bos_token', 'unk_token'])];
    const probe = new ChatTemplate({ ...config, chat_template: names.map((k) => `{{ ${k} if ${k} is defined else '-' }}`).join('|') });
    const want = names.map((k) => special_tokens[k] ?? '-').join('|');
    assert.is(probe.render([{ role: 'user', content: 'x' }]), want, name);
  }
});

test('a date other than the oracle\'s shows in the Llama 3.2 and SmolLM3 prompts (the clock is what they print)', async () => {
  const other = () => new Date(2025, 0, 2, 12);
  const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }];
  assert.match((await get('llama3.2')).template.render(messages, { clock: other }), '\nToday Date: 02 Jan 2025\n');
  assert.match((await get('smollm3')).template.render(messages, { clock: other }), '\nToday Date: 02 January 2025\n');
});

test.run();

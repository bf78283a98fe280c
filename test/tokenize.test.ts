// Every case of the tokenize oracle (Hugging Face `tokenizers`, Rust) encodes to exactly its ids with
// TextTokenizer, and decodes back to the text (all four tokenizers are lossless on these strings).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TextTokenizer } from '../src/text/tokenizer.js';
import { oracle, tokenizerText } from './paths.js';

interface Case { tokenizer: string; text: string; ids: number[] }

// The oracle's tokenizer names are folders of test/fixtures/tokenizers (tokenizer.json gzipped).
const tokenizers = new Map<string, TextTokenizer>();
const load = (name: string) => {
  if (!tokenizers.has(name)) {
    const { json, config } = tokenizerText(name);
    tokenizers.set(name, TextTokenizer.parse(json, config, `${name}/tokenizer.json`));
  }
  return tokenizers.get(name)!;
};

for (const [i, c] of oracle<Case[]>('tokenize.json').entries()) {
  test(`oracle ${i}: ${c.tokenizer} ${JSON.stringify(c.text.slice(0, 30))}`, () => {
    const tok = load(c.tokenizer);
    const ids = tok.encode(c.text);
    const at = ids.findIndex((id, j) => id !== c.ids[j]);
    assert.equal(ids, c.ids, `first difference at ${at}: want ${c.ids[at]} got ${ids[at]} (${ids.length} vs ${c.ids.length} ids)`);
    assert.is(tok.decode(ids), c.text);
  });
}

test('decoding no ids is the empty string', () => {
  assert.is(load('llama2').decode([]), '');
});

test('addSpecialTokens false leaves out Llama-2\'s BOS', () => {
  assert.equal(load('llama2').encode('Hello world', { addSpecialTokens: false }), [15043, 3186]);
});

test.run();

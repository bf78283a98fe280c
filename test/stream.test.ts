// TextStream releases text like transformers' TextStreamer and never a partial character; StopMatcher
// never releases a stop string. Ids come from the tokenize oracle, so the whole text is known.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { StopMatcher, TextStream } from '../src/text/stream.js';
import { TextTokenizer } from '../src/text/tokenizer.js';
import { oracle, ROOT, tokenizerDir } from './paths.js';

const read = (dir: string, f: string) => readFileSync(resolve(dir, f), 'utf8');
const tokenizer = (dir: string) => TextTokenizer.parse(read(dir, 'tokenizer.json'), read(dir, 'tokenizer_config.json'), dir);
const llama2 = tokenizer(tokenizerDir('llama2'));
const bytes = tokenizer(resolve(ROOT, 'test/fixtures/tiny-chatml'));
const cases = oracle<{ tokenizer: string; text: string; ids: number[] }[]>('tokenize.json').filter((c) => c.tokenizer === 'llama2');

function pieces(tok: TextTokenizer, ids: number[], context: number[] = []): string[] {
  const s = new TextStream(tok, context);
  return [...ids.map((id) => s.push(id)), s.flush()];
}

for (const c of cases) {
  test(`llama2 ${JSON.stringify(c.text.slice(0, 24))}: pieces join to the text, each ends at a word or line`, () => {
    const ps = pieces(llama2, c.ids);
    assert.is(ps.join(''), c.text);
    for (const p of ps.slice(0, -1)) {
      assert.not.ok(p.includes('\uFFFD'), JSON.stringify(p));
      if (p) assert.ok(/[ \n]$/.test(p), `piece ${JSON.stringify(p)} does not end at a space or newline`);
    }
  });
}

test('byte-level tokens that split a character: nothing until the character is whole', () => {
  const ids = bytes.encode('é😀 x');
  assert.is(ids.length, 8); // 2 + 4 bytes, a space and x
  const ps = pieces(bytes, ids);
  assert.equal(ps, ['', '', '', '', '', '', 'é😀 ', '', 'x']);
});

test('CJK text is released character by character', () => {
  const ids = bytes.encode('你好');
  const ps = pieces(bytes, ids);
  assert.equal(ps.filter(Boolean), ['你', '好']);
});

test('context ids give the first piece its leading space but are not emitted', () => {
  const [bos, ...rest] = cases.find((c) => c.text === 'Hello world')!.ids;
  assert.is(pieces(llama2, rest.slice(1), [bos, rest[0]]).join(''), ' world');
  assert.is(pieces(llama2, rest, [bos]).join(''), 'Hello world');
});

test('stop strings: held back while they may be starting, cut when complete', () => {
  const m = new StopMatcher(['END', '\n\n']);
  assert.equal(m.push('abc E'), { text: 'abc ', stopped: false });
  assert.equal(m.push('N'), { text: '', stopped: false });
  assert.equal(m.push('Dxyz'), { text: '', stopped: true });
  const n = new StopMatcher(['END']);
  assert.equal(n.push('abc E'), { text: 'abc ', stopped: false });
  assert.equal(n.push('X'), { text: 'EX', stopped: false });
  assert.equal(n.push('EN'), { text: '', stopped: false });
  assert.is(n.flush(), 'EN');
});

test('the earliest of several stop strings wins, across pieces', () => {
  const m = new StopMatcher(['world', 'lo w']);
  assert.equal(m.push('hel'), { text: 'he', stopped: false }); // 'l' may start 'lo w'
  assert.equal(m.push('lo world'), { text: 'l', stopped: true });
});

test.run();

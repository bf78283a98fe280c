// WordPiece (BERT) tokenization through @huggingface/tokenizers, on a tokenizer.json built here from a
// 27-token vocabulary; every expected id list was worked out by hand from WORDPIECE_VOCAB's positions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TextTokenizer } from '../src/index.js';
import { WORDPIECE_VOCAB, wordpieceTokenizerJson } from './models/bert-files.js';

const tok = TextTokenizer.parse(wordpieceTokenizerJson(), undefined, 'wordpiece/tokenizer.json');

const CASES: [string, number[], string][] = [
  ['The quick brown fox jumps over the lazy dog.', [2, 5, 6, 7, 8, 9, 10, 12, 5, 13, 14, 15, 3], 'lowercased; "jumps" = jump ##s; "." split off'],
  ['Unbelievable!', [2, 18, 19, 20, 17, 3], 'greedy longest match first: un ##believ ##able'],
  ['jumping, jumped', [2, 9, 24, 16, 9, 11, 3], 'suffix pieces after the same stem; "," is its own word'],
  ['Café', [2, 21, 3], 'lowercase without strip_accents set strips the accent'],
  ['hello xyz', [2, 22, 1, 3], 'a word with no matching first piece is one [UNK]'],
  ['ab', [2, 25, 26, 3], 'a ##b'],
  ['HELLO \t  world\n', [2, 22, 23, 3], 'runs of whitespace separate words'],
  ['你好', [2, 1, 1, 3], 'CJK characters are split one per word (handle_chinese_chars), each unknown'],
  ['', [2, 3], 'the template alone'],
];

test('WordPiece: hand-checked ids with [CLS] … [SEP]', () => {
  for (const [text, ids, why] of CASES) assert.equal(tok.encode(text), ids, `${JSON.stringify(text)} (${why})`);
});

test('WordPiece: without special tokens, and decoding joins ## pieces', () => {
  assert.equal(tok.encode('the quick', { addSpecialTokens: false }), [5, 6]);
  assert.is(tok.decode([2, 18, 19, 20, 17, 3]), 'unbelievable!');
  assert.is(tok.idToToken(19), '##believ');
  assert.is(tok.tokenToId('lazy'), WORDPIECE_VOCAB.indexOf('lazy'));
});

test.run();

// Splitting a reasoning model's <think> block from its answer, whole and streamed in any cut.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promptOpensReasoning, ReasoningSplitter, splitReasoning } from '../src/text/reasoning.js';

const R1 = 'Okay, the user greets me.\n</think>\n\nHello! How can I help?';

test('R1-Distill: the prompt opened <think>, the output closes it', () => {
  assert.equal(splitReasoning(R1, true), { reasoning: 'Okay, the user greets me.', answer: 'Hello! How can I help?' });
});

test('an output that opens <think> itself; and one without any', () => {
  assert.equal(splitReasoning('\n<think>\nhmm\n</think>\nYes.'), { reasoning: 'hmm', answer: 'Yes.' });
  assert.equal(splitReasoning('Just an answer <think> in the middle'), { reasoning: '', answer: 'Just an answer <think> in the middle' });
});

test('streamed in every two-piece cut, the parts are the same as whole', () => {
  for (const [text, inside] of [[R1, true], ['<think>a</think>b', false]] as const) {
    const whole = splitReasoning(text, inside);
    for (let i = 0; i <= text.length; i++) {
      const s = new ReasoningSplitter(inside);
      const parts = [s.push(text.slice(0, i)), s.push(text.slice(i)), s.flush()];
      const reasoning = parts.map((p) => p.reasoning).join('').trim(), answer = parts.map((p) => p.answer).join('');
      assert.equal({ reasoning, answer }, whole, `cut at ${i}`);
    }
  }
});

test('an unclosed block is all reasoning', () => {
  assert.equal(splitReasoning('still thinking </thi', true), { reasoning: 'still thinking </thi', answer: '' });
});

test('promptOpensReasoning sees the R1 generation prompt', () => {
  assert.ok(promptOpensReasoning('<｜User｜>Hi<｜Assistant｜><think>\n'));
  assert.not.ok(promptOpensReasoning('<|im_start|>assistant\n'));
});

test.run();

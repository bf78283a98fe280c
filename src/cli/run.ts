// tide run: one answer to a prompt, streamed; through the chat template when the model has one.
import type { Command } from 'commander';
import { ChatTemplate, type ChatMessage } from '../text/chat.js';
import type { Model } from '../model.js';
import { ReasoningSplitter } from '../text/reasoning.js';
import { encodePrompt } from '../text/generate.js';
import { generateOptions, loadText, samplingFlags, speedLine, tokenizerFlag } from './text.js';
import { loadFlags } from './args.js';

export function register(program: Command): void {
  const cmd = program.command('run').description('answer a prompt, streaming the text (chat template applied when the model has one)')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .requiredOption('--prompt <text>', 'the prompt (a user message for chat models)')
    .option('--system <text>', 'a system message (chat models)')
    .option('--raw', 'continue the prompt text as is, without the chat template')
    .option('--hide-reasoning', 'do not print a reasoning model\'s <think> block');
  samplingFlags(loadFlags(tokenizerFlag(cmd))).action(async (dir: string, o, c: Command) => {
    const model = await loadText(c, dir);
    try {
      const chat = !o.raw && model.tokenizer && ChatTemplate.of(model.tokenizer);
      const prompt = chat ? messagesFor(o.prompt, o.system) : o.prompt;
      await streamAnswer(model, prompt, o, new AbortController().signal);
    } finally {
      await model.dispose();
    }
  });
}

export const messagesFor = (prompt: string, system?: string): ChatMessage[] =>
  [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }];

/**
 * Print one answer as it streams (reasoning dimmed on a terminal, or hidden), then the tokens/s line.
 * Returns the generated text (reasoning included, as the chat history keeps it) and how it ended.
 */
export async function streamAnswer(model: Model, prompt: string | ChatMessage[], o: Record<string, any>, signal: AbortSignal,
                                   session = model.session({ contextLength: o.context })) {
  const split = new ReasoningSplitter(encodePrompt(model, prompt).startsInReasoning);
  const tty = process.stdout.isTTY;
  let inReasoning = false;
  const write = (p: { reasoning: string; answer: string }) => {
    if (p.reasoning && !o.hideReasoning) {
      if (!inReasoning) { process.stdout.write(tty ? '\x1b[2m<think>' : '<think>'); inReasoning = true; }
      process.stdout.write(p.reasoning);
    }
    if (p.answer) {
      if (inReasoning) { process.stdout.write(tty ? '</think>\x1b[0m\n\n' : '</think>\n\n'); inReasoning = false; }
      process.stdout.write(p.answer);
    }
  };
  const g = model.generate(prompt, { ...generateOptions(o), session, signal });
  for await (const piece of g) write(split.push(piece));
  write(split.flush());
  if (inReasoning && tty) process.stdout.write('\x1b[0m');
  const r = await g.result;
  process.stdout.write('\n');
  console.error(speedLine(model, r) + (r.finishReason === 'abort' ? ' [stopped]' : ''));
  return r;
}

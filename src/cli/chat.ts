// tide chat: an interactive conversation. History is kept (and its KV cache reused); /reset forgets it,
// /exit (or end of input) quits, Ctrl-C stops the current answer without quitting.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ChatTemplate, type ChatMessage } from '../text/chat.js';
import { TemplateError, TideError, TokenizerError } from '../errors.js';
import type { Model } from '../model.js';
import { messagesFor, streamAnswer } from './run.js';
import { loadText, samplingFlags, tokenizerFlag } from './text.js';
import { loadFlags } from './args.js';

export function register(program: Command): void {
  const cmd = program.command('chat').description('chat with a model interactively (/reset, /exit; Ctrl-C stops an answer)')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .option('--system <text>', 'a system message at the start of the conversation')
    .option('--hide-reasoning', 'do not print a reasoning model\'s <think> block');
  samplingFlags(loadFlags(tokenizerFlag(cmd))).action(async (dir: string, o, c: Command) => {
    const model = await loadText(c, dir);
    try {
      checkChatModel(model);
      await chatLoop(model, o);
    } finally {
      await model.dispose();
    }
  });
}

/** A clear error before the prompt appears when the model cannot hold a conversation. */
export function checkChatModel(model: Model): void {
  const src = model.info.source;
  if (!model.tokenizer) throw new TokenizerError(`${src}: no tokenizer.json; give --tokenizer DIR (a directory with tokenizer.json and tokenizer_config.json)`);
  if (!ChatTemplate.of(model.tokenizer)) {
    throw new TemplateError(`${src}: tokenizer_config.json has no chat_template and there is no chat_template.jinja, so it cannot format a conversation; use \`tide run ${src} --prompt "..."\` for plain text, or --tokenizer DIR with a chat template`);
  }
}

async function chatLoop(model: Model, o: Record<string, any>): Promise<void> {
  const tty = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  const session = model.session({ contextLength: o.context });
  const history: ChatMessage[] = [];
  let answering: AbortController | undefined;
  const interrupt = () => {
    if (answering) answering.abort();
    else { process.stdout.write('\n'); rl.close(); }
  };
  rl.on('SIGINT', interrupt);     // a terminal: readline turns Ctrl-C into this event
  process.on('SIGINT', interrupt); // piped input: the signal itself
  if (tty) console.error(`chatting with ${model.info.source}; /reset clears the history, /exit quits, Ctrl-C stops an answer`);
  rl.setPrompt('> ');
  if (tty) rl.prompt();
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') { history.length = 0; session.reset(); console.error('(history cleared)'); }
      else if (line) await turn(model, o, session, history, line, (c) => { answering = c; });
      answering = undefined;
      if (tty) rl.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
    session.dispose();
  }
}

async function turn(model: Model, o: Record<string, any>, session: ReturnType<Model['session']>, history: ChatMessage[],
                    line: string, setAnswering: (c: AbortController) => void): Promise<void> {
  const messages: ChatMessage[] = history.length ? [...history, { role: 'user', content: line }] : messagesFor(line, o.system);
  const controller = new AbortController();
  setAnswering(controller);
  try {
    const r = await streamAnswer(model, messages, o, controller.signal, session);
    history.splice(0, history.length, ...messages, { role: 'assistant', content: r.text });
  } catch (e) {
    if (!(e instanceof TideError)) throw e;
    console.error(`tide: ${e.message}${e.code === 'E_CONTEXT' ? ' (/reset to start over)' : ''}`);
  }
}

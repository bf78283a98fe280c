// The prompt worker thread (src/server/prompts.ts): tokenizers and the chat template built once from
// workerData, then one answer per request, in order. Its ids travel back as transferred Int32Arrays.
import { parentPort, workerData } from 'node:worker_threads';
import { ChatTemplate } from '../text/chat.js';
import { promptOpensReasoning } from '../text/reasoning.js';
import { TextTokenizer } from '../text/tokenizer.js';
import type { Encoded, PromptInit, PromptRequest, Reply } from './prompts.js';

const init = workerData as PromptInit;
const tokenizer = (f: PromptInit['text']) => f && TextTokenizer.parse(f.json, f.config, f.label, f.jinja);
const text = tokenizer(init.text), embed = tokenizer(init.embed);
const template = text && ChatTemplate.of(text);

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`prompt thread: no ${what}`); // the server checks before it asks
  return v;
}

function encode(req: PromptRequest): Encoded {
  switch (req.op) {
    case 'text':
      return { ids: [Int32Array.from(need(text, 'tokenizer').encode(req.text))], startsInReasoning: false };
    case 'chat': {
      // transformers' apply_chat_template: the template writes BOS itself, so no special tokens are added.
      const prompt = need(template, 'chat template').render(req.messages);
      return { ids: [Int32Array.from(need(text, 'tokenizer').encode(prompt, { addSpecialTokens: false }))], startsInReasoning: promptOpensReasoning(prompt) };
    }
    case 'embed': {
      const tok = need(embed, 'embedding tokenizer');
      return { ids: req.texts.map((t) => Int32Array.from(tok.encode(init.embed!.lowercase ? t.toLowerCase() : t))), startsInReasoning: false };
    }
  }
}

parentPort!.postMessage('ready');
parentPort!.on('message', (m: PromptRequest & { id: number }) => {
  let reply: Reply;
  try {
    reply = { id: m.id, encoded: encode(m) };
  } catch (e) {
    reply = { id: m.id, error: { name: (e as Error).name, message: (e as Error).message } };
  }
  parentPort!.postMessage(reply, 'encoded' in reply ? reply.encoded.ids.map((a) => a.buffer as ArrayBuffer) : []);
});

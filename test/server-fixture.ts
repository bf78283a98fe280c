// Shared by the server suites: chat-capable model dirs (stories260K with a template, tiny-qwen2 with
// tiny-chatml's tokenizer), the tokenizer files a server's prompt thread takes, free ports chosen by the OS
// (loopback only), and a server-sent-events reader for raw fetch responses.
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirSource } from '../src/node/dir-source.js';
import { readTokenizerFiles, type TokenizerFiles } from '../src/server/index.js';
import { fixtureModel, ROOT, WEIGHTS } from './paths.js';

/**
 * stories260K has no chat template. This is the same model in a temp dir with one added to its
 * tokenizer_config.json: "<s>" then "role: content\n" per message, then "assistant:" to answer.
 */
export const CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

/** The same, ending the prompt inside a <think> block, as DeepSeek-R1 distills' templates do. */
export const THINK_TEMPLATE = CHAT_TEMPLATE.replace("'assistant:'", "'assistant:<think>\\n'");

export function chatModelDir(template = CHAT_TEMPLATE): string {
  const src = join(WEIGHTS, 'stories260K');
  const dir = mkdtempSync(join(tmpdir(), 'tide-chat-'));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']) symlinkSync(join(src, f), join(dir, f));
  const config = JSON.parse(readFileSync(join(src, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
  return dir;
}

/** tiny-qwen2 (no tokenizer of its own) with test/fixtures/tiny-chatml's tokenizer and ChatML template, in a temp dir. */
export function qwenChatDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tide-qwen-'));
  for (const f of ['config.json', 'model.safetensors']) symlinkSync(join(fixtureModel('tiny-qwen2'), f), join(dir, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) symlinkSync(join(ROOT, 'test/fixtures/tiny-chatml', f), join(dir, f));
  return dir;
}

/** A model directory's tokenizer files, as `tide serve` hands them to the server's prompt thread. */
export async function tokenizerFiles(dir: string): Promise<TokenizerFiles | undefined> {
  return readTokenizerFiles(await dirSource(dir));
}

/**
 * A port nothing on 127.0.0.1 holds right now, chosen by the OS (its ephemeral range), so test runs side by
 * side rarely pick the same one the way a fixed range does.
 */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Yields each `data:` payload of an event stream as it arrives (the "[DONE]" sentinel included). */
export async function* sseData(res: Response): AsyncGenerator<string> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
    }
  }
}

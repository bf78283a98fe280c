// tide prompt: the chat prompt a conversation renders to under a directory's chat template, printed exactly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ChatTemplate } from '../text/chat.js';
import { OptionError, SourceError, TemplateError, TokenizerError } from '../errors.js';
import { TextTokenizer } from '../text/tokenizer.js';

export function register(program: Command): void {
  program.command('prompt').description('print the chat prompt that messages render to (the chat template of DIR)')
    .argument('<dir>', 'a directory with tokenizer_config.json')
    .requiredOption('--messages <file>', 'JSON: a list of {role, content}, or {messages, tools, documents} ("-" reads stdin)')
    .option('--no-generation-prompt', 'do not open an assistant turn at the end')
    .option('--tokenizer <dir>', 'where tokenizer_config.json is, when DIR has none')
    .action(async (dir: string, o) => {
      const config = await readConfig(dir, o.tokenizer);
      const template = ChatTemplate.fromConfig(config.json, config.path);
      if (!template) throw new TemplateError(`${config.path}: no chat_template`);
      const req = await readMessages(o.messages);
      process.stdout.write(template.render(req.messages, { addGenerationPrompt: o.generationPrompt, tools: req.tools, documents: req.documents }));
    });
}

async function readConfig(dir: string, fallback?: string): Promise<{ json: Record<string, unknown>; path: string }> {
  for (const d of [dir, fallback]) {
    if (!d) continue;
    const path = join(d, 'tokenizer_config.json');
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return { json: parseJson(text, path, TemplateError), path };
  }
  throw new SourceError(`${join(dir, 'tokenizer_config.json')}: file not found`);
}

async function readMessages(file: string) {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((e) => { throw new SourceError(`${file}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`); });
  const v = parseJson(text, file, OptionError) as unknown;
  const req = Array.isArray(v) ? { messages: v } : v as { messages?: unknown; tools?: unknown[]; documents?: unknown[] };
  if (!Array.isArray(req.messages)) throw new OptionError(`${file}: expected a list of messages or {"messages": [...]}`);
  return req as { messages: never[]; tools?: unknown[]; documents?: unknown[] };
}

/** tokenizer.json from `tokDir` (or `dir`) with tokenizer_config.json from `dir` (or `tokDir`). */
export async function readTokenizer(dir: string, tokDir?: string): Promise<TextTokenizer> {
  const jsonPath = join(tokDir ?? dir, 'tokenizer.json');
  const json = await readFile(jsonPath, 'utf8').catch(() => undefined);
  if (json === undefined) throw new TokenizerError(`${jsonPath}: file not found${tokDir ? '' : ' (give --tokenizer DIR)'}`);
  let config: string | undefined;
  for (const d of [dir, tokDir]) if (d && config === undefined) config = await readFile(join(d, 'tokenizer_config.json'), 'utf8').catch(() => undefined);
  return TextTokenizer.parse(json, config, jsonPath);
}

function parseJson(text: string, label: string, E: new (m: string) => Error): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new E(`${label}: not valid JSON: ${(e as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// tide prompt: the chat prompt a conversation renders to under a directory's chat template, printed exactly.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ChatTemplate, templateVariables } from '../text/chat.js';
import { OptionError, SourceError, TemplateError, TokenizerError } from '../errors.js';
import { TextTokenizer } from '../text/tokenizer.js';
import { jsonFault } from '../formats/json.js';
import { readTextFile } from '../node/dir-source.js';

export function register(program: Command): void {
  program.command('prompt').description('print the chat prompt that messages render to (the chat template of DIR)')
    .argument('<dir>', 'a directory with tokenizer_config.json or chat_template.jinja')
    .requiredOption('--messages <file>', 'JSON: a list of {role, content}, or {messages, tools, documents, ...template variables} ("-" reads stdin)')
    .option('--no-generation-prompt', 'do not open an assistant turn at the end')
    .option('--now <time>', 'the local time strftime_now() formats, as 2026-12-06 or 2026-12-06T09:30 (default: now)', parseTime)
    .option('--tokenizer <dir>', 'where tokenizer_config.json and chat_template.jinja are, when DIR has neither')
    .action(async (dir: string, o) => {
      const template = await readTemplate(dir, o.tokenizer);
      const { messages, tools, documents, add_generation_prompt, ...variables } = await readMessages(o.messages);
      const now: Date | undefined = o.now;
      process.stdout.write(template.render(messages, {
        ...templateVariables(variables, o.messages), tools: tools as unknown[], documents: documents as unknown[],
        addGenerationPrompt: o.generationPrompt && add_generation_prompt !== false, ...(now ? { clock: () => now } : {}),
      }));
    });
}

/** The chat template of the first of `dir`, `fallback` that has tokenizer_config.json or chat_template.jinja. */
async function readTemplate(dir: string, fallback?: string): Promise<ChatTemplate> {
  for (const d of [dir, fallback]) {
    if (!d) continue;
    const configPath = join(d, 'tokenizer_config.json');
    const [configText, jinja] = await Promise.all([configPath, join(d, 'chat_template.jinja')].map(readTextFile));
    if (configText === undefined && jinja === undefined) continue;
    const template = ChatTemplate.fromFiles(configText === undefined ? {} : parseJson(configText, configPath, TemplateError), jinja, join(d, '/'));
    if (!template) throw new TemplateError(`${configPath}: no chat_template, and no chat_template.jinja beside it`);
    return template;
  }
  throw new SourceError(`${join(dir, 'tokenizer_config.json')}: file not found`);
}

/** The messages file: a list of messages, or {messages, ...}; its other keys are template options and variables. */
async function readMessages(file: string): Promise<{ messages: never[]; [key: string]: unknown }> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((e) => { throw new SourceError(`${file}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`); });
  const v = parseJson(text, file, OptionError) as unknown;
  const req = Array.isArray(v) ? { messages: v } : v as { messages?: unknown };
  if (typeof req !== 'object' || req === null || !Array.isArray(req.messages)) throw new OptionError(`${file}: expected a list of messages or {"messages": [...]}`);
  return req as { messages: never[] };
}

/** --now: an ISO 8601 date or local date and time; a date alone is local midnight (Date would read it as UTC). */
function parseTime(v: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00` : v);
  if (Number.isNaN(d.getTime())) throw new OptionError(`--now "${v}": expected a date like 2026-12-06 or 2026-12-06T09:30`);
  return d;
}

/** tokenizer.json from `tokDir` (or `dir`) with tokenizer_config.json from `dir` (or `tokDir`). */
export async function readTokenizer(dir: string, tokDir?: string): Promise<TextTokenizer> {
  const jsonPath = join(tokDir ?? dir, 'tokenizer.json');
  const json = await readTextFile(jsonPath);
  if (json === undefined) throw new TokenizerError(`${jsonPath}: file not found${tokDir ? '' : ' (give --tokenizer DIR)'}`);
  let config: string | undefined;
  for (const d of [dir, tokDir]) if (d && config === undefined) config = await readTextFile(join(d, 'tokenizer_config.json'));
  return TextTokenizer.parse(json, config, jsonPath);
}

function parseJson(text: string, label: string, E: new (m: string) => Error): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new E(`${label}: not valid JSON (${jsonFault(e)})`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

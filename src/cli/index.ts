// The `tide` command line: each command is a thin file over the public API (src/index.ts).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import * as generate from './generate.js';
import * as run from './run.js';
import * as chat from './chat.js';
import * as tokenize from './tokenize.js';
import * as prompt from './prompt.js';
import * as logits from './logits.js';
import * as info from './info.js';
import * as inspect from './inspect.js';
import * as embed from './embed.js';
import * as serve from './serve.js';
import { simdOption } from './args.js';

/** package.json's version: ../../package.json from src/cli/ and dist/cli/ alike. */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function cli(): Command {
  const program = new Command('tide')
    .description('Transformer inference on WebAssembly SIMD, no native dependencies (npm package tide-infer)')
    .version(VERSION, '-V, --version')
    .addOption(simdOption());
  for (const c of [generate, run, chat, tokenize, prompt, logits, info, inspect, embed, serve]) c.register(program);
  return program;
}

/** Errors print as one line (a stack only with TIDE_DEBUG=1) and exit non-zero. */
export async function main(argv = process.argv): Promise<void> {
  try {
    await cli().exitOverride((e) => { throw Object.assign(e, { fromCommander: true }); }).parseAsync(argv);
  } catch (e) {
    const err = e as Error & { fromCommander?: boolean; exitCode?: number };
    if (err.fromCommander) { process.exitCode = err.exitCode; return; } // commander already printed it
    if (process.env.TIDE_DEBUG === '1') console.error(err);
    else console.error(`tide: ${err.message.split('\n')[0]}`);
    process.exitCode = 1;
  }
}

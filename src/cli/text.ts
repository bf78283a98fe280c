// What the text commands (generate, run, chat, tokenize, prompt) share: sampling flags, a loader with a
// progress bar and --tokenizer, and the closing tokens/s line.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { loadModel, openModelFiles } from '../index.js';
import { TokenizerError } from '../errors.js';
import type { GenerateOptions, GenerateResult } from '../text/generate.js';
import type { Model } from '../model.js';
import type { ModelFiles } from '../sources/sources.js';
import { int, num, positive, round } from './args.js';

const logitBias = (v: string, prev: Record<number, number> = {}): Record<number, number> => {
  for (const pair of v.split(',')) {
    const m = /^\s*(\d+)\s*[=:]\s*(-?(?:\d+\.?\d*|\.\d+|Infinity))\s*$/.exec(pair);
    if (!m) throw new InvalidArgumentError(`"${pair}" is not ID=BIAS (e.g. 13=-100)`);
    prev[Number(m[1])] = Number(m[2]);
  }
  return prev;
};
const collect = (v: string, prev: string[] = []) => [...prev, v.replace(/\\n/g, '\n')];
const inRange = (lo: number, hi: number, open = false) => (v: string): number => {
  const n = num(v);
  if (n < lo || n > hi || (open && n === lo)) throw new InvalidArgumentError(`"${v}" is not in ${open ? '(' : '['}${lo}, ${hi}]`);
  return n;
};

/** The sampling and length flags; defaults come from the model's generation_config.json. */
export function samplingFlags(cmd: Command, defaults: { temperature?: number } = {}): Command {
  return cmd
    .option('--max-tokens <n>', 'most tokens to generate (default: generation_config.json\'s max_new_tokens, else 256)', int)
    .addOption(new Option('--temperature <t>', 'sampling temperature; 0 = greedy (default: generation_config.json, else greedy)')
      .argParser(inRange(0, Infinity)).default(defaults.temperature))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', int)
    .option('--top-p <p>', 'nucleus sampling: keep the most likely tokens up to probability p', inRange(0, 1))
    .option('--min-p <p>', 'drop tokens less likely than p × the most likely one', inRange(0, 1))
    .option('--repetition-penalty <r>', 'divide positive / multiply negative logits of seen tokens by r', inRange(0, Infinity, true))
    .option('--presence-penalty <x>', 'subtract x from tokens already generated', num)
    .option('--frequency-penalty <x>', 'subtract x × count from tokens already generated', num)
    .option('--logit-bias <id=bias,...>', 'add bias to token ids (-Infinity bans a token)', logitBias)
    .option('--seed <n>', 'seed of the sampler (same seed, same tokens)', int)
    .option('--stop <text>', 'stop when the output contains text (repeatable; \\n for newline)', collect)
    .option('--context <n>', 'context length (KV cache positions)', positive);
}

/** Flags → generate() options. */
export function generateOptions(o: Record<string, any>): GenerateOptions {
  return {
    maxTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
    repetitionPenalty: o.repetitionPenalty, presencePenalty: o.presencePenalty, frequencyPenalty: o.frequencyPenalty,
    logitBias: o.logitBias, seed: o.seed, stop: o.stop,
  };
}

/** --tokenizer DIR: tokenizer.json / tokenizer_config.json / chat_template.jinja from DIR instead of the model's directory. */
export const tokenizerFlag = (cmd: Command) =>
  cmd.option('--tokenizer <dir>', 'read tokenizer.json, tokenizer_config.json and chat_template.jinja from this directory');

/** Load MODEL with --simd, --threads, --quant and --tokenizer, drawing a progress bar on stderr when it is a terminal. */
export async function loadText(cmd: Command, dir: string): Promise<Model> {
  const { simd, tokenizer, threads, quant } = cmd.optsWithGlobals();
  let source: string | ModelFiles = dir; // a directory, URL or hf: id, as loadModel takes it
  if (tokenizer) { // then a local directory
    const { dirSource } = await import('../node/dir-source.js');
    const tok = await dirSource(tokenizer);
    if (await tok.text('tokenizer.json') === undefined) throw new TokenizerError(`--tokenizer ${tokenizer}: no tokenizer.json there`);
    source = withTokenizer(await openModelFiles(dir), tok);
  }
  const bar = process.stderr.isTTY ? new SingleBar({
    format: 'loading {bar} {percentage}% | {value}/{total} MiB', stream: process.stderr, hideCursor: true, clearOnComplete: true,
  }) : undefined;
  const MiB = (b: number) => Math.round(b / 2 ** 20 * 10) / 10;
  let started = false;
  try {
    return await loadModel(source, {
      simd, threads, quantize: quant,
      onProgress: bar && (({ loadedBytes, totalBytes }) => {
        if (!started) { bar.start(MiB(totalBytes), 0); started = true; }
        bar.update(MiB(loadedBytes));
      }),
    });
  } finally {
    bar?.stop();
  }
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

function withTokenizer(model: ModelFiles, tok: ModelFiles): ModelFiles {
  return {
    label: model.label,
    text: (name) => (TOKENIZER_FILES.includes(name) ? tok.text(name) : model.text(name)),
    open: (name) => model.open(name),
  };
}

/** The closing line on stderr: prefill and decode tokens/s. */
export function speedLine(model: Model, r: GenerateResult): string {
  return `prefill: ${r.promptIds.length} tokens, ${round(r.prefillTokS)} tok/s; decode: ${r.ids.length} tokens, ${round(r.decodeTokS)} tok/s (${model.info.simd})`;
}

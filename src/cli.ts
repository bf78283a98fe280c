// The `tide` command line: a thin layer over loadModel / Session / generateIds.
import { Command, InvalidArgumentError } from 'commander';
import { loadModel } from './index.js';
import { generateIds } from './generate.js';
import { TextStream } from './stream.js';
import { TideError, TokenizerError } from './errors.js';
import type { Model } from './model.js';

const ids = (v: string): number[] => {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n))) throw new InvalidArgumentError(`"${v}" is not a comma-separated list of integers`);
  return out;
};
const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a non-negative integer`);
  return n;
};
const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number`);
  return n;
};

const program = new Command('tide').description('Transformer inference on WebAssembly SIMD, no native dependencies');
program.option('--simd <flavor>', 'kernel module: baseline or relaxed (default: what the engine supports)');

program.command('generate').description('generate text greedily from a prompt')
  .argument('<model>', 'model directory')
  .option('--prompt <text>', 'prompt text (encoded with the model\'s special tokens)')
  .option('--prompt-ids <ids>', 'prompt as comma-separated token ids', ids)
  .option('--max-tokens <n>', 'tokens to generate', int, 256)
  .option('--temperature <t>', 'sampling temperature (0 = greedy)', num, 0)
  .option('--context <n>', 'context length (KV cache positions)', int)
  .option('--json', 'print one JSON object instead of streaming text')
  .action(async (dir: string, o) => {
    if (o.temperature !== 0) throw new TideError('E_OPTION', `--temperature ${o.temperature}: only greedy decoding (0) is available in this build`);
    const model = await load(dir);
    const promptIds: number[] = o.promptIds ?? encodePrompt(model, o.prompt);
    const session = model.session({ contextLength: o.context });
    const stream = !o.json && model.tokenizer ? new TextStream(model.tokenizer) : undefined;
    if (stream) for (const id of promptIds) process.stdout.write(stream.push(id));
    const r = generateIds(model, session, promptIds, { maxTokens: o.maxTokens }, (id) => stream && process.stdout.write(stream.push(id)));
    if (o.json) {
      console.log(JSON.stringify({ prompt_ids: r.promptIds, ids: r.ids, text: r.text, finish_reason: r.finishReason,
        prefill_tok_s: round(r.prefillTokS), decode_tok_s: round(r.decodeTokS) }));
    } else {
      if (stream) process.stdout.write(stream.flush() + '\n');
      else console.log(r.ids.join(','));
      console.error(`prefill: ${r.promptIds.length} tokens, ${round(r.prefillTokS)} tok/s; decode: ${r.ids.length} tokens, ${round(r.decodeTokS)} tok/s (${model.info.simd})`);
    }
  });

program.command('logits').description('print the logits of the last (or every) position')
  .argument('<model>', 'model directory')
  .requiredOption('--ids <ids>', 'comma-separated token ids', ids)
  .option('--all', 'every position, not only the last')
  .option('--json', 'print JSON (the default and only format)')
  .action(async (dir: string, o) => {
    const model = await load(dir);
    const V = model.spec.vocabSize;
    const flat = model.session({ contextLength: Math.min(model.spec.seqLen, Math.max(o.ids.length, 1)) }).prefill(o.ids, { allLogits: !!o.all });
    const rows = Array.from({ length: flat.length / V }, (_, r) => Array.from(flat.subarray(r * V, (r + 1) * V)));
    console.log(JSON.stringify({ logits: rows }));
  });

program.command('info').description('print architecture, parameter count, dtypes and memory needed')
  .argument('<model>', 'model directory')
  .action(async (dir: string) => {
    const model = await load(dir);
    const { spec, info } = model;
    const MiB = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
    const ctx = Math.min(spec.seqLen, 4096);
    console.log([
      `source        ${info.source}`,
      `architecture  ${spec.modelType}: ${spec.nLayers} layers, dim ${spec.dim}, ${spec.nHeads} heads / ${spec.nKvHeads} kv heads × ${spec.headDim}, ffn ${spec.hiddenDim}, vocab ${spec.vocabSize}`,
      `context       ${spec.seqLen} positions (rope_theta ${spec.ropeTheta}, rope ${spec.rope.type})`,
      `parameters    ${info.parameters.toLocaleString('en-US')}`,
      `dtypes        ${Object.entries(info.dtypes).map(([d, n]) => `${d} ×${n}`).join(', ')} (held as F32)`,
      `memory        weights ${MiB(info.weightBytes)} + KV cache ${MiB(info.kvBytesPerToken * 1024)} per 1k tokens → ${MiB(info.kvBytesPerToken * ctx)} at ${ctx} tokens`,
      `tokenizer     ${model.tokenizer ? 'tokenizer.json' : 'none (ids only)'}`,
      `kernels       ${info.simd} SIMD`,
    ].join('\n'));
  });

async function load(dir: string): Promise<Model> {
  return loadModel(dir, { simd: program.opts().simd });
}

function encodePrompt(model: Model, prompt: string | undefined): number[] {
  if (prompt === undefined) throw new TideError('E_OPTION', 'give --prompt or --prompt-ids');
  if (!model.tokenizer) throw new TokenizerError(`${model.info.source}: no tokenizer.json; use --prompt-ids`);
  return model.tokenizer.encode(prompt);
}

const round = (x: number) => Math.round(x * 10) / 10;

export async function main(argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (process.env.TIDE_DEBUG === '1') console.error(e);
    else console.error(`tide: ${(e as Error).message.split('\n')[0]}`);
    process.exitCode = 1;
  }
}

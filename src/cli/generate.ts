// tide generate: text (or ids) from a prompt, streamed as it is produced: prompt then continuation.
import type { Command } from 'commander';
import { OptionError } from '../errors.js';
import type { Model } from '../model.js';
import { ids, loadFlags, round } from './args.js';
import { Trace } from '../inspect/trace.js';
import { generateOptions, loadText, samplingFlags, speedLine, tokenizerFlag } from './text.js';

export function register(program: Command): void {
  const cmd = program.command('generate').description('continue a prompt (greedy unless sampling flags are given)')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .option('--prompt <text>', 'prompt text (encoded with the model\'s special tokens)')
    .option('--prompt-ids <ids>', 'prompt as comma-separated token ids', ids)
    .option('--json', 'print one JSON object instead of streaming text')
    .option('--trace', 'on stderr, per step: the token, its probability, the top 5 and per-layer op times; then a summary');
  samplingFlags(loadFlags(tokenizerFlag(cmd)), { temperature: 0 }).action(async (dir: string, o, c: Command) => {
    if (o.prompt === undefined && o.promptIds === undefined) throw new OptionError('give --prompt or --prompt-ids');
    const model = await loadText(c, dir);
    try {
      await run(model, o);
    } finally {
      await model.dispose();
    }
  });
}

async function run(model: Model, o: Record<string, any>): Promise<void> {
  const tok = model.tokenizer;
  const session = model.session({ contextLength: o.context });
  const trace = o.trace ? new Trace(model, 5, (report) => console.error(report)).attach(session) : undefined;
  const g = model.generate(o.promptIds ?? o.prompt, { ...generateOptions(o), session });
  const show = !o.json && tok;
  if (show) process.stdout.write(o.prompt ?? tok.decode(o.promptIds));
  for await (const piece of g) if (show) process.stdout.write(piece);
  const r = await g.result;
  trace?.finish(r.ids);
  if (o.json) {
    // text: the generated ids decoded on their own (as transformers' decode), cut before a stop string.
    let text = tok ? tok.decode(r.ids) : '';
    for (const s of o.stop ?? []) if (text.includes(s)) text = text.slice(0, text.indexOf(s));
    console.log(JSON.stringify({ prompt_ids: r.promptIds, ids: r.ids, text, finish_reason: r.finishReason,
      prefill_tok_s: round(r.prefillTokS), decode_tok_s: round(r.decodeTokS) }));
  } else {
    if (show) process.stdout.write('\n');
    else console.log(r.ids.join(','));
    console.error(speedLine(model, r));
  }
}

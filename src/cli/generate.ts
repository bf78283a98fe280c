// tide generate: greedy text (or ids) from a prompt, streamed as it is produced.
import type { Command } from 'commander';
import { generateIds } from '../generate.js';
import { TextStream } from '../stream.js';
import { TideError, TokenizerError } from '../errors.js';
import type { Model } from '../model.js';
import { ids, int, loadFor, num, round } from './args.js';

export function register(program: Command): void {
  program.command('generate').description('generate text greedily from a prompt')
    .argument('<model>', 'model directory')
    .option('--prompt <text>', 'prompt text (encoded with the model\'s special tokens)')
    .option('--prompt-ids <ids>', 'prompt as comma-separated token ids', ids)
    .option('--max-tokens <n>', 'tokens to generate', int, 256)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num, 0)
    .option('--context <n>', 'context length (KV cache positions)', int)
    .option('--json', 'print one JSON object instead of streaming text')
    .action(async (dir: string, o, cmd: Command) => {
      if (o.temperature !== 0) throw new TideError('E_OPTION', `--temperature ${o.temperature}: only greedy decoding (0) is available in this build`);
      const model = await loadFor(cmd, dir);
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
}

function encodePrompt(model: Model, prompt: string | undefined): number[] {
  if (prompt === undefined) throw new TideError('E_OPTION', 'give --prompt or --prompt-ids');
  if (!model.tokenizer) throw new TokenizerError(`${model.info.source}: no tokenizer.json; use --prompt-ids`);
  return model.tokenizer.encode(prompt);
}


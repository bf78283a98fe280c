// tide inspect: one head's attention weights and the logit lens at every position, as text,
// JSON, or a self-contained HTML page.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TideError, TokenizerError } from '../errors.js';
import { formatInspection, inspect } from '../inspect/inspect.js';
import { inspectionHtml } from '../inspect/html.js';
import { ids, int, loadFlags, loadFor } from './args.js';

export function register(program: Command): void {
  const cmd = program.command('inspect').description('attention weights of one layer/head and the logit lens for a prompt')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .option('--prompt <text>', 'prompt text (encoded with the model\'s special tokens)')
    .option('--ids <ids>', 'prompt as comma-separated token ids', ids)
    .option('--layer <n>', 'layer whose attention is shown', int, 0)
    .option('--head <n>', 'query head whose attention is shown', int, 0)
    .option('--top <k>', 'candidates per logit-lens cell (JSON and HTML)', int, 5)
    .option('--html <file>', 'also write a self-contained HTML page with heatmaps')
    .option('--json', 'print the inspection as JSON instead of text tables');
  loadFlags(cmd).action(async (dir: string, o, cmd: Command) => {
      const model = await loadFor(cmd, dir);
      try {
        const promptIds: number[] = o.ids ?? encode(model.tokenizer, o.prompt, model.info.source);
        const r = inspect(model, promptIds, { layer: o.layer, head: o.head, topK: o.top });
        if (o.html) writeFileSync(o.html, inspectionHtml(r));
        console.log(o.json ? JSON.stringify(r) : formatInspection(r));
        if (o.html) console.error(`wrote ${o.html}`);
      } finally {
        await model.dispose();
      }
    });
}

function encode(tok: { encode(text: string): number[] } | undefined, prompt: string | undefined, source: string): number[] {
  if (prompt === undefined) throw new TideError('E_OPTION', 'give --prompt or --ids');
  if (!tok) throw new TokenizerError(`${source}: no tokenizer.json; use --ids`);
  return tok.encode(prompt);
}

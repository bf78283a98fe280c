// tide logits: the raw logits of the last (or every) position, as JSON.
import type { Command } from 'commander';
import { ids, loadFlags, loadFor } from './args.js';

export function register(program: Command): void {
  const cmd = program.command('logits').description('print the logits of the last (or every) position')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .requiredOption('--ids <ids>', 'comma-separated token ids', ids)
    .option('--all', 'every position, not only the last')
    .option('--json', 'print JSON (the default and only format)');
  loadFlags(cmd).action(async (dir: string, o, cmd: Command) => {
      const model = await loadFor(cmd, dir);
      try {
        const V = model.spec.vocabSize;
        const flat = model.session({ contextLength: Math.min(model.spec.seqLen, Math.max(o.ids.length, 1)) }).prefill(o.ids, { allLogits: !!o.all });
        const rows = Array.from({ length: flat.length / V }, (_, r) => Array.from(flat.subarray(r * V, (r + 1) * V)));
        console.log(JSON.stringify({ logits: rows }));
      } finally {
        await model.dispose();
      }
    });
}

// tide info: architecture, parameter count, dtypes and the memory a model needs, from config.json and the
// checkpoint's header alone (no weights are read), for decoders and encoders.
import type { Command } from 'commander';
import { modelSummary } from '../runtime/summary.js';
import { openModelFiles } from '../sources/open.js';
import { positive } from './args.js';

export function register(program: Command): void {
  program.command('info').description('print architecture, parameter count, dtypes and memory needed (reads no weights)')
    .argument('<model>', 'model: a directory (config.json is enough), an http(s) base URL, or hf:org/name[@revision]')
    .option('--context <n>', 'context length for the KV cache figure', positive)
    .action(async (dir: string, o: { context?: number }) => {
      const files = await openModelFiles(dir);
      try {
        console.log((await modelSummary(files, o.context)).join('\n'));
      } finally {
        await files.close?.();
      }
    });
}


// tide embed: sentence embeddings of texts, token ids or a file's lines, as JSON, JSONL or a similarity matrix.
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { cosineSimilarity, loadEmbedder, POOLINGS, type Embedder, type EmbedOptions, type Pooling } from '../text/embed.js';
import { TideError } from '../errors.js';
import { ids, loadFlags, positive } from './args.js';

const collect = <T>(parse: (v: string) => T) => (v: string, prev: T[] = []) => [...prev, parse(v)];
const pooling = (v: string): Pooling => {
  if (!(POOLINGS as readonly string[]).includes(v)) throw new InvalidArgumentError(`"${v}" is not one of ${POOLINGS.join(', ')}`);
  return v as Pooling;
};

export function register(program: Command): void {
  const cmd = program.command('embed').description('embed texts or token ids with a BERT-family sentence encoder')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision] (config.json, model.safetensors, sentence-transformers files)')
    .option('--text <text>', 'a text to embed (repeat for several)', collect(String))
    .option('--ids <ids>', 'comma-separated token ids to embed as given (repeat for several)', collect(ids))
    .option('--file <path>', 'embed each line of a text file; writes JSONL')
    .option('--out <path>', 'with --file: write the JSONL here instead of stdout')
    .option('--json', 'print {"embeddings":[[...],...]} instead of a similarity matrix')
    .option('--batch-size <n>', 'sequences per forward pass', positive)
    .option('--pooling <mode>', `pooling: ${POOLINGS.join(', ')} (default: the model's 1_Pooling)`, pooling)
    .option('--no-normalize', 'skip L2 normalisation');
  // --quant q8/q4 quantizes an encoder's linear layers only.
  loadFlags(cmd).action(async (dir: string, o, c: Command) => {
    const texts: string[] = o.text ?? [], idLists: number[][] = o.ids ?? [];
    if ([texts.length > 0, idLists.length > 0, o.file !== undefined].filter(Boolean).length !== 1) {
      throw new TideError('E_OPTION', 'give one kind of input: --text (repeatable), --ids (repeatable) or --file');
    }
    const e = await loadEmbedder(dir, { simd: c.optsWithGlobals().simd, threads: o.threads, quantize: o.quant, onWarning: (w) => console.error(`tide: warning: ${w}`) });
    const opts: EmbedOptions = { batchSize: o.batchSize, pooling: o.pooling, normalize: o.normalize === false ? false : undefined };
    try {
      if (o.file !== undefined) await embedFile(e, o.file, o.out, opts);
      else await embedArgs(e, texts.length ? texts : idLists, o.json === true, opts);
    } finally {
      await e.dispose();
    }
  });
}

async function embedArgs(e: Embedder, inputs: string[] | number[][], json: boolean, opts: EmbedOptions): Promise<void> {
  const v = await e.embed(inputs, opts);
  if (v.truncated.length) console.error(`tide: inputs ${v.truncated.join(', ')} truncated to ${e.maxSeqLength} tokens`);
  if (json) {
    console.log(JSON.stringify({ embeddings: v.map((r) => Array.from(r)), ...(v.truncated.length ? { truncated: v.truncated } : {}) }));
    return;
  }
  console.log(`cosine similarity (${v.length} inputs, dim ${e.dim})`);
  v.forEach((a, i) => console.log(`${String(i).padStart(3)}  ${v.map((b) => cosineSimilarity(a, b).toFixed(4).padStart(7)).join(' ')}`));
}

/** One JSON line per input line: {"line": n, "embedding": [...], "truncated"?: true}. */
async function embedFile(e: Embedder, path: string, outPath: string | undefined, opts: EmbedOptions): Promise<void> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) lines.push(line);
  const out = outPath ? createWriteStream(outPath) : process.stdout;
  const chunk = 4 * (opts.batchSize ?? 32);
  for (let start = 0; start < lines.length; start += chunk) {
    const v = await e.embed(lines.slice(start, start + chunk), opts);
    const cut = new Set(v.truncated);
    const text = v.map((r, i) => JSON.stringify({ line: start + i + 1, embedding: Array.from(r), ...(cut.has(i) ? { truncated: true } : {}) })).join('\n');
    if (!out.write(text + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
    progress(Math.min(start + chunk, lines.length), lines.length);
  }
  if (outPath) { out.end(); await finished(out); }
  process.stderr.write('\n');
}

function progress(done: number, total: number): void {
  const width = 30, filled = Math.round((width * done) / Math.max(total, 1));
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} lines`);
}

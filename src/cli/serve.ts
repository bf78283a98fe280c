// tide serve: an OpenAI-compatible HTTP server over one loaded model (src/server/), Node only.
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadEmbedder } from '../text/embed.js';
import { startServer } from '../server/index.js';
import { loadModel } from '../index.js';
import { int } from './args.js';

const port = (v: string): number => {
  const n = int(v);
  if (n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0..65535)`);
  return n;
};
const positive = (v: string): number => {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError(`"${v}" must be at least 1`);
  return n;
};

export function register(program: Command): void {
  program.command('serve').description('serve the model over an OpenAI-compatible HTTP API (chat, completions, embeddings)')
    .argument('<model>', 'model for text generation: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .option('--embed-model <model>', 'embedding model (directory, URL or hf: id), served at /v1/embeddings')
    .option('--host <host>', 'address to bind (anything but loopback exposes the model to the network)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0 = any free one)', port, 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: env TIDE_API_KEY, else no key)')
    .option('--model-id <id>', 'the model name clients send and /v1/models lists (default: the directory name)')
    .option('--context <n>', 'KV cache positions per request (default: min(max_position_embeddings, 4096))', positive)
    .option('--parallel <n>', 'requests generated at once, interleaved token by token', positive, 1)
    .option('--queue <n>', 'requests that may wait for a slot before the server answers 429', int, 32)
    .option('--max-body <bytes>', 'largest request body accepted (larger: 413)', positive, 1 << 20)
    .option('--threads <n>', 'worker threads per model (default: env TIDE_THREADS, else the cores)', positive)
    .action(async (dir: string, o, cmd: Command) => {
      const load = { simd: cmd.optsWithGlobals().simd, threads: o.threads };
      const model = await loadModel(dir, load);
      const embedder = o.embedModel ? await loadEmbedder(o.embedModel, load) : undefined;
      const modelId = o.modelId ?? basename(resolve(dir)), embedModelId = o.embedModel && basename(resolve(o.embedModel));
      const server = await startServer({
        model, modelId, host: o.host, port: o.port,
        apiKey: o.apiKey ?? (process.env.TIDE_API_KEY || undefined), contextLength: o.context,
        parallel: o.parallel, maxQueue: o.queue, maxBodyBytes: o.maxBody,
        embedder, embedModelId,
      });
      console.error(`tide serve: listening on ${server.url} (model "${modelId}"${embedder ? `, embeddings "${embedModelId}"` : ''})`);
      const stop = async () => {
        await server.close();
        await Promise.all([model.dispose(), embedder?.dispose()]);
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

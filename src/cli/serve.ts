// tide serve: an OpenAI-compatible HTTP server over a loaded model and/or embedding model (src/server/), Node only.
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadEmbedderFrom, loadModelFrom } from '../index.js';
import { OptionError } from '../errors.js';
import { withModelFiles } from '../sources/open.js';
import type { ModelFiles } from '../sources/sources.js';
import { readTokenizerFiles, startServer, type TokenizerFiles } from '../server/index.js';
import { int, loadFlags, positive } from './args.js';

/** How long SIGTERM / SIGINT may take to stop generations, close connections and free the models. */
const SHUTDOWN_MS = 5000;

const port = (v: string): number => {
  const n = int(v);
  if (n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0..65535)`);
  return n;
};
const apiKey = (v: string): string => {
  if (v === '') throw new InvalidArgumentError('an empty key would let every request in; give a key, or leave the option out');
  return v;
};
const origin = (v: string): string => {
  if (v === '*') return v;
  let o: string | undefined;
  try { o = new URL(v).origin; } catch { o = undefined; }
  if (o !== v) throw new InvalidArgumentError(`"${v}" is not an origin (scheme://host[:port], no path) or *`);
  return v;
};
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export function register(program: Command): void {
  const cmd = program.command('serve').description('serve a model over an OpenAI-compatible HTTP API (chat, completions, embeddings)')
    .argument('[model]', 'model for text generation: a directory, an http(s) base URL, or hf:org/name[@revision] (optional with --embed-model)')
    .option('--embed-model <model>', 'embedding model (directory, URL or hf: id), served at /v1/embeddings')
    .option('--host <host>', 'address to bind (anything but loopback exposes the model to the network)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0 = any free one)', port, 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" (default: env TIDE_API_KEY, else no key: then only loopback Host names are answered)', apiKey)
    .option('--cors <origin>', 'let browser pages from this origin (or *) call the API: Access-Control-Allow-Origin and preflights (default: no CORS)', origin)
    .option('--model-id <id>', 'the model name clients send and /v1/models lists (default: the directory name)')
    .option('--context <n>', 'KV cache positions per request (default: min(max_position_embeddings, 4096))', positive)
    .option('--parallel <n>', 'requests generated at once, interleaved token by token', positive, 1)
    .option('--queue <n>', 'requests that may wait for a slot before the server answers 429', int, 32)
    .option('--max-body <bytes>', 'largest request body accepted (larger: 413)', positive, 1 << 20)
    .option('--max-connections <n>', 'open connections at most (more are closed as they arrive)', positive, 128);
  loadFlags(cmd).action(async (dir: string | undefined, o, c: Command) => {
    if (dir === undefined && o.embedModel === undefined) throw new OptionError('give a model to generate with, --embed-model MODEL to embed, or both');
    if (dir === undefined && o.modelId !== undefined) throw new OptionError('--model-id names the text-generation model, and none is given');
    const key: string | undefined = o.apiKey ?? (process.env.TIDE_API_KEY || undefined);
    if (key === undefined && !isLoopback(o.host)) {
      console.error(`tide serve: warning: --host ${o.host} without an API key: any machine that reaches the port may use the model (browsers are kept out: Host must be loopback); set --api-key`);
    }
    const { simd, threads, quant } = c.optsWithGlobals();
    const text = dir === undefined ? undefined : await open(dir, (f) => loadModelFrom(f, { simd, threads, quantize: quant }));
    const embed = o.embedModel === undefined ? undefined : await open(o.embedModel, (f) => loadEmbedderFrom(f, { simd, threads }));
    const modelId = dir === undefined ? undefined : o.modelId ?? basename(resolve(dir));
    const embedModelId = o.embedModel === undefined ? undefined : basename(resolve(o.embedModel));
    const server = await startServer({
      model: text?.loaded, modelId, tokenizer: text?.tokenizer, embedder: embed?.loaded, embedModelId, embedTokenizer: embed?.tokenizer,
      host: o.host, port: o.port, apiKey: key, cors: o.cors, contextLength: o.context,
      parallel: o.parallel, maxQueue: o.queue, maxBodyBytes: o.maxBody, maxConnections: o.maxConnections,
    });
    const served = [modelId && `model "${modelId}"`, embedModelId && `embeddings "${embedModelId}"`].filter(Boolean).join(', ');
    console.error(`tide serve: listening on ${server.url} (${served})`);
    const stop = async (signal: string) => {
      setTimeout(() => { console.error(`tide serve: ${signal}: not stopped after ${SHUTDOWN_MS} ms; exiting`); process.exit(1); }, SHUTDOWN_MS).unref();
      await server.close();
      await Promise.all([text?.loaded.dispose(), embed?.loaded.dispose()]);
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}

/** A model loaded from `source`'s files, and its tokenizer files for the server's prompt thread. */
function open<T>(source: string, load: (files: ModelFiles) => Promise<T>): Promise<{ loaded: T; tokenizer?: TokenizerFiles }> {
  return withModelFiles(source, {}, async (files) => ({ loaded: await load(files), tokenizer: await readTokenizerFiles(files) }));
}

// Prompt text → token ids off the event loop: one worker thread holds the tokenizers (the text model's
// and the embedding model's) and the chat template; requests await it inside their queue slot, so a
// megabyte of prompt delays other prompts, never /health or the streams being generated.
import { Worker } from 'node:worker_threads';
import { OptionError, TemplateError, TokenizerError } from '../errors.js';
import type { ChatMessage } from '../text/chat.js';
import type { ModelFiles } from '../sources/sources.js';
import { ApiError } from './errors.js';

/** A tokenizer as files (what crosses to the worker): tokenizer.json, tokenizer_config.json, chat_template.jinja; `label` names tokenizer.json in errors. */
export interface TokenizerFiles { json: string; config?: string; jinja?: string; label: string }

export interface PromptInit {
  text?: TokenizerFiles;
  embed?: TokenizerFiles & { lowercase: boolean };
}

export type PromptRequest =
  | { op: 'text'; text: string }           // a completion prompt, with the tokenizer's special tokens
  | { op: 'chat'; messages: ChatMessage[] } // through the chat template, then no special tokens added
  | { op: 'embed'; texts: string[] };      // the embedding model's tokenizer

export interface Encoded {
  ids: Int32Array[];
  /** The rendered chat prompt opened a <think> block. */
  startsInReasoning: boolean;
}

export type Reply = { id: number } & ({ encoded: Encoded } | { error: { name: string; message: string } });

export async function readTokenizerFiles(files: ModelFiles): Promise<TokenizerFiles | undefined> {
  const json = await files.text('tokenizer.json');
  if (json === undefined) return undefined;
  return { json, config: await files.text('tokenizer_config.json'), jinja: await files.text('chat_template.jinja'), label: `${files.label}/tokenizer.json` };
}

// Under tsx (tests) this file is .ts and so is the thread's, and tsx's --import hooks do not reach worker
// threads in Node 20: the thread registers tsx itself first (as src/node/threads.ts does). Built, both are .js.
const fromSource = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./prompt-thread${fromSource ? '.ts' : '.js'}`, import.meta.url);
const TSX_ENTRY = () => `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;

const TYPED: Record<string, new (message: string) => Error> = { TokenizerError, TemplateError, OptionError };

export class PromptWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (e: Encoded) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(private readonly init: PromptInit) {}

  /** Start the thread; resolves once its tokenizers are built, so the first request does not wait for them. */
  start(): Promise<void> {
    const w = this.thread();
    return new Promise((resolve, reject) => {
      w.once('message', () => { w.off('error', reject); resolve(); }); // its first message says it is ready
      w.once('error', reject);
    });
  }

  /** Requests handed to the thread so far. */
  get sent(): number { return this.nextId; }

  /** The ids, or undefined when `signal` aborts first (the thread's answer is then dropped). */
  encode(req: PromptRequest, signal: AbortSignal): Promise<Encoded | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => { this.pending.delete(id); resolve(undefined); };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(f: (v: T) => void) => (v: T) => { signal.removeEventListener('abort', onAbort); f(v); };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.thread().postMessage({ id, ...req });
    });
  }

  /** Stop the thread; requests still waiting for it fail. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.fail('the server is shutting down');
    await w?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = fromSource ? new Worker(TSX_ENTRY(), { eval: true, workerData: this.init }) : new Worker(THREAD_URL, { workerData: this.init });
    w.unref(); // an idle thread must not keep the process alive
    w.on('message', (r: Reply | 'ready') => {
      if (r === 'ready') return;
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (!p) return;
      if ('encoded' in r) p.resolve(r.encoded);
      else p.reject(new (TYPED[r.error.name] ?? Error)(r.error.message));
    });
    // A thread that dies (out of memory, say) fails what it held; the next request starts a new one.
    const gone = (why: string) => { if (this.worker === w) { this.worker = undefined; this.fail(why); } };
    w.on('error', (e) => gone(`prompt thread failed: ${e.message}`));
    w.on('exit', (code) => gone(`prompt thread exited with code ${code}`));
    return (this.worker = w);
  }

  private fail(why: string): void {
    for (const p of this.pending.values()) p.reject(new ApiError(503, 'server_error', why, null, 'prompt_thread'));
    this.pending.clear();
  }
}

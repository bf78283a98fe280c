// GET /metrics in Prometheus' text format (0.0.4): counters of requests and tokens, the queue and the
// running batch as gauges, time to first token and inter-token latency as histograms, the prefix cache's
// hits and speculative decoding's drafts. Counted as things happen; gauges read when scraped.
import type { ServerResponse } from 'node:http';
import type { Scheduler } from '../text/scheduler.js';
import type { PrefixCache } from '../runtime/prefix-cache.js';
import type { JobQueue } from './queue.js';
import type { EmbedBatcher } from './embed-batch.js';

/** Upper bounds (seconds) of the latency buckets: 5 ms to 60 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(s: number): void {
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (s <= LATENCY_BUCKETS[i]) this.counts[i]++;
    this.sum += s;
    this.count++;
  }

  lines(name: string): string[] {
    return [...LATENCY_BUCKETS.map((le, i) => `${name}_bucket{le="${le}"} ${this.counts[i]}`),
      `${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`];
  }
}

/** What the gauges (and the scheduler's and batcher's own counts) read at scrape time. */
export interface MetricsSources { queue: JobQueue; scheduler?: Scheduler; prefixCache?: PrefixCache; embedBatcher?: EmbedBatcher }

export class Metrics {
  /** Answers by route and status ("/v1/completions 200"). */
  private readonly requests = new Map<string, number>();
  private readonly finished = new Map<string, number>(); // generations by finish reason
  promptTokens = 0;
  cachedTokens = 0;
  completionTokens = 0;
  drafted = 0;
  accepted = 0;
  embeddingInputs = 0;
  readonly timeToFirstToken = new Histogram();
  readonly interTokenLatency = new Histogram();

  request(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  generation(finish: string, r: { promptTokens: number; cachedTokens: number; completionTokens: number; drafted: number; accepted: number }): void {
    this.finished.set(finish, (this.finished.get(finish) ?? 0) + 1);
    this.promptTokens += r.promptTokens;
    this.cachedTokens += r.cachedTokens;
    this.completionTokens += r.completionTokens;
    this.drafted += r.drafted;
    this.accepted += r.accepted;
  }

  /** A timer for one request's tokens: the first one's delay after `start` (ms), then the gaps between them. */
  tokenClock(start: number): () => void {
    let last = -1;
    return () => {
      const now = performance.now();
      if (last < 0) this.timeToFirstToken.observe((now - start) / 1000);
      else this.interTokenLatency.observe((now - last) / 1000);
      last = now;
    };
  }

  render(src: MetricsSources): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    const labels = (m: Map<string, number>, f: (k: string) => string) => [...m].map(([k, v]) => `${f(k)} ${v}`);
    metric('tide_requests_total', 'counter', 'HTTP requests answered, by route and status.',
      labels(this.requests, (k) => { const [route, status] = k.split(' '); return `tide_requests_total{route="${route}",status="${status}"}`; }));
    metric('tide_generations_total', 'counter', 'Generations ended, by finish reason.',
      labels(this.finished, (k) => `tide_generations_total{finish_reason="${k}"}`));
    metric('tide_prompt_tokens_total', 'counter', 'Prompt tokens of generations.', [`tide_prompt_tokens_total ${this.promptTokens}`]);
    metric('tide_prompt_tokens_cached_total', 'counter', 'Prompt tokens whose keys and values were reused, not computed.', [`tide_prompt_tokens_cached_total ${this.cachedTokens}`]);
    metric('tide_generation_tokens_total', 'counter', 'Tokens generated.', [`tide_generation_tokens_total ${this.completionTokens}`]);
    metric('tide_embedding_inputs_total', 'counter', 'Inputs embedded.', [`tide_embedding_inputs_total ${this.embeddingInputs}`]);
    metric('tide_embedding_batches_total', 'counter', 'Embedder calls, each over the inputs of every request waiting.', [`tide_embedding_batches_total ${src.embedBatcher?.batches ?? 0}`]);
    metric('tide_queue_waiting', 'gauge', 'Requests waiting for a slot.', [`tide_queue_waiting ${src.queue.stats.waiting}`]);
    metric('tide_requests_running', 'gauge', 'Requests holding a slot.', [`tide_requests_running ${src.queue.stats.running}`]);
    metric('tide_batch_sequences', 'gauge', 'Sequences in the running batch.', [`tide_batch_sequences ${src.scheduler?.running ?? 0}`]);
    metric('tide_batch_forwards_total', 'counter', 'Batched forwards run (one per step).', [`tide_batch_forwards_total ${src.scheduler?.stats.steps ?? 0}`]);
    metric('tide_batch_rows_total', 'counter', 'Rows of those forwards over all sequences (÷ forwards: the mean batch).', [`tide_batch_rows_total ${src.scheduler?.stats.rows ?? 0}`]);
    metric('tide_time_to_first_token_seconds', 'histogram', 'From the request\'s arrival to its first generated token.', this.timeToFirstToken.lines('tide_time_to_first_token_seconds'));
    metric('tide_inter_token_latency_seconds', 'histogram', 'Between consecutive generated tokens of a request.', this.interTokenLatency.lines('tide_inter_token_latency_seconds'));
    const pc = src.prefixCache?.stats;
    metric('tide_prefix_cache_hits_total', 'counter', 'Requests that reused cached prompt rows.', [`tide_prefix_cache_hits_total ${pc?.hits ?? 0}`]);
    metric('tide_prefix_cache_misses_total', 'counter', 'Requests that found no cached prompt rows.', [`tide_prefix_cache_misses_total ${pc?.misses ?? 0}`]);
    metric('tide_prefix_cache_bytes', 'gauge', 'Bytes of keys and values the prefix cache holds.', [`tide_prefix_cache_bytes ${pc?.bytes ?? 0}`]);
    metric('tide_speculative_drafted_total', 'counter', 'Draft tokens checked by the model.', [`tide_speculative_drafted_total ${this.drafted}`]);
    metric('tide_speculative_accepted_total', 'counter', 'Draft tokens the model kept.', [`tide_speculative_accepted_total ${this.accepted}`]);
    return out.join('\n') + '\n';
  }

  send(res: ServerResponse, src: MetricsSources): void {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.render(src));
  }
}

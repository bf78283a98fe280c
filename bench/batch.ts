// Many at once: continuous batching, the prefix cache and speculative decoding, measured in one process
// with every configuration's runs interleaved (run 1 of each, then run 2 of each, ...), so a load that
// comes and goes on a shared machine falls on all of them alike. Medians of the runs.
//   streams: a SmolLM2-135M-shaped model (random weights) at q8, 2 threads; 1/2/4/8 concurrent greedy
//     streams of 128 tokens, each with its own 32-id prompt, batched (one Scheduler) and with batching off
//     (one generate() each: the requests interleave token by token, as tide serve did before); and the
//     same model with f32 weights, 1 and 8 streams batched, whose kernels gain more from more rows.
//   prefix: the same model; a 400-id prefix + 16 ids, then the same prefix + 16 other ids: time to first token.
//   speculative: stories260K greedy, 200 tokens: plain, a q4 copy of itself as the draft, prompt lookup.
// Alone: `node --import tsx bench/batch.ts [--quick]` (writes bench/BATCH.md); `npm run bench -- --batch`.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadModel, PrefixCache, type GenerateOptions, type Model } from '../src/index.js';
import { median } from './job.js';
import { ensureModel, SHAPES } from './weights.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STREAMS = [1, 2, 4, 8];
const quickRun = process.argv.includes('--quick');
/** Tokens per stream (the 128; --quick: 32). */
const TOKENS = quickRun ? 32 : 128;
const GREEDY: GenerateOptions = { temperature: 0, stopIds: [] };
/** KV cache positions per stream: the 32-id prompt and 128 tokens fit (each session's cache is ctx rows). */
const CONTEXT = 256;

/** 32 ids per stream, different for each (ids from 300 up, inside any vocabulary here). */
const streamPrompt = (vocab: number, s: number, n = 32) => Array.from({ length: n }, (_, i) => (300 + ((s * 104729 + i * 7919) % 20000)) % vocab);
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };

/** Process CPU seconds (every thread's). */
const cpuS = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

/**
 * One run of N streams. Decode tok/s: the tokens made after every stream has its first one (all prompts
 * are in), over the wall time from then to the last token; per CPU-s: the same tokens over the process's
 * CPU time (all threads, including the pool's spinning between jobs) in that span.
 */
interface StreamRun { tokS: number; tokCpuS: number; ttft: number[]; itl: number[] }

/** N streams at once, batched (one scheduler) or not (a generate() each); every token's time kept. */
async function streams(m: Model, n: number, batched: boolean): Promise<StreamRun> {
  const t0 = performance.now(), ttft: number[] = [], itl: number[] = [];
  let started = 0, from = 0, cpuFrom = 0, last = 0, after = 0;
  const opts = (): GenerateOptions => {
    let prev = -1;
    return { ...GREEDY, maxTokens: TOKENS, onToken: () => {
      const now = performance.now();
      if (prev < 0) {
        ttft.push(now - t0);
        if (++started === n) { from = now; cpuFrom = cpuS(); }
      } else itl.push(now - prev);
      if (started === n && now > from) after++;
      prev = last = now;
    } };
  };
  const prompts = Array.from({ length: n }, (_, s) => streamPrompt(m.spec.vocabSize, s));
  const sessions = prompts.map(() => m.session({ contextLength: CONTEXT }));
  const gs = batched ? m.generateBatch(prompts, sessions.map((session) => ({ ...opts(), session })))
    : prompts.map((p, i) => m.generate(p, { ...opts(), session: sessions[i] }));
  await Promise.all(gs.map((g) => g.result));
  for (const s of sessions) s.dispose();
  return { tokS: after / ((last - from) / 1000), tokCpuS: after / (cpuS() - cpuFrom), ttft, itl };
}

/** Time to first token of a 416-id prompt, then of another with the same 400-id prefix, on one scheduler with a prefix cache. */
async function prefix(m: Model, run: number): Promise<{ first: number; second: number; cached: number }> {
  const sch = m.scheduler({ prefixCache: new PrefixCache(m), maxSequences: 1, contextLength: 512 });
  const head = streamPrompt(m.spec.vocabSize, 1000 + run, 400);
  const ask = async (tail: number) => {
    const t0 = performance.now();
    let first = 0;
    const r = await sch.generate([...head, ...streamPrompt(m.spec.vocabSize, tail, 16)], { ...GREEDY, maxTokens: 1, onToken: () => { first = performance.now() - t0; } }).result;
    return { first, cached: r.cachedTokens };
  };
  const a = await ask(1), b = await ask(2);
  sch.dispose();
  return { first: a.first, second: b.first, cached: b.cached };
}

interface SpecRun { tokS: number; tokCpuS: number; drafted: number; accepted: number }

async function speculative(m: Model, prompt: number[], o: GenerateOptions): Promise<SpecRun> {
  const c0 = cpuS(), r = await m.complete(prompt, { ...GREEDY, maxTokens: 200, ...o });
  return { tokS: r.ids.length / ((r.prefillMs + r.decodeMs) / 1000), tokCpuS: r.ids.length / (cpuS() - c0), drafted: r.drafted, accepted: r.accepted };
}

/**
 * node-llama-cpp's parallel sequences on the same weights would go here (another helper adds
 * node-llama-cpp to the bench): given a GGUF of the SmolLM2 shape, return a row per stream count in the
 * StreamRun shape. Until then none is measured.
 */
async function peerStreams(): Promise<{ name: string; runs: Map<number, StreamRun> } | undefined> {
  return undefined;
}

export async function benchBatch(o: { quick: boolean; log: (s: string) => void }): Promise<string> {
  const runs = o.quick ? 2 : 3;
  const smol = await ensureModel(SHAPES.find((s) => s.name === 'SmolLM2-135M')!, o.log);
  const m = await loadModel(smol, { quantize: 'q8', threads: 2 });
  const f32 = await loadModel(smol, { threads: 2 });
  const stories = await loadModel(`${ROOT}/weights/stories260K`, { threads: 1 });
  const storiesQ4 = await loadModel(`${ROOT}/weights/stories260K`, { threads: 1, quantize: 'q4' });
  // Warm-up: V8 tiers the wasm up lazily; one untimed pass of each path.
  await streams(m, 2, true); await streams(m, 1, false); await prefix(m, -1); await streams(f32, 2, true);
  await speculative(stories, [1], {}); await speculative(stories, [1], { draft: storiesQ4 }); await speculative(stories, [1], { lookup: 4 });

  const got = new Map<string, StreamRun[]>(), pre: Awaited<ReturnType<typeof prefix>>[] = [], spec = new Map<string, SpecRun[]>();
  const story = (await stories.complete([1], { ...GREEDY, maxTokens: 150 })).ids; // a prompt whose continuation repeats it
  const SPEC: [string, number[], GenerateOptions][] = [
    ['plain, BOS', [1], {}], ['q4 self-draft (4 per step), BOS', [1], { draft: storiesQ4, draftTokens: 4 }], ['prompt lookup (4), BOS', [1], { lookup: 4 }],
    ['plain, 151-id story prompt', [1, ...story], {}], ['q4 self-draft (4), story prompt', [1, ...story], { draft: storiesQ4, draftTokens: 4 }],
    ['prompt lookup (4), story prompt', [1, ...story], { lookup: 4 }],
  ];
  for (let r = 0; r < runs; r++) {
    for (const n of STREAMS) {
      for (const batched of [true, false]) {
        if (n === 1 && !batched) continue; // one stream is the same either way
        const k = `${n} ${batched}`, x = await streams(m, n, batched);
        got.set(k, [...(got.get(k) ?? []), x]);
        o.log(`run ${r + 1}/${runs}: ${n} stream${n > 1 ? 's' : ''} ${batched ? 'batched' : 'batching off'}: ${x.tokS.toFixed(1)} tok/s`);
      }
    }
    for (const n of [1, 8]) {
      const k = `f32 ${n}`, x = await streams(f32, n, true);
      got.set(k, [...(got.get(k) ?? []), x]);
      o.log(`run ${r + 1}/${runs}: f32, ${n} stream${n > 1 ? 's' : ''} batched: ${x.tokS.toFixed(1)} tok/s`);
    }
    pre.push(await prefix(m, r));
    for (const [name, p, opts] of SPEC) spec.set(name, [...(spec.get(name) ?? []), await speculative(stories, p, opts)]);
  }
  await Promise.all([m.dispose(), f32.dispose(), stories.dispose(), storiesQ4.dispose()]);
  const peer = await peerStreams();

  const ms = (x: number) => x.toFixed(1);
  const row = (n: number, mode: string, rs: StreamRun[]) => {
    const all = (f: (x: StreamRun) => number[]) => rs.flatMap(f);
    return `| ${n} | ${mode} | ${median(rs.map((x) => x.tokS)).toFixed(1)} | ${median(rs.map((x) => x.tokCpuS)).toFixed(1)} | ${ms(pct(all((x) => x.ttft), 0.5))} | ${ms(pct(all((x) => x.ttft), 0.95))} | ${ms(pct(all((x) => x.itl), 0.5))} | ${ms(pct(all((x) => x.itl), 0.95))} |`;
  };
  const lines = [`## Many at once (bench/batch.ts${o.quick ? ', quick' : ''}: ${runs} runs each, interleaved; medians)`, '',
    `SmolLM2-135M shape, random weights, q8, 2 threads; ${TOKENS} greedy tokens per stream, each with its own 32-id prompt. Decode tok/s: the tokens made once every stream has its first (all prompts in), over the wall time from then to the last token; per CPU-s: the same tokens over the process's CPU time (both threads, the pool's spinning between jobs included) in that span, which other work on the machine disturbs less. TTFT from submitting them all; ITL between a stream's consecutive tokens (p50/p95 over all streams and runs). Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores.`, '',
    '| streams | mode | decode tok/s | per CPU-s | TTFT p50 ms | TTFT p95 ms | ITL p50 ms | ITL p95 ms |', '|---|---|---|---|---|---|---|---|'];
  for (const n of STREAMS) {
    lines.push(row(n, 'batched', got.get(`${n} true`)!));
    if (n > 1) lines.push(row(n, 'batching off', got.get(`${n} false`)!));
    if (peer?.runs.get(n)) lines.push(row(n, peer.name, [peer.runs.get(n)!]));
  }
  for (const n of [1, 8]) lines.push(row(n, 'batched, f32 weights', got.get(`f32 ${n}`)!));
  const one = got.get('1 true')!, eight = got.get('8 true')!;
  const ratios = (a: StreamRun[], b: StreamRun[]) => [median(b.map((x) => x.tokS)) / median(a.map((x) => x.tokS)),
    median(b.map((x) => x.tokCpuS)) / median(a.map((x) => x.tokCpuS)), pct(b.flatMap((x) => x.itl), 0.95) / pct(a.flatMap((x) => x.itl), 0.95)];
  const [f32Speedup, f32CpuSpeedup, f32Itl] = ratios(got.get('f32 1')!, got.get('f32 8')!);
  const speedup = median(eight.map((x) => x.tokS)) / median(one.map((x) => x.tokS));
  const cpuSpeedup = median(eight.map((x) => x.tokCpuS)) / median(one.map((x) => x.tokCpuS));
  const itlRatio = pct(eight.flatMap((x) => x.itl), 0.95) / pct(one.flatMap((x) => x.itl), 0.95);
  const ttftRatio = median(pre.map((x) => x.second)) / median(pre.map((x) => x.first));
  lines.push('', `- 8 batched streams: ${speedup.toFixed(2)}× one stream's decode tokens/s (${cpuSpeedup.toFixed(2)}× per CPU-second; target ≥ 4×); p95 inter-token latency ${itlRatio.toFixed(2)}× one stream's (target ≤ 2×).`,
    `- With f32 weights 8 batched streams make ${f32Speedup.toFixed(2)}× one stream's tokens/s (${f32CpuSpeedup.toFixed(2)}× per CPU-second), p95 inter-token latency ${f32Itl.toFixed(2)}×.`,
    `- Prefix cache: time to first token of a 416-id prompt ${ms(median(pre.map((x) => x.first)))} ms; the next with the same 400-id prefix (${pre[0].cached} ids reused) ${ms(median(pre.map((x) => x.second)))} ms: ${ttftRatio.toFixed(2)}× (target ≤ 0.3×).`,
    `- node-llama-cpp's parallel sequences: ${peer ? peer.name : 'not measured here (bench/batch.ts peerStreams() is the hook)'}.`,
    '', 'Speculative decoding, stories260K (f32, 1 thread: its ops are all too small to split, and a second model’s pool would only spin), 200 greedy tokens (the same ids in every row of a prompt); tok/s over prefill and decode, by the wall clock and per CPU-second:', '',
    '| drafting | tok/s | per CPU-s | drafted | kept | kept % | speed-up (wall) | speed-up (CPU) |', '|---|---|---|---|---|---|---|---|');
  for (const [name] of SPEC) {
    const rs = spec.get(name)!, plain = spec.get(name.endsWith('BOS') ? 'plain, BOS' : 'plain, 151-id story prompt')!;
    const t = median(rs.map((x) => x.tokS)), c = median(rs.map((x) => x.tokCpuS)), d = rs[0].drafted, a = rs[0].accepted;
    lines.push(`| ${name} | ${t.toFixed(0)} | ${c.toFixed(0)} | ${d} | ${a} | ${d ? ((100 * a) / d).toFixed(0) : '—'} | ${(t / median(plain.map((x) => x.tokS))).toFixed(2)}× | ${(c / median(plain.map((x) => x.tokCpuS))).toFixed(2)}× |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const table = await benchBatch({ quick, log: (s) => console.error(s) });
  writeFileSync(`${ROOT}/bench/BATCH.md`, `# Tide: many at once\n\nWritten by bench/batch.ts on ${new Date().toISOString().slice(0, 16)} UTC.\n\n${table}\n`);
  console.log(table);
  process.exit(0);
}

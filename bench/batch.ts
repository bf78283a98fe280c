// Many at once: continuous batching, the prefix cache and speculative decoding, measured in one process
// (node-llama-cpp's rows in a child of their own) with every configuration's runs interleaved (run 1 of
// each, then run 2 of each, ...), so a load that comes and goes on a shared machine falls on all of them
// alike. Medians of the runs.
//   streams: a SmolLM2-135M-shaped model (random weights) at q8, 2 threads; 1/2/4/8 concurrent greedy
//     streams of 128 tokens, each with its own 32-id prompt, batched (one Scheduler) and with batching off
//     (one generate() each: the requests interleave token by token, as tide serve did before); and the
//     same model with f32 weights, 1 and 8 streams batched, whose kernels gain more from more rows. Beside
//     them node-llama-cpp 3.22.1 (its prebuilt CPU binary) on the Q8_0 GGUF of the same weights, one context
//     with 1/2/4/8 parallel sequences (one llama_decode per step for all), the same prompts, 2 threads (and 1
//     thread for 1 and 8), in a child process per run (bench/batch-llamacpp.ts), each run right after Tide's.
//   prefix: the same model; a 400-id prefix + 16 ids, then the same prefix + 16 other ids: time to first token.
//   speculative: stories260K greedy, 200 tokens: plain, a q4 copy of itself as the draft, prompt lookup.
// Alone: `node --import tsx bench/batch.ts [--quick]` (writes bench/BATCH.md); `npm run bench -- --batch`.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadModel, PrefixCache, type GenerateOptions, type Model } from '../src/index.js';
import { childFailure, cpuS, median, streamClock, streamPrompt, type StreamRun } from './job.js';
import { ensureModel, SHAPES } from './weights.js';
import { writeGguf } from './gguf.js';
import type { PeerJob } from './batch-llamacpp.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STREAMS = [1, 2, 4, 8];
const quickRun = process.argv.includes('--quick');
/** Tokens per stream (the issue's 128; --quick: 32). */
const TOKENS = quickRun ? 32 : 128;
const GREEDY: GenerateOptions = { temperature: 0, stopIds: [] };
/** KV cache positions per stream: the 32-id prompt and 128 tokens fit (each session's cache is ctx rows). */
const CONTEXT = 256;

const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };

/** N streams at once, batched (one scheduler) or not (a generate() each); every token's time kept (job.ts's streamClock). */
async function streams(m: Model, n: number, batched: boolean): Promise<StreamRun> {
  const clock = streamClock(n);
  const opts = (s: number): GenerateOptions => ({ ...GREEDY, maxTokens: TOKENS, onToken: () => clock.token(s) });
  const prompts = Array.from({ length: n }, (_, s) => streamPrompt(m.spec.vocabSize, s));
  const sessions = prompts.map(() => m.session({ contextLength: CONTEXT }));
  const gs = batched ? m.generateBatch(prompts, sessions.map((session, s) => ({ ...opts(s), session })))
    : prompts.map((p, s) => m.generate(p, { ...opts(s), session: sessions[s] }));
  await Promise.all(gs.map((g) => g.result));
  for (const s of sessions) s.dispose();
  return clock.result();
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
 * node-llama-cpp's rows: its parallel sequences at 2 threads for every stream count (Tide's rows' threads),
 * and at 1 thread for 1 and 8: on 2 cores its 2 threads contend with Node's main thread, which feeds every
 * step (bench/plan.ts gives its single-stream rows a 1-thread row for the same reason). The comparison's
 * rows first, should a run be cut off.
 */
const PEER_ROWS = [{ threads: 2, n: 1 }, { threads: 2, n: 8 }, { threads: 1, n: 1 }, { threads: 1, n: 8 }, { threads: 2, n: 2 }, { threads: 2, n: 4 }];
const PEER = 'node-llama-cpp 3.22.1';
/** A row's run stops after this many seconds (its rates over the tokens made), a child after PEER_TIMEOUT_S. */
const PEER_CAP_S = quickRun ? 8 : 20, PEER_TIMEOUT_S = quickRun ? 75 : 150;
type PeerGot = { threads: number; n: number; run: StreamRun; cut?: number };
interface Peer { runs: Map<string, StreamRun[]>; cut: Map<string, number>; errors: string[] }

/**
 * One run of each node-llama-cpp row, in a child process (bench/batch-llamacpp.ts) so that its native
 * threads share no process with Tide's: the Q8_0 GGUF of the same weights (bench/gguf.ts, cached beside
 * them as bench/plan.ts names it). A failure is kept as one line for the table, never thrown.
 */
async function peerRun(peer: Peer, dir: string, vocab: number): Promise<{ got: PeerGot[]; why?: string }> {
  let why: string | undefined;
  const got: PeerGot[] = [];
  try {
    const file = await writeGguf(dir, JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')), `${dir}/model.Q8_0.gguf`, 'Q8_0');
    const job: PeerJob = { file, vocab, rows: PEER_ROWS, tokens: TOKENS, capS: PEER_CAP_S, context: CONTEXT, prompt: 32 };
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/batch-llamacpp.ts', JSON.stringify(job)],
      { cwd: ROOT, encoding: 'utf8', timeout: PEER_TIMEOUT_S * 1000, maxBuffer: 1 << 24 });
    const out = (r.stdout ?? '').split('\n');
    for (const l of out.filter((l) => l.startsWith('RUN '))) {
      const x = JSON.parse(l.slice(4)) as PeerGot, k = `${x.threads} ${x.n}`;
      got.push(x);
      peer.runs.set(k, [...(peer.runs.get(k) ?? []), x.run]);
      if (x.cut) peer.cut.set(k, Math.min(peer.cut.get(k) ?? TOKENS, x.cut));
    }
    if (!out.includes('DONE')) {
      why = r.signal === 'SIGTERM' ? `timed out after ${PEER_TIMEOUT_S} s` : childFailure(r);
    }
  } catch (e) { why = (e as Error).message; }
  if (why) peer.errors.push(why.slice(0, 160));
  return { got, why: why?.slice(0, 160) };
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

  const peer: Peer = { runs: new Map(), cut: new Map(), errors: [] };
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
    // node-llama-cpp's run r right after Tide's, so that the same load falls on both.
    const pr = await peerRun(peer, smol, m.spec.vocabSize);
    for (const x of pr.got) o.log(`run ${r + 1}/${runs}: ${PEER}, ${x.n} sequence${x.n > 1 ? 's' : ''}, ${x.threads} thread${x.threads > 1 ? 's' : ''}: ${x.run.tokS.toFixed(1)} tok/s${x.cut ? ` (cut at ${PEER_CAP_S} s: ${x.cut} tokens a stream)` : ''}`);
    if (pr.why) o.log(`run ${r + 1}/${runs}: ${PEER} failed: ${pr.why}`);
    for (const n of [1, 8]) {
      const k = `f32 ${n}`, x = await streams(f32, n, true);
      got.set(k, [...(got.get(k) ?? []), x]);
      o.log(`run ${r + 1}/${runs}: f32, ${n} stream${n > 1 ? 's' : ''} batched: ${x.tokS.toFixed(1)} tok/s`);
    }
    pre.push(await prefix(m, r));
    for (const [name, p, opts] of SPEC) spec.set(name, [...(spec.get(name) ?? []), await speculative(stories, p, opts)]);
  }
  await Promise.all([m.dispose(), f32.dispose(), stories.dispose(), storiesQ4.dispose()]);

  const ms = (x: number) => x.toFixed(1);
  const row = (n: number, mode: string, rs: StreamRun[]) => {
    const all = (f: (x: StreamRun) => number[]) => rs.flatMap(f);
    return `| ${n} | ${mode} | ${median(rs.map((x) => x.tokS)).toFixed(1)} | ${median(rs.map((x) => x.tokCpuS)).toFixed(1)} | ${ms(pct(all((x) => x.ttft), 0.5))} | ${ms(pct(all((x) => x.ttft), 0.95))} | ${ms(pct(all((x) => x.itl), 0.5))} | ${ms(pct(all((x) => x.itl), 0.95))} |`;
  };
  const peerMode = (threads: number, n: number) => `${PEER}, ${n === 1 ? 'one sequence' : `${n} parallel sequences`}${threads === 2 ? '' : `, ${threads} thread`}` +
    (peer.cut.has(`${threads} ${n}`) ? ` (a run cut at ${PEER_CAP_S} s, ${peer.cut.get(`${threads} ${n}`)} tokens a stream)` : '');
  const peerRow = (threads: number, n: number) => {
    const rs = peer.runs.get(`${threads} ${n}`);
    return rs?.length ? row(n, peerMode(threads, n), rs) : `| ${n} | ${peerMode(threads, n)} | failed: ${peer.errors[0] ?? 'no result'} | | | | | |`;
  };
  const lines = [`## Many at once (bench/batch.ts${o.quick ? ', quick' : ''}: ${runs} runs each, interleaved; medians)`, '',
    `SmolLM2-135M shape, random weights, q8, 2 threads; ${TOKENS} greedy tokens per stream, each with its own 32-id prompt. Decode tok/s: the tokens made once every stream has its first (all prompts in), over the wall time from then to the last token; per CPU-s: the same tokens over the process's CPU time (both threads, the pool's spinning between jobs included) in that span, which other work on the machine disturbs less. TTFT from submitting them all; ITL between a stream's consecutive tokens (p50/p95 over all streams and runs). ${PEER} rows: its prebuilt CPU binary (native llama.cpp) on the Q8_0 GGUF of the same weights (bench/gguf.ts), the same prompts, one context with N sequences (its batching decodes every sequence's next token in one llama_decode per step), greedy through its own sampler, each run in a child process of its own (bench/batch-llamacpp.ts: its CPU time is that process's) right after Tide's; 2 threads as Tide's, and 1 thread for 1 and 8 sequences, since its 2 threads share the 2 cores with Node's main thread, which feeds every step; a run that passes ${PEER_CAP_S} s stops there (its row says so). Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores.`, '',
    '| streams | mode | decode tok/s | per CPU-s | TTFT p50 ms | TTFT p95 ms | ITL p50 ms | ITL p95 ms |', '|---|---|---|---|---|---|---|---|'];
  for (const n of STREAMS) {
    lines.push(row(n, 'batched', got.get(`${n} true`)!));
    if (n > 1) lines.push(row(n, 'batching off', got.get(`${n} false`)!));
    lines.push(peerRow(2, n));
  }
  for (const n of [1, 8]) lines.push(row(n, 'batched, f32 weights', got.get(`f32 ${n}`)!));
  for (const n of [1, 8]) lines.push(peerRow(1, n));
  const one = got.get('1 true')!, eight = got.get('8 true')!;
  const ratios = (a: StreamRun[], b: StreamRun[]) => [median(b.map((x) => x.tokS)) / median(a.map((x) => x.tokS)),
    median(b.map((x) => x.tokCpuS)) / median(a.map((x) => x.tokCpuS)), pct(b.flatMap((x) => x.itl), 0.95) / pct(a.flatMap((x) => x.itl), 0.95)];
  const [f32Speedup, f32CpuSpeedup, f32Itl] = ratios(got.get('f32 1')!, got.get('f32 8')!);
  const speedup = median(eight.map((x) => x.tokS)) / median(one.map((x) => x.tokS));
  const cpuSpeedup = median(eight.map((x) => x.tokCpuS)) / median(one.map((x) => x.tokCpuS));
  const itlRatio = pct(eight.flatMap((x) => x.itl), 0.95) / pct(one.flatMap((x) => x.itl), 0.95);
  const tokS = (rs: StreamRun[] | undefined) => (rs?.length ? median(rs.map((x) => x.tokS)) : NaN);
  const tokCpuS = (rs: StreamRun[] | undefined) => (rs?.length ? median(rs.map((x) => x.tokCpuS)) : NaN);
  const peerLine = () => {
    const p8 = peer.runs.get('2 8'), p1 = peer.runs.get('2 1');
    if (!p8?.length) return `- ${PEER}'s parallel sequences: not measured (${peer.errors[0] ?? 'no result'}).`;
    return `- Against ${PEER}'s 8 parallel sequences (same runs, same 2 threads, its Q8_0 file of the same weights): Tide's 8 batched streams make ${(tokS(eight) / tokS(p8)).toFixed(2)}× its decode tokens/s (${(tokCpuS(eight) / tokCpuS(p8)).toFixed(2)}× per CPU-second); its own 8 sequences make ${(tokS(p8) / tokS(p1)).toFixed(2)}× its one sequence's tokens/s (${(tokCpuS(p8) / tokCpuS(p1)).toFixed(2)}× per CPU-second), and ${(tokS(peer.runs.get('1 8')) / tokS(peer.runs.get('1 1'))).toFixed(2)}× at 1 thread.` +
      (peer.errors.length ? ` (${peer.errors.length} of ${runs} runs failed: ${peer.errors[0]}.)` : '');
  };
  const ttftRatio = median(pre.map((x) => x.second)) / median(pre.map((x) => x.first));
  lines.push('', `- 8 batched streams: ${speedup.toFixed(2)}× one stream's decode tokens/s (${cpuSpeedup.toFixed(2)}× per CPU-second; target ≥ 4×); p95 inter-token latency ${itlRatio.toFixed(2)}× one stream's (target ≤ 2×).`,
    `- With f32 weights 8 batched streams make ${f32Speedup.toFixed(2)}× one stream's tokens/s (${f32CpuSpeedup.toFixed(2)}× per CPU-second), p95 inter-token latency ${f32Itl.toFixed(2)}×.`,
    `- Prefix cache: time to first token of a 416-id prompt ${ms(median(pre.map((x) => x.first)))} ms; the next with the same 400-id prefix (${pre[0].cached} ids reused) ${ms(median(pre.map((x) => x.second)))} ms: ${ttftRatio.toFixed(2)}× (target ≤ 0.3×).`,
    peerLine(),
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

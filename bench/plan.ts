// Which configurations the benchmark measures per shape, sized to finish in 15 minutes on 2 cores.
import type { Job } from './job.js';
import type { Shape } from './weights.js';
import { writeLlamaOnnx } from './onnx-llama.js';
import { writeGguf } from './gguf.js';

export interface Planned { job: Job; timeoutS: number; note?: string }

/** Shapes whose weights are f32 files and llama architecture: every peer row runs on these. */
const PEER_SHAPES = ['stories15M', 'SmolLM2-135M'];
/**
 * Qwen2.5-0.5B (qwen2: q/k/v biases, bf16 file). wllama: F32 (the bf16 values widened, exactly; its
 * fastest path: a BF16 GGUF prefills 4× slower in wllama 2.3.7, past the budget) and Q8_0; one wllama
 * 0.5B run is slow (Q8_0: ~15 s), so 16 decode tokens, still 5 runs (the minimum). onnxruntime-web:
 * 2 threads, f32 weights in an external data file (2 GB, past protobuf's limit). Ordered by what matters
 * most (wllama Q8_0, slower than its F32, last), as the budget may skip the last. The 1.5B shape gets no peer rows: its F32 (7 GB) does not fit wasm32, and
 * the others would not fit the 15 minutes (a single-thread Q8_0 run there is ~3× the 0.5B's).
 */
const QWEN_PEERS = { shape: 'Qwen2.5-0.5B', runs: 5, decode: 16, nativeDecode: 32 };

/**
 * node-llama-cpp (native llama.cpp, its prebuilt CPU binary) on the same GGUF files as wllama, at 2 threads
 * as Tide's rows, on every shape a peer runs: the native reference the targets' ratios are taken against.
 * On the 2-core machine its 2-thread decode collapses (stories15M F32: 8 tok/s against 156 at 1 thread,
 * measured side by side: llama.cpp's workers spin between graphs while Node's main thread, which feeds
 * each token, needs a core), so the llama shapes get 1-thread rows too, and the targets take its best.
 */
/**
 * Issue 15's prefill at 512 and 2048 tokens, SmolLM2-135M at 2 threads, prefill only, kept light (~50 s in
 * all): 512 tokens f32 and q8, 3 runs each (~3 s a run); 2048 tokens q8 only, one run (~30 s on 2 busy
 * cores: attention grows with the square of the prompt). f32 at 2048 (~45 s a run) is left out.
 */
export const LONG_PREFILLS: [Job['quant'], number, number][] = [['none', 512, 3], ['q8', 512, 3], ['q8', 2048, 1]];

const LLAMACPP_NOTE = 'node-llama-cpp 3.22.1, prebuilt CPU binary (native llama.cpp)';

export async function plan(shape: Shape, dir: string, config: Record<string, any>,
                           o: { quick: boolean; noPeers: boolean }): Promise<Planned[]> {
  const big = shape.name.startsWith('DeepSeek'), mid = shape.name.startsWith('Qwen');
  const runs = o.quick ? 2 : 5, prompt = 128;
  const decode = o.quick ? 32 : big ? 32 : mid ? 64 : 128;
  const note = o.quick ? 'quick: 2 runs, 32 decode tokens' : decode < 128 ? `${decode} decode tokens (time budget)` : undefined;
  const base = { shape: shape.name, dir, runs, prompt, decode };
  const timeoutS = big ? 420 : 240;
  const out: Planned[] = [];
  const tide = (quant: Job['quant'], threads: number) => out.push({
    job: { ...base, engine: 'tide', quant, dtype: quant === 'none' ? shape.fileDtype.toLowerCase() : quant, threads }, timeoutS, note,
  });
  // SmolLM2-135M carries the targets: every variant. The 1.5B shape: q8 only (a run takes minutes).
  if (shape.name === 'SmolLM2-135M') {
    tide('none', 1); tide('none', 2); tide('q8', 1); tide('q8', 2); tide('q4', 2);
    if (!o.quick) for (const [quant, prompt, runs] of LONG_PREFILLS) {
      out.push({ job: { ...base, engine: 'tide', quant, dtype: quant === 'none' ? 'f32' : quant, threads: 2, prompt, runs, decode: 0, warmPrompt: 128 }, timeoutS,
        note: `prefill only: a ${prompt}-token prompt, ${runs} run${runs > 1 ? 's' : ''} after an untimed 128-token one (light: issue 15's long prefills)` });
    }
  }
  else if (shape.fileDtype === 'F32') { tide('none', 1); tide('none', 2); tide('q8', 2); tide('q4', 2); }
  else if (big) tide('q8', 2);
  else { tide('q8', 2); tide('none', 2); tide('q4', 2); }
  if (!o.noPeers && !o.quick && shape.name === QWEN_PEERS.shape) await qwenPeers(out, base, dir, config, timeoutS);
  if (o.noPeers || !PEER_SHAPES.includes(shape.name) || (o.quick && shape.name !== 'stories15M')) return out;
  for (const t of ['F32', 'Q8_0'] as const) {
    const file = await writeGguf(dir, config, `${dir}/model.${t}.gguf`, t);
    for (const threads of [2, 1]) out.push({ job: { ...base, engine: 'llamacpp', quant: 'none', dtype: t, threads, file }, timeoutS, note: LLAMACPP_NOTE });
    out.push({ job: { ...base, engine: 'wllama', quant: 'none', dtype: t, threads: 1, file }, timeoutS, note: '@wllama/wllama 2.3.7 single-thread build' });
  }
  const file = await writeLlamaOnnx(dir, config, `${dir}/model.prefill${prompt}.onnx`, prompt);
  for (const threads of [1, 2]) {
    out.push({ job: { ...base, engine: 'ort', quant: 'none', dtype: 'f32', threads, file, decode: 0 }, timeoutS, note: 'onnxruntime-web 1.30 wasm; prefill-only graph (no KV cache)' });
  }
  return out;
}

async function qwenPeers(out: Planned[], base: Omit<Job, 'engine' | 'quant' | 'dtype' | 'threads'>, dir: string,
                         config: Record<string, any>, timeoutS: number): Promise<void> {
  const wl = async (t: 'F32' | 'Q8_0') => out.push({
    job: { ...base, runs: QWEN_PEERS.runs, decode: QWEN_PEERS.decode, engine: 'wllama', quant: 'none', dtype: t, threads: 1, file: await writeGguf(dir, config, `${dir}/model.${t}.gguf`, t) },
    timeoutS, note: `@wllama/wllama 2.3.7 single-thread build; ${QWEN_PEERS.runs} runs, ${QWEN_PEERS.decode} decode tokens (time budget)`,
  });
  for (const t of ['F32', 'Q8_0'] as const) {
    out.push({ job: { ...base, decode: QWEN_PEERS.nativeDecode, engine: 'llamacpp', quant: 'none', dtype: t, threads: 2, file: await writeGguf(dir, config, `${dir}/model.${t}.gguf`, t) },
      timeoutS, note: `${LLAMACPP_NOTE}; ${QWEN_PEERS.nativeDecode} decode tokens (time budget)` });
  }
  await wl('F32');
  const file = await writeLlamaOnnx(dir, config, `${dir}/model.prefill${base.prompt}.onnx`, base.prompt);
  out.push({ job: { ...base, engine: 'ort', quant: 'none', dtype: 'f32', threads: 2, file, decode: 0 }, timeoutS,
    note: 'onnxruntime-web 1.30 wasm; prefill-only graph (no KV cache); weights as ONNX external data' });
  await wl('Q8_0');
}

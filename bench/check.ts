// Are the peers really running the same weights? Prints one line "CHECK <text>" with two checks.
// stories15M after the bench prompt: Tide's last-position logits against onnxruntime-web's (max abs
// difference) and wllama's F32 GGUF (top-5 tokens and probabilities against Tide's softmax). The real
// small qwen2 model test/fixtures/models/tiny-qwen2 after its oracle's 20 ids: Tide's logits against HF
// transformers' (test/oracles/tiny-qwen2.json), and wllama's on a qwen2 GGUF that bench/gguf.ts writes
// from it (all 300 probabilities), and onnxruntime-web's on bench/onnx-llama.ts's qwen2 graph. wllama
// runs with an f32 KV cache here, as Tide's.
//   node --import tsx bench/check.ts DIR  (DIR holds the stories15M model.safetensors, model.F32.gguf, model.prefill128.onnx)
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/index.js';
import { benchPrompt } from './job.js';
import { writeGguf } from './gguf.js';
import { writeLlamaOnnx } from './onnx-llama.js';
import { CACHE } from './weights.js';
import { runWllamaTop } from './wllama.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const e1 = (x: number) => x.toExponential(1);

async function tideLogits(dir: string, ids: number[]): Promise<Float32Array> {
  const m = await loadModel(dir, { threads: 1 });
  const logits = m.session({ contextLength: 128, prefillChunk: 128 }).prefill(ids);
  await m.dispose();
  return Float32Array.from(logits);
}

const logSoftmax = (x: ArrayLike<number>) => {
  const a = Array.from(x), max = a.reduce((m, v) => Math.max(m, v), -Infinity), lse = max + Math.log(a.reduce((s, v) => s + Math.exp(v - max), 0));
  return a.map((v) => v - lse);
};
const topK = (x: number[], k: number) => Array.from(x.keys()).sort((a, b) => x[b] - x[a]).slice(0, k);

/** Max |onnxruntime-web's last-position logits − want| on a prefill graph of ids.length tokens. */
async function ortDiff(file: string, ids: number[], want: ArrayLike<number>): Promise<number> {
  const ort = await import('onnxruntime-web');
  const s = await ort.InferenceSession.create(readFileSync(file));
  const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
  await s.release();
  const o = out.logits.data as Float32Array;
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(o[i] - want[i]));
  return d;
}

async function stories15M(dir: string): Promise<string> {
  const prompt = benchPrompt(32000, 128);
  const tide = await tideLogits(dir, prompt);
  const ortD = await ortDiff(`${dir}/model.prefill128.onnx`, prompt, tide);
  const lp = logSoftmax(tide), top = topK(lp, 5);
  const wl = await runWllamaTop(`${dir}/model.F32.gguf`, prompt, 5, true);
  const sameTop = wl.every((t, i) => t.token === top[i]);
  const pDiff = Math.max(...wl.map((t) => Math.abs(t.p - Math.exp(lp[t.token]))));
  return `stories15M, bench prompt: onnxruntime-web logits vs Tide max |Δ| = ${e1(ortD)}; ` +
    `wllama F32 top-5 ids ${sameTop ? 'equal' : 'DIFFER from'} Tide's (${top.join(', ')}), max |Δp| = ${e1(pDiff)}`;
}

async function tinyQwen2(): Promise<string> {
  const dir = join(ROOT, 'test/fixtures/models/tiny-qwen2');
  const o = JSON.parse(readFileSync(join(ROOT, 'test/oracles/tiny-qwen2.json'), 'utf8')).logits[0] as { ids: number[]; logits: number[][] };
  const hf = o.logits[o.ids.length - 1], tide = await tideLogits(dir, o.ids);
  let hfDiff = 0;
  for (let i = 0; i < hf.length; i++) hfDiff = Math.max(hfDiff, Math.abs(tide[i] - hf[i]));
  const out = join(CACHE, 'tiny-qwen2-f32');
  mkdirSync(out, { recursive: true });
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  const wl = await runWllamaTop(await writeGguf(dir, config, `${out}/model.F32.gguf`, 'F32'), o.ids, -1, true);
  const lp = logSoftmax(tide), top = topK(lp, 5), hfTop = topK(hf, 5);
  const same = wl.slice(0, 5).every((t, i) => t.token === top[i] && t.token === hfTop[i]);
  const ortD = await ortDiff(await writeLlamaOnnx(dir, config, `${out}/model.prefill${o.ids.length}.onnx`, o.ids.length), o.ids, hf);
  let dlp = 0, dp = 0;
  for (const t of wl) { dlp = Math.max(dlp, Math.abs(Math.log(t.p) - lp[t.token])); dp = Math.max(dp, Math.abs(t.p - Math.exp(lp[t.token]))); }
  return `tiny-qwen2 (qwen2 arch, q/k/v biases, GQA 8/2, f32), its oracle's 20 ids: Tide logits vs HF transformers max |Δ| = ${e1(hfDiff)}; ` +
    `wllama qwen2 F32 GGUF top-5 ids ${same ? 'equal' : 'DIFFER from'} Tide's and HF's (${top.join(', ')}), ` +
    `over all ${wl.length} tokens max |Δ log p| = ${e1(dlp)}, max |Δp| = ${e1(dp)}; onnxruntime-web qwen2 graph logits vs HF max |Δ| = ${e1(ortD)}`;
}

const parts = [await stories15M(process.argv[2]), await tinyQwen2()];
console.log(`CHECK ${parts.join('. ')}`);
process.exit(0);

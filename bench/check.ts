// Are the peers really running the same weights? On the stories15M shape, after the bench prompt:
// Tide's last-position logits against onnxruntime-web's (max abs difference) and wllama's F32 GGUF
// (its top-5 tokens and probabilities against Tide's softmax). Prints "CHECK <one line>".
//   node --import tsx bench/check.ts DIR  (DIR holds model.safetensors, model.F32.gguf, model.prefill128.onnx)
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/index.js';
import { benchPrompt } from './job.js';

const dir = process.argv[2];
const prompt = benchPrompt(32000, 128);
const m = await loadModel(dir, { threads: 1 });
const tide = m.session({ contextLength: 128, prefillChunk: 128 }).prefill(prompt);
await m.dispose();

const ort = await import('onnxruntime-web');
const s = await ort.InferenceSession.create(readFileSync(`${dir}/model.prefill128.onnx`));
const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, 128]) });
const o = out.logits.data as Float32Array;
let ortDiff = 0;
for (let i = 0; i < tide.length; i++) ortDiff = Math.max(ortDiff, Math.abs(o[i] - tide[i]));

const max = Math.max(...tide);
const e = tide.map((x) => Math.exp(x - max)), z = e.reduce((a, b) => a + b, 0);
const top = Array.from(e.keys()).sort((a, b) => e[b] - e[a]).slice(0, 5);
const { runWllamaTop } = await import('./wllama.js');
const wl = await runWllamaTop(`${dir}/model.F32.gguf`, prompt, 5);
const sameTop = wl.every((t, i) => t.token === top[i]);
const pDiff = Math.max(...wl.map((t) => Math.abs(t.p - e[t.token] / z)));
console.log(`CHECK stories15M, bench prompt: onnxruntime-web logits vs Tide max |Δ| = ${ortDiff.toExponential(1)}; ` +
  `wllama F32 top-5 ids ${sameTop ? 'equal' : 'DIFFER from'} Tide's (${top.join(', ')}), max |Δp| = ${pDiff.toExponential(1)}`);
process.exit(0);

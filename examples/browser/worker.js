// The page's Web Worker: loads the model with Tide's browser bundle and streams generations back.
// Threads only when the page is cross-origin isolated (SharedArrayBuffer); one thread otherwise.
import { generate, loadModel } from '../../dist-bundle/tide.js';

let model, stop;
const post = (m) => self.postMessage(m);
const mb = (n) => (n / 2 ** 20).toFixed(2);

async function load({ model: source, offline }) {
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  await model?.dispose();
  model = await loadModel(source, {
    threads, offline,
    // Downloads are most of the bar; copying weights into wasm memory is the last 10%.
    onDownloadProgress: (p) => post({ type: 'progress', fraction: 0.9 * p.loadedBytes / p.totalBytes,
      text: `${p.cached ? 'From cache' : 'Downloading'} ${p.file}: ${mb(p.loadedBytes)} of ${mb(p.totalBytes)} MiB` }),
    onProgress: (p) => post({ type: 'progress', fraction: 0.9 + 0.1 * p.loadedBytes / p.totalBytes,
      text: `Loading weights: ${mb(p.loadedBytes)} of ${mb(p.totalBytes)} MiB` }),
  });
  post({ type: 'loaded', info: model.info });
}

async function run({ prompt, maxTokens, temperature }) {
  stop = new AbortController();
  const g = generate(model, prompt, { maxTokens, temperature, signal: stop.signal });
  for await (const text of g) post({ type: 'piece', text });
  const r = await g.result;
  post({ type: 'done', result: { promptIds: r.promptIds, ids: r.ids, text: r.text, finishReason: r.finishReason,
    prefillTokS: r.prefillTokS, decodeTokS: r.decodeTokS } });
}

self.onmessage = ({ data: m }) => {
  if (m.type === 'stop') return stop?.abort();
  const job = m.type === 'load' ? load(m) : run(m);
  job.catch((e) => post({ type: 'error', message: `${e.name}: ${e.message}` }));
};

// A page as a user writes one: the package by name, stories260K from ./stories260K/ beside the page,
// greedy 20 tokens; two threads (a Web Worker) where the page is cross-origin isolated.
import { generate, loadModel } from 'tide-infer';

async function run() {
  const threads = crossOriginIsolated ? 2 : 1;
  const model = await loadModel(new URL('./stories260K/', location.href).href, { threads, cache: false });
  const r = await generate(model, 'Once upon a time', { maxTokens: 20, temperature: 0 }).result;
  await model.dispose();
  return { text: r.text, ids: r.ids, threads: model.info.threads };
}

window.result = run().catch((e) => ({ error: `${e.name}: ${e.message}` }));
window.result.then((r) => { document.getElementById('out').textContent = JSON.stringify(r); });

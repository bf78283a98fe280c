// Run by runtimes.test.ts under Deno and Bun: the ESM bundle loads stories260K from a directory and
// from a URL (through the file cache in $TIDE_CACHE) and prints both runs' greedy ids as JSON.
import { generateIds, loadModel } from '../../dist-bundle/tide.js';

const [dir, url] = [process.argv.at(-2), process.argv.at(-1)];
const out = {};
for (const [name, source] of [['dir', dir], ['url', url]]) {
  const model = await loadModel(source, { threads: 1 });
  out[name] = generateIds(model, model.session(), [1], { maxTokens: 20, temperature: 0 }).ids;
  out.simd = model.info.simd;
  await model.dispose();
}
console.log(JSON.stringify(out));

// Plain ESM in Node (test/e2e/installed.test.ts): the package by name, and its tide-infer/node part.
// stories260K from the directory argv[2] on argv[3] threads, greedy 20 tokens; prints {text, ids, threads, dirSource}.
import { generate, loadModel } from 'tide-infer';
import { dirSource } from 'tide-infer/node';

const model = await loadModel(process.argv[2], { threads: Number(process.argv[3]) });
const r = await generate(model, 'Once upon a time', { maxTokens: 20, temperature: 0 }).result;
console.log(JSON.stringify({ text: r.text, ids: r.ids, threads: model.info.threads, dirSource: typeof dirSource }));
await model.dispose();

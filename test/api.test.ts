// The public API's habits: transformers.js's pipeline(), one-string embed, misspelled options refused,
// `await using` and use after dispose.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadEmbedder, loadModel, OptionError, pipeline } from '../src/index.js';
import { oracle, fixtureModel, WEIGHTS } from './paths.js';

const STORIES = `${WEIGHTS}/stories260K`;
const prompts = oracle('stories260K-prompts.json');

const rejects = async (p: Promise<unknown> | (() => unknown), re: RegExp) => {
  try { await (typeof p === 'function' ? p() : p); } catch (e) {
    assert.instance(e, OptionError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an OptionError matching ${re}`);
};

test("pipeline('text-generation') completes a prompt as loadModel's complete() does", async () => {
  const generate = await pipeline('text-generation', STORIES, { threads: 1 });
  const c = prompts.cases[0];
  const r = await generate(c.prompt, { maxTokens: c.greedy_ids.length, temperature: 0 });
  assert.equal(r.ids, c.greedy_ids);
  await generate.dispose();
});

test("pipeline('feature-extraction') embeds one string or many", async () => {
  const embed = await pipeline('feature-extraction', fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  const ids = [[20, 36, 118, 81, 189, 48, 157]];
  const [direct] = await embed.model.embed(ids);
  assert.is(direct.length, 64);
  await embed.dispose();
  await rejects(pipeline('summarization' as never, STORIES), /task "summarization" is not supported; supported: feature-extraction, text-generation/);
});

test('misspelled option keys are an OptionError naming the key, with a suggestion', async () => {
  await rejects(loadModel(STORIES, { quantise: 'q8' } as never), /loadModel options: unknown option "quantise"; did you mean "quantize"\?/);
  await rejects(loadEmbedder(fixtureModel('tiny-bert'), { pool: 'mean' } as never), /loadEmbedder options: unknown option "pool"/);
  const m = await loadModel(STORIES, { threads: 1 });
  await rejects(() => m.session({ context: 8 } as never), /session options: unknown option "context"/);
  await rejects(m.complete('Once', { maxToken: 3 } as never), /generate options: unknown option "maxToken"; did you mean "maxTokens"\?/);
  await m.dispose();
});

test('await using disposes; a disposed model or embedder is an OptionError, not a crash', async () => {
  let kept;
  {
    await using m = await loadModel(STORIES, { threads: 1 });
    kept = m;
    assert.is(m.session().prefill([1]).length, 512);
  }
  await rejects(() => kept.session(), /used after dispose\(\)/);
  const e = await loadEmbedder(fixtureModel('tiny-bert'), { threads: 1, onWarning: () => {} });
  await e.dispose();
  await rejects(e.embed([[1, 2, 3]]), /embedder used after dispose\(\)/);
});

test.run();

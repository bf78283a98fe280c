// Decoder families as sentence embedders, against sentence-transformers 6.0.1 run in float64
// (test/oracles/tiny-qwen3-embed.json, tiny-embeddinggemma.json): Qwen3-Embedding's layout (causal
// attention, last-token pooling, Normalize) and EmbeddingGemma's (bidirectional attention with its sliding
// window, mean pooling, two Dense modules, Normalize). Every element within 1e-4; at 1 and 2 threads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadEmbedder } from '../../src/index.js';
import { fixtureModel, oracle } from '../paths.js';

interface EmbedOracle { batches: { ids: number[][]; sentence_embedding: number[][] }[] }

for (const name of ['tiny-qwen3-embed', 'tiny-embeddinggemma']) {
  const o = oracle<EmbedOracle>(`${name}.json`);
  for (const threads of [1, 2]) {
    test(`${name} (threads ${threads}): sentence embeddings within 1e-4 of sentence-transformers`, async () => {
      const e = await loadEmbedder(fixtureModel(name), { threads, onWarning: () => {} });
      e.ops.minParallelWork = 0;
      try {
        for (const b of o.batches) {
          for (const batchSize of [1, b.ids.length]) {
            const got = await e.embed(b.ids, { batchSize });
            let worst = 0;
            got.forEach((v, i) => v.forEach((x, j) => { worst = Math.max(worst, Math.abs(x - b.sentence_embedding[i][j])); }));
            assert.ok(worst <= 1e-4, `${name} batch ${batchSize}: max |Δ| ${worst.toExponential(2)}`);
          }
        }
      } finally {
        await e.dispose();
      }
    });
  }
}

test.run();

// Decoder families as sentence embedders, against sentence-transformers 6.0.1 run in float64
// (test/oracles/tiny-qwen3-embed.json, tiny-embeddinggemma.json): Qwen3-Embedding's layout (causal
// attention, last-token pooling, Normalize) and EmbeddingGemma's (bidirectional attention with its sliding
// window, mean pooling, two Dense modules, Normalize). Every element within 1e-4; at 1 and 2 threads; and
// quantized to q8/q4 within cosine bounds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cosineSimilarity, loadEmbedder } from '../../src/index.js';
import { decoderStorage } from '../../src/runtime/weights.js';
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

/**
 * quantize q8/q4 (the layers; the token embedding stays as loaded): the least cosine to the oracle's vectors.
 * Measured on both modules at 1 and 2 threads: tiny-qwen3-embed 0.999893 (q8), 0.979337 (q4);
 * tiny-embeddinggemma 0.999533 (q8), 0.957163-0.957378 (q4). Bounds leave about 2× that distance from 1.
 */
const QUANT_COS: Record<string, Record<'q8' | 'q4', number>> = {
  'tiny-qwen3-embed': { q8: 0.9998, q4: 0.96 }, 'tiny-embeddinggemma': { q8: 0.999, q4: 0.915 },
};

for (const name of ['tiny-qwen3-embed', 'tiny-embeddinggemma']) {
  const o = oracle<EmbedOracle>(`${name}.json`);
  for (const quantize of ['q8', 'q4'] as const) {
    test(`${name} ${quantize}: every vector within cosine ${QUANT_COS[name][quantize]} of sentence-transformers; 2 threads as 1`, async () => {
      const at: Float32Array[][] = [];
      for (const threads of [1, 2]) {
        const e = await loadEmbedder(fixtureModel(name), { threads, quantize, onWarning: () => {} });
        e.ops.minParallelWork = 0;
        try {
          const got = (await Promise.all(o.batches.map((b) => e.embed(b.ids)))).flat();
          const want = o.batches.flatMap((b) => b.sentence_embedding);
          got.forEach((v, i) => assert.ok(cosineSimilarity(v, want[i]) >= QUANT_COS[name][quantize], `vector ${i}: cosine ${cosineSimilarity(v, want[i])}`));
          at.push(got);
          if (threads === 2) got.forEach((v, i) => assert.ok(Math.abs(cosineSimilarity(v, at[0][i]) - 1) < 1e-6, `threads 2 vector ${i}`));
        } finally {
          await e.dispose();
        }
      }
    });
  }
}

test('a decoder run as an encoder quantizes its layers, never its token embedding (only looked up there)', async () => {
  const storage = decoderStorage('q8', false, true), generating = decoderStorage('q8');
  assert.is(storage('embed_tokens.weight', [300, 64], 'BF16'), 'bf16p8');
  assert.is(storage('model.embed_tokens.weight', [300, 64], 'F32'), 'f32p8');
  assert.is(generating('model.embed_tokens.weight', [300, 64], 'F32'), 'q8');
  assert.is(decoderStorage('q4', false, true)('layers.0.mlp.up_proj.weight', [128, 64], 'F32'), 'q4');
  const [e, f] = await Promise.all(['q8', 'none'].map((quantize) => loadEmbedder(fixtureModel('tiny-qwen3-embed'), { threads: 1, quantize: quantize as 'q8', onWarning: () => {} })));
  try {
    assert.is(e.encoder.info.quantize, 'q8');
    assert.ok(e.encoder.info.weightBytes < 0.5 * f.encoder.info.weightBytes, `${e.encoder.info.weightBytes} of ${f.encoder.info.weightBytes} bytes`);
  } finally {
    await Promise.all([e.dispose(), f.dispose()]);
  }
});

test.run();

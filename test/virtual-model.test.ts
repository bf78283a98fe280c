// bench/virtual.ts: the virtual ModelFiles the config bench loads real shapes from (no file on disk).
// Its header parses and matches the plan; its bytes are the same for any offset and any split of a read;
// norms are 1, biases 0, other values small; a tiny config loads through the one loader and generates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { openCheckpoint, readHeader } from '../src/formats/safetensors.js';
import { planModel } from '../src/runtime/plan.js';
import { loadModelFrom } from '../src/model.js';
import { SourceError } from '../src/errors.js';
import { virtualModel } from '../bench/virtual.js';
import { ROOT } from './paths.js';

const real = (name: string) => JSON.parse(readFileSync(`${ROOT}/test/fixtures/configs/${name}/config.json`, 'utf8'));
const TINY = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 256, max_position_embeddings: 64, rms_norm_eps: 1e-5,
  rope_theta: 10000, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
};

async function bytes(files: ReturnType<typeof virtualModel>, offset: number, n: number): Promise<Uint8Array> {
  const r = await files.open('model.safetensors');
  const out = new Uint8Array(n);
  await r.read(offset, out);
  return out;
}

test('Phi-4-mini: the header parses and lists the plan\'s tensors in bf16, filling the file exactly', async () => {
  const config = real('phi-4-mini-instruct');
  const v = virtualModel(config);
  const r = await v.open('model.safetensors');
  const { tensors, metadata } = await readHeader(r); // validates offsets: contiguous, sizes = shape × dtype, ending at the file's end
  const plan = planModel(config, 'phi-4-mini-instruct');
  assert.equal(new Set(tensors.map((t) => t.name)), new Set(plan.table.map((e) => e.hf)));
  assert.ok(tensors.every((t) => t.dtype === 'BF16'));
  assert.equal(tensors.reduce((s, t) => s + t.bytes, 0), 2 * plan.parameters);
  assert.equal(r.size, v.checkpointBytes);
  assert.ok(r.size > 7 * 2 ** 30, `${r.size}`); // 7.1 GiB that exist nowhere
  assert.match(metadata.note, /virtual/);
  const ckpt = await openCheckpoint(v); // as the loader opens it
  assert.equal(ckpt.tensors.size, tensors.length);
  await ckpt.close();
});

test('bytes are deterministic: the same for any split of a read, across instances; another seed differs', async () => {
  const config = real('qwen2.5-0.5b-instruct');
  const a = virtualModel(config), b = virtualModel(config), c = virtualModel(config, { seed: 7 });
  const dataStart = a.checkpointBytes - a.tensors.at(-1)!.end;
  const start = dataStart + a.tensors[1].begin - 1001; // odd, and across a tensor boundary
  const n = 200_003;
  const whole = await bytes(a, start, n);
  assert.equal(await bytes(b, start, n), whole);
  const pieces = new Uint8Array(n);
  const r = await a.open('model.safetensors');
  for (let o = 0, k = 1; o < n; o += k, k = k * 3 + 1) await r.read(start + o, pieces.subarray(o, Math.min(n, o + k)));
  assert.equal(pieces, whole);
  assert.not.equal(await bytes(c, start, n), whole);
  // The header region is served too, and reading across its end joins header and data.
  const head = await bytes(a, 0, 64);
  assert.equal(Number(new DataView(head.buffer).getBigUint64(0, true)), dataStart - 8);
  const across = await bytes(a, dataStart - 10, 20);
  assert.equal(across.subarray(10), await bytes(a, dataStart, 10));
  // Past the end is an error, as a file's reader gives.
  await r.read(a.checkpointBytes - 4, new Uint8Array(8)).then(() => assert.unreachable('read past the end'), (e) => assert.instance(e, RangeError));
});

test('norm gains are 1, biases 0, weights uniform with std ~0.02 (bf16 and f32); Gemma\'s norms are 0 (it scales by 1 + w)', async () => {
  const config = real('qwen2.5-0.5b-instruct');
  for (const dtype of ['BF16', 'F32'] as const) {
    const v = virtualModel(config, { dtype });
    const r = await v.open('model.safetensors');
    const { tensors } = await readHeader(r);
    const values = async (name: string, n: number) => {
      const t = tensors.find((x) => x.name === name)!;
      const raw = new Uint8Array(Math.min(n * (dtype === 'F32' ? 4 : 2), t.bytes));
      await r.read(t.offset, raw);
      if (dtype === 'F32') return Array.from(new Float32Array(raw.buffer));
      return Array.from(new Uint16Array(raw.buffer), (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]);
    };
    assert.ok((await values('model.layers.0.input_layernorm.weight', 896)).every((x) => x === 1));
    assert.ok((await values('model.layers.0.self_attn.q_proj.bias', 896)).every((x) => x === 0));
    const w = await values('model.layers.3.mlp.down_proj.weight', 100_000);
    const mean = w.reduce((s, x) => s + x, 0) / w.length, std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
    assert.ok(Math.abs(mean) < 1e-3 && Math.abs(std - 0.02) < 1e-3, `mean ${mean}, std ${std}`);
    assert.ok(Math.max(...w.map(Math.abs)) <= 0.02 * Math.sqrt(3) * 1.01);
  }
  const gemma = virtualModel(real('embeddinggemma-300m'));
  const norm = gemma.tensors.find((t) => t.name.endsWith('input_layernorm.weight'))!;
  assert.is(norm.fill, 'zero');
});

test('a tiny config loads through the loader (q8 and as stored) and generates the same ids every time', async () => {
  const gen = async (quantize: 'q8' | 'none', seed?: number) => {
    const m = await loadModelFrom(virtualModel(TINY, { seed }), { threads: 1, quantize });
    try {
      assert.is(m.info.quantize, quantize);
      const r = await m.complete([1, 17, 42], { maxTokens: 6, temperature: 0 });
      assert.is(r.ids.length, 6);
      assert.ok(r.ids.every((id) => Number.isInteger(id) && id >= 0 && id < TINY.vocab_size));
      return r.ids;
    } finally {
      await m.dispose();
    }
  };
  const q8 = await gen('q8');
  assert.equal(await gen('q8'), q8);
  assert.equal((await gen('none')).length, 6);
  // Other files are served as given; anything else is a SourceError, as a missing file is.
  const v = virtualModel(TINY, { files: { 'generation_config.json': '{"eos_token_id": 2}' } });
  assert.is(await v.text('generation_config.json'), '{"eos_token_id": 2}');
  assert.is(JSON.parse((await v.text('config.json'))!).hidden_size, 64);
  assert.is(await v.text('tokenizer.json'), undefined);
  await v.open('tokenizer.json').then(() => assert.unreachable(), (e) => assert.instance(e, SourceError));
});

test.run();

// Random-weight models in real shapes for the benchmark: config.json + model.safetensors, written
// tensor by tensor in chunks (a 1.5B model is never held whole) and cached outside the repo.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planModel } from '../src/runtime/plan.js';

export const CACHE = process.env.TIDE_BENCH_CACHE ?? join(homedir(), '.cache', 'tide-bench');
const CONFIGS = fileURLToPath(new URL('../test/fixtures/configs', import.meta.url));

/** llama2.c's stories15M (not in test/fixtures/configs: it has no HF config of its own). */
const STORIES15M = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 288, intermediate_size: 768, num_hidden_layers: 6,
  num_attention_heads: 6, num_key_value_heads: 6, vocab_size: 32000, max_position_embeddings: 256, rms_norm_eps: 1e-5,
  rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
};

export interface Shape { name: string; config: Record<string, unknown>; fileDtype: 'F32' | 'BF16' }

/** The four shapes of issue 4; real checkpoints are bf16, the two small ones are written f32 to compare with the peers' F32. */
export const SHAPES: Shape[] = [
  { name: 'stories15M', config: STORIES15M, fileDtype: 'F32' },
  { name: 'SmolLM2-135M', config: realConfig('smollm2-135m'), fileDtype: 'F32' },
  { name: 'Qwen2.5-0.5B', config: realConfig('qwen2.5-0.5b-instruct'), fileDtype: 'BF16' },
  { name: 'DeepSeek-R1-Distill-Qwen-1.5B', config: realConfig('deepseek-r1-distill-qwen-1.5b'), fileDtype: 'BF16' },
];

function realConfig(dir: string): Record<string, unknown> {
  const path = join(CONFIGS, dir, 'config.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
}

/** xorshift32 → uniform with mean 0 and variance 1 (speed only; no quality is measured, and one draw per weight keeps a 1.5B file quick). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return ((s >>> 0) / 4294967296 - 0.5) * 3.4641016; };
}

const SCALE = 0.02;
const CHUNK = 1 << 20;

/** Write the shape's model folder (once); returns its path. */
export async function ensureModel(shape: Shape, log: (s: string) => void = () => {}): Promise<string> {
  const dir = join(CACHE, `${shape.name}-${shape.fileDtype.toLowerCase()}`);
  const file = join(dir, 'model.safetensors');
  if (existsSync(file)) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...shape.config, torch_dtype: shape.fileDtype === 'F32' ? 'float32' : 'bfloat16' }, null, 2));
  // One entry per checkpoint tensor (a fused tensor is listed once per field it binds).
  const table = [...new Map(planModel(shape.config, `${shape.name}/config.json`).table.map((e) => [e.hf, e])).values()];
  const el = shape.fileDtype === 'F32' ? 4 : 2;
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', note: 'tide bench random weights, uniform with std 0.02, norms 1, biases 0' } };
  for (const t of table) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * el;
    header[t.hf] = { dtype: shape.fileDtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const t0 = performance.now();
  const out = createWriteStream(file + '.part');
  const write = (b: Uint8Array) => new Promise<void>((res, rej) => out.write(b, (e) => (e ? rej(e) : res())));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  await write(len);
  await write(new TextEncoder().encode(json));
  for (const [i, t] of table.entries()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const fill = /norm/.test(t.hf) ? () => 1 : /bias/.test(t.hf) ? () => 0 : ((g) => () => g() * SCALE)(rng(0x9e3779b9 ^ (i * 2654435761)));
    for (let done = 0; done < n; done += CHUNK) {
      const m = Math.min(CHUNK, n - done);
      const f = new Float32Array(m);
      for (let j = 0; j < m; j++) f[j] = fill();
      if (el === 4) await write(new Uint8Array(f.buffer));
      else {
        const u = new Uint32Array(f.buffer), h = new Uint16Array(m);
        for (let j = 0; j < m; j++) h[j] = (u[j] + 0x7fff + ((u[j] >>> 16) & 1)) >>> 16; // round to nearest even
        await write(new Uint8Array(h.buffer));
      }
    }
  }
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  renameSync(file + '.part', file);
  log(`wrote ${file} (${(offset / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

// The lines `tide info` prints: a model's architecture and memory, from config.json and, when the
// checkpoint is there, its header's dtypes (no tensor is read).
import { SourceError } from '../errors.js';
import type { DecoderSpec } from '../families/decoder.js';
import { openCheckpoint, type StDtype } from '../formats/safetensors.js';
import type { ModelFiles } from '../sources/sources.js';
import { WASM32_MAX_BYTES } from './arena.js';
import { readConfig } from './load.js';
import { planModel } from './plan.js';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export async function modelSummary(files: ModelFiles, context?: number): Promise<string[]> {
  const config = await readConfig(files);
  const dtypes = await checkpointDtypes(files);
  const main = dtypes && Object.entries(dtypes).sort((a, b) => b[1] - a[1])[0]?.[0] as StDtype | undefined;
  const plan = planModel(config, `${files.label}/config.json`, main);
  const { spec } = plan;
  const lines = [`source        ${files.label}`];
  if (plan.family.kind === 'decoder') {
    const d = spec as DecoderSpec, ctx = context ?? Math.min(d.seqLen, 4096);
    const windows = [...new Set(d.layers.map((k) => k.window))].map((w) => (w ? `window ${w}` : 'full')).join(' + ');
    const ropes = d.ropes.map((r) => `${r.scaling.type} θ ${r.theta}${r.rotDim < d.headDim ? ` on ${r.rotDim}/${d.headDim} dims` : ''}`).join('; ');
    lines.push(
      `architecture  ${d.modelType} (${d.family} family): ${d.nLayers} layers, dim ${d.dim}, ${d.nHeads} heads / ${d.nKvHeads} kv heads × ${d.headDim}, ffn ${d.hiddenDim} (${d.act}), vocab ${d.vocabSize}`,
      `attention     ${windows}; rope ${ropes}${d.layers.some((k) => k.rope < 0) ? `; no rope on ${d.layers.filter((k) => k.rope < 0).length} layers` : ''}`,
      `context       ${d.seqLen} positions; KV cache (f32) ${MiB(plan.kvBytes(ctx))} at ${ctx} tokens`,
    );
  } else {
    lines.push(`architecture  ${spec.modelType} encoder: ${spec.nLayers} layers, dim ${spec.dim}, vocab ${spec.vocabSize}, ${spec.seqLen} positions`);
  }
  lines.push(
    `parameters    ${plan.parameters.toLocaleString('en-US')}`,
    `dtypes        ${dtypes ? Object.entries(dtypes).map(([t, n]) => `${t} ×${n}`).join(', ') : `no checkpoint here; planned as ${main ?? String(config.torch_dtype ?? config.dtype ?? 'float32')}`}`,
    `weights       ${(['none', 'q8', 'q4'] as const).filter((q) => q === 'none' || plan.family.kind === 'decoder')
      .map((q) => `${q === 'none' ? 'as stored' : q} ${MiB(plan.weightBytes[q])}${plan.weightBytes[q] > WASM32_MAX_BYTES ? ' (over wasm32\'s 4 GiB)' : ''}`).join(', ')}`,
  );
  return lines;
}

/** Tensor count per dtype in the checkpoint's header, or undefined when the model has no weights here. */
async function checkpointDtypes(files: ModelFiles): Promise<Record<string, number> | undefined> {
  let ckpt;
  try {
    ckpt = await openCheckpoint(files);
  } catch (e) {
    if (e instanceof SourceError) return undefined;
    throw e;
  }
  try {
    const dtypes: Record<string, number> = {};
    for (const t of ckpt.tensors.values()) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    return dtypes;
  } finally {
    await ckpt.close();
  }
}

// tide info: architecture, parameter count, dtypes and memory needed.
import type { Command } from 'commander';
import { loadFor } from './args.js';

export function register(program: Command): void {
  program.command('info').description('print architecture, parameter count, dtypes and memory needed')
    .argument('<model>', 'model: a directory, an http(s) base URL, or hf:org/name[@revision]')
    .action(async (dir: string, _o, cmd: Command) => {
      const model = await loadFor(cmd, dir);
      const { spec, info } = model;
      const MiB = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
      const ctx = Math.min(spec.seqLen, 4096);
      console.log([
        `source        ${info.source}`,
        `architecture  ${spec.modelType}: ${spec.nLayers} layers, dim ${spec.dim}, ${spec.nHeads} heads / ${spec.nKvHeads} kv heads × ${spec.headDim}, ffn ${spec.hiddenDim}, vocab ${spec.vocabSize}`,
        `context       ${spec.seqLen} positions (rope_theta ${spec.ropeTheta}, rope ${spec.rope.type})`,
        `parameters    ${info.parameters.toLocaleString('en-US')}`,
        `dtypes        ${Object.entries(info.dtypes).map(([d, n]) => `${d} ×${n}`).join(', ')} (held as F32)`,
        `memory        weights ${MiB(info.weightBytes)} + KV cache ${MiB(info.kvBytesPerToken * 1024)} per 1k tokens → ${MiB(info.kvBytesPerToken * ctx)} at ${ctx} tokens`,
        `tokenizer     ${model.tokenizer ? 'tokenizer.json' : 'none (ids only)'}`,
        `kernels       ${info.simd} SIMD`,
      ].join('\n'));
    });
}

// Argument parsers and the model loader shared by the CLI commands. A parser's error names only the
// value; commander puts the option's own name in front of it.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadModel } from '../index.js';
import type { Model } from '../model.js';
import { relaxedSimdSupported } from '../runtime/wasm.js';

export const ids = (v: string): number[] => {
  const parts = v.split(',');
  if (parts.some((s) => !/^\s*\d+\s*$/.test(s))) throw new InvalidArgumentError(`"${v}" is not a comma-separated list of token ids (non-negative integers)`);
  return parts.map(Number);
};
export const int = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a non-negative integer`);
  return n;
};
export const positive = (v: string): number => {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError(`"${v}" must be at least 1`);
  return n;
};
export const num = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number`);
  return n;
};
export const round = (x: number) => Math.round(x * 10) / 10;

const SIMD_FLAVORS = ['baseline', 'relaxed'];
const simd = (v: string): string => {
  if (!SIMD_FLAVORS.includes(v)) throw new InvalidArgumentError(`"${v}" is not one of ${SIMD_FLAVORS.join(', ')}`);
  if (v === 'relaxed' && !relaxedSimdSupported()) throw new InvalidArgumentError('this engine has no relaxed SIMD (Node 20: run node with --experimental-wasm-relaxed-simd)');
  return v;
};

/** The global --simd option (env TIDE_SIMD when absent). */
export const simdOption = () =>
  new Option('--simd <flavor>', 'kernel module: baseline or relaxed (default: env TIDE_SIMD, else what the engine supports)').argParser(simd);

/** --threads and --quant, on every command that loads a model; `quants` narrows --quant (encoders load unquantized). */
export function loadFlags(cmd: Command, quants = ['q8', 'q4', 'none']): Command {
  return cmd
    .option('--threads <n>', 'threads for matmuls and attention (default: env TIDE_THREADS, else the cores)', positive)
    .addOption(new Option('--quant <type>', `quantize the weights at load: ${quants.join(', ')} (default: none)`).choices(quants));
}

/** Load MODEL with --simd, --threads and --quant. */
export function loadFor(cmd: Command, dir: string): Promise<Model> {
  const { simd, threads, quant } = cmd.optsWithGlobals();
  return loadModel(dir, { simd, threads, quantize: quant });
}

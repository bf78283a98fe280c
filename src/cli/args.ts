// Argument parsers and the model loader shared by the CLI commands.
import { InvalidArgumentError, type Command } from 'commander';
import { loadModel } from '../index.js';
import type { Model } from '../model.js';

export const ids = (v: string): number[] => {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n))) throw new InvalidArgumentError(`"${v}" is not a comma-separated list of integers`);
  return out;
};
export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a non-negative integer`);
  return n;
};
export const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number`);
  return n;
};
export const round = (x: number) => Math.round(x * 10) / 10;

/** Load MODEL with the global options (--simd), and --threads and --quant where the command has them. */
export function loadFor(cmd: Command, dir: string): Promise<Model> {
  const { simd, threads, quant } = cmd.optsWithGlobals();
  return loadModel(dir, { simd, threads, quantize: quant });
}

// What the benchmark runner hands a child process, and what the child measures.

import type { SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Job {
  engine: 'tide' | 'wllama' | 'ort' | 'llamacpp';
  shape: string;
  dir: string;           // the model folder (config.json + model.safetensors), or the peer's file
  file?: string;         // the peer's model file (GGUF, ONNX)
  quant: 'none' | 'q8' | 'q4';
  dtype: string;         // weights as the engine holds them: f32, bf16, q8, q4, F32, Q8_0
  threads: number;
  runs: number;
  prompt: number;        // prompt tokens
  decode: number;        // generated tokens (0: prefill only)
  warmPrompt?: number;   // Tide: the untimed warm-up prefills only this many of the prompt's tokens (long-prompt rows)
}

export interface Measured {
  loadMs: number;
  prefill: number;       // tok/s, median
  decode?: number;       // tok/s, median
  prefillRuns: number[];
  decodeRuns: number[];
  maxRssMiB?: number;
  weightBytes?: number;
  kvBytes?: number;
  wasmBytes?: number;    // the wasm memory at the end (wasm32: at most 4 GiB)
  simd?: string;
}

export const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/** The same prompt for every engine (as the peers' wllama script): ids 300 + (i·7919 mod 20000), within the vocabulary. */
export const benchPrompt = (vocab: number, n: number) => Array.from({ length: n }, (_, i) => (300 + ((i * 7919) % 20000)) % vocab);

/** bench/batch.ts's prompts: 32 ids per stream, different for each (ids from 300 up, inside any vocabulary there). */
export const streamPrompt = (vocab: number, s: number, n = 32) => Array.from({ length: n }, (_, i) => (300 + ((s * 104729 + i * 7919) % 20000)) % vocab);

/**
 * One run of N concurrent streams (bench/batch.ts). Decode tok/s: the tokens made after every stream has
 * its first one (all prompts are in), over the wall time from then to the last token; per CPU-s: the same
 * tokens over the process's CPU time (all threads, a pool's spinning between jobs included) in that span; TTFT from submitting them all, ITL between
 * a stream's consecutive tokens, in ms.
 */
export interface StreamRun { tokS: number; tokCpuS: number; ttft: number[]; itl: number[] }

/** Process CPU seconds (every thread's). */
export const cpuS = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

/**
 * Times every token of N streams as they come: `token(s)` when stream s gets one, `result()` at the end.
 * The decode span starts when the last stream gets its first token.
 */
export function streamClock(n: number) {
  const t0 = performance.now(), ttft: number[] = [], itl: number[] = [], prev = new Array<number>(n).fill(-1);
  let started = 0, from = 0, cpuFrom = 0, last = 0, after = 0;
  return {
    token(s: number) {
      const now = performance.now();
      if (prev[s] < 0) {
        ttft.push(now - t0);
        if (++started === n) { from = now; cpuFrom = cpuS(); }
      } else itl.push(now - prev[s]);
      if (started === n && now > from) after++;
      prev[s] = last = now;
    },
    result: (): StreamRun => ({ tokS: after / ((last - from) / 1000), tokCpuS: after / (cpuS() - cpuFrom), ttft, itl }),
  };
}

/** Decode steps of an untimed warm-up run (the prefill is always whole). */
export const WARM_DECODE = 8;

/**
 * This process's peak RSS in MiB, worker threads included: Linux's VmHWM, the high-water mark of this
 * process's own memory since its exec. ru_maxrss (process.resourceUsage().maxRSS) also keeps what the
 * parent held when it forked the child: a bench that had just written a GGUF from a 538 MB checkpoint
 * showed 1084 MiB for every row. Elsewhere, ru_maxrss.
 */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}

/** One line on why a bench child gave no result: its spawn error, else the first error line of its stderr, else its exit status. */
export function childFailure(r: SpawnSyncReturns<string>): string {
  return (r.error?.message ?? (r.stderr || '').trim().split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`).slice(0, 160);
}

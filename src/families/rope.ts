// RoPE: reading a config's rope settings, and the angles. Frequencies follow transformers' rope_init_fns
// (default, linear, llama3, longrope); angles are computed in float64 and rounded once, like the float64
// reference oracles.
import { ConfigError } from '../errors.js';
import { fieldReader, show, type Json } from './config.js';

/** How RoPE frequencies are made (transformers' rope_type). */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

/** One kind of layer's RoPE: base, rotated dims per head (partial rotary: < headDim), scaling. */
export interface RopeSpec { theta: number; rotDim: number; scaling: RopeScaling }

const SUPPORTED_ROPE = ['default', 'linear', 'llama3', 'longrope'];

/**
 * A RopeSpec from one rope parameter object (`rope_scaling`, `rope_parameters`, or one layer type's entry
 * of Gemma 3's `rope_parameters`). `top` is config.json itself, for the fields that older configs keep
 * there (rope_theta, partial_rotary_factor, original_max_position_embeddings).
 */
export function readRope(r: Json | undefined, top: Json, headDim: number, file: string, fallbackTheta = 10000): RopeSpec {
  const cfg = fieldReader(top, file);
  const p = fieldReader(r ?? {}, `${file} rope parameters`);
  const theta = p.num('rope_theta', cfg.num('rope_theta', fallbackTheta));
  const partial = p.num('partial_rotary_factor', cfg.num('partial_rotary_factor', 1));
  const rotDim = Math.floor(headDim * partial);
  if (rotDim % 2 !== 0 || rotDim > headDim) throw new ConfigError(`${file}: partial_rotary_factor ${partial} gives ${rotDim} rotated dims of ${headDim}; must be even and ≤ head_dim`);
  const type = r?.rope_type ?? r?.type ?? 'default';
  const originalMax = () => p.int('original_max_position_embeddings', cfg.int('original_max_position_embeddings'));
  let scaling: RopeScaling;
  switch (type) {
    case 'default': scaling = { type: 'default' }; break;
    case 'linear': scaling = { type: 'linear', factor: p.num('factor') }; break;
    case 'llama3': scaling = {
      type: 'llama3', factor: p.num('factor'), lowFreqFactor: p.num('low_freq_factor'), highFreqFactor: p.num('high_freq_factor'),
      originalMaxPositions: p.int('original_max_position_embeddings'),
    }; break;
    case 'longrope': {
      const factors = (key: 'short_factor' | 'long_factor') => {
        const f = p.list(key, (x): x is number => typeof x === 'number' && x > 0, 'positive numbers');
        if (!f || f.length !== rotDim / 2) throw new ConfigError(`${file}: rope ${key} must list ${rotDim / 2} positive numbers (rotated dims / 2)`);
        return f;
      };
      const orig = originalMax();
      // transformers: factor = max_position_embeddings / original_max_position_embeddings, and the
      // attention factor √(1 + ln factor / ln original) unless the config gives one.
      const factor = cfg.int('max_position_embeddings') / orig;
      const attentionFactor = p.optNum('attention_factor') ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig)));
      scaling = { type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions: orig, attentionFactor };
      break;
    }
    default:
      throw new ConfigError(`${file}: rope type ${show(type)} is not supported; supported: ${SUPPORTED_ROPE.join(', ')}`);
  }
  return { theta, rotDim, scaling };
}

/** inv_freq[i] = theta^(-2i / rotDim), i < rotDim / 2, adjusted for the scaling (longrope: short or long factors). */
export function ropeFrequencies(rope: RopeSpec, long = false): Float64Array {
  const half = rope.rotDim / 2, r = rope.scaling;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / rope.rotDim);
  if (r.type === 'linear') for (let i = 0; i < half; i++) inv[i] /= r.factor;
  if (r.type === 'longrope') for (let i = 0; i < half; i++) inv[i] /= (long ? r.longFactor : r.shortFactor)[i];
  if (r.type === 'llama3') {
    // transformers _compute_llama3_parameters: long wavelengths are slowed by `factor`,
    // short ones kept, and the band between blended smoothly.
    const lowWavelen = r.originalMaxPositions / r.lowFreqFactor;
    const highWavelen = r.originalMaxPositions / r.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= r.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        inv[i] = (1 - smooth) * inv[i] / r.factor + smooth * inv[i];
      }
    }
  }
  return inv;
}

/**
 * A layer kind's angle source. Longrope follows transformers' dynamic update: a forward whose last
 * position is past original_max_position_embeddings uses the long factors, any other the short ones;
 * keys already in the cache keep the rotation they were stored with, as in transformers' cache.
 */
export class RopeTable {
  private readonly short: Float64Array;
  private readonly long: Float64Array;
  private readonly scale: number;

  constructor(readonly rope: RopeSpec) {
    this.short = ropeFrequencies(rope);
    this.long = rope.scaling.type === 'longrope' ? ropeFrequencies(rope, true) : this.short;
    this.scale = rope.scaling.type === 'longrope' ? rope.scaling.attentionFactor : 1;
  }

  /** cos, sin (T, rotDim / 2) for positions pos0 .. pos0 + T - 1, times the attention factor (longrope). */
  angles(pos0: number, T: number, cos: Float32Array, sin: Float32Array): void {
    const r = this.rope.scaling;
    const inv = r.type === 'longrope' && pos0 + T > r.originalMaxPositions ? this.long : this.short;
    const half = inv.length;
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const a = (pos0 + t) * inv[i];
        cos[t * half + i] = Math.cos(a) * this.scale;
        sin[t * half + i] = Math.sin(a) * this.scale;
      }
    }
  }
}

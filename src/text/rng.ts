// A seeded random number generator whose stream is the same on every JS engine: xoshiro128** 1.1
// (Blackman & Vigna) seeded by splitmix32, in 32-bit integer arithmetic only (Math.imul, >>>).
import { OptionError } from '../errors.js';

export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;

  /** `seed`: an integer in 0..2^32-1; omitted, a random one from crypto.getRandomValues. */
  constructor(seed?: number) {
    if (seed === undefined) seed = globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new OptionError(`seed ${seed}: expected an integer in 0..4294967295`);
    let x = seed >>> 0;
    const splitmix32 = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32(); this.s1 = splitmix32(); this.s2 = splitmix32(); this.s3 = splitmix32();
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** A float in [0, 1) with 53 random bits, from two draws (as MT19937's genrand_res53). */
  nextFloat(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

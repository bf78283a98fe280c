// attention_f32 against a float64 causal GQA loop (kernels/ref/attention.ts): query head h reads KV head
// floor(h / (nHeads / nKvHeads)), row t (position pos0 + t) attends to positions 0..pos0+t, or the last `window`
// of them, at cache rows j % ringRows; scores scaled and optionally softcapped. Heads outside [h0, h1) must stay
// NaN. Also the f16 cache (attention_f16kv over exact f16 values) and its writer store_f16 (round to nearest even).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attention, type CacheAttention } from '../../kernels/ref/attention.js';
import { decodeF16, encodeF16 } from '../../kernels/ref/convert.js';
import { assertClose, floats, harness, PLACEMENTS, rng, type Tol } from './harness.js';

const h = await harness();
const { k } = h;

// Outputs are convex combinations of values in [-1, 1]. Error sources: f32 scores (~sqrt(headDim) ulps),
// expf (1 ulp), an f32 sum of up to ~40 weights and the f32 weighted sum: the worst seen is ~1.5e-7. 2e-6
// keeps a margin above that; reading one row too many or too few, the wrong KV head or the wrong scale moves
// outputs by ~1e-2 or more.
const ATTN_TOL: Tol = { rtol: 2e-6, atol: 2e-6 };

/** The kernel's att scratch: one block of cache rows (kernels/attention.ts BLOCK). */
const ATT_BLOCK = 32;

/**
 * attention_f32 (f16: attention_f16kv over a cache of f16 bits, the reference reading their exact values)
 * against kernels/ref/attention.ts. The cache has ringRows rows when given, else pos0 + T + 2; every row
 * that no query may read (unwritten, before a window, ring rows of other positions) holds NaN.
 */
function check(s: CacheAttention, h0: number, h1: number, seed: number, f16 = false): void {
  const { nHeads, nKvHeads, headDim, pos0, T, softcap = 0, window = 0 } = s;
  const scale = s.scale ?? 1 / Math.sqrt(headDim), rows = s.ringRows ?? pos0 + T + 2;
  const rand = rng(seed);
  const kvDim = nKvHeads * headDim;
  // q scaled up so scores spread (softmax far from uniform).
  const qs = floats(rand, T * nHeads * headDim, -3, 3);
  let ks = floats(rand, rows * kvDim), vs = floats(rand, rows * kvDim);
  const visible = new Set<number>();
  for (let p = pos0; p < pos0 + T; p++) for (let j = window > 0 ? Math.max(0, p - window + 1) : 0; j <= p; j++) visible.add(j % rows);
  for (let r = 0; r < rows; r++) if (!visible.has(r)) { ks.fill(NaN, r * kvDim, (r + 1) * kvDim); vs.fill(NaN, r * kvDim, (r + 1) * kvDim); }
  const kBits = Uint16Array.from(ks, encodeF16), vBits = Uint16Array.from(vs, encodeF16);
  if (f16) { ks = Float32Array.from(kBits, decodeF16); vs = Float32Array.from(vBits, decodeF16); }
  // scale and softcap cross the ABI as f32.
  const ref = attention(qs, ks, vs, { ...s, scale: Math.fround(scale), softcap: Math.fround(softcap), ringRows: rows }, h0, h1);
  for (const p of PLACEMENTS) {
    h.reset(p);
    const q = h.f32('q', qs);
    const kc = f16 ? h.u16('kc', kBits) : h.f32('kc', ks), vc = f16 ? h.u16('vc', vBits) : h.f32('vc', vs);
    const att = h.f32('att', Math.min(pos0 + T, ATT_BLOCK)), out = h.f32('out', T * nHeads * headDim);
    const name = f16 ? 'attention_f16kv' : 'attention_f32';
    const opts = `${s.scale === undefined ? '' : ` scale=${scale}`}${softcap ? ` softcap=${softcap}` : ''}${window ? ` window=${window}` : ''}${s.ringRows ? ` ring=${rows}` : ''}`;
    const what = `${name} nHeads=${nHeads} nKvHeads=${nKvHeads} headDim=${headDim} pos0=${pos0} T=${T}${opts} heads [${h0},${h1})`;
    h.call(what, [out, att], () =>
      k[name](out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, nHeads, nKvHeads, headDim, pos0, T, scale, softcap, window, rows, h0, h1));
    assertClose(h.label(what), h.read(out), ref, ATTN_TOL, headDim);
  }
}

test('attention_f32: head sizes × GQA groups × positions × head ranges', () => {
  let seed = 1;
  for (const headDim of [6, 8, 10, 64]) {
    for (const group of [1, 2, 4]) {
      const nKvHeads = 2, nHeads = 2 * group;
      for (const [pos0, T] of [[0, 1], [0, 3], [5, 1], [5, 4], [33, 3]]) {
        const s = { nHeads, nKvHeads, headDim, pos0, T };
        check(s, 0, nHeads, seed++);
        check(s, 1, nHeads - 1 || 1, seed++); // partial: skips the first and last head (an empty range when nHeads = 2)
        check(s, 1, nHeads, seed++);
      }
    }
  }
});

test('attention_f32: one KV head shared by 3 and by 5 query heads', () => {
  check({ nHeads: 3, nKvHeads: 1, headDim: 10, pos0: 2, T: 5 }, 0, 3, 101);
  check({ nHeads: 5, nKvHeads: 1, headDim: 6, pos0: 9, T: 9 }, 2, 4, 102);
});

test('attention_f32: the first token attends only to itself', () => {
  // softmax over one score is exactly 1, so out = v row 0 whatever q and k are.
  const s = { nHeads: 4, nKvHeads: 2, headDim: 8, pos0: 0, T: 1 };
  const rand = rng(9);
  const qs = floats(rand, 32, -50, 50), ks = floats(rand, 16), vs = floats(rand, 16);
  h.reset('aligned');
  const q = h.f32('q', qs), kc = h.f32('kc', ks), vc = h.f32('vc', vs);
  const att = h.f32('att', 1), out = h.f32('out', 32);
  k.attention_f32(out.ptr, q.ptr, kc.ptr, vc.ptr, att.ptr, 4, 2, 8, 0, 1, 1 / Math.sqrt(8), 0, 0, 1, 0, 4);
  const want = Float64Array.from([...vs.subarray(0, 8), ...vs.subarray(0, 8), ...vs.subarray(8), ...vs.subarray(8)]);
  assertClose(h.label('attention_f32 pos0=0 T=1'), h.read(out), want, { rtol: 0, atol: 0 });
});

test('attention_f32: long contexts cross many score blocks (online softmax rescaling)', () => {
  check({ nHeads: 4, nKvHeads: 2, headDim: 12, pos0: 95, T: 3 }, 0, 4, 201);
  check({ nHeads: 2, nKvHeads: 1, headDim: 64, pos0: 200, T: 1 }, 0, 2, 202);
  check({ nHeads: 3, nKvHeads: 3, headDim: 5, pos0: 60, T: 6 }, 1, 3, 203);
});

test('attention_f16kv: f16 cache, same shapes as f32 (heads, GQA groups, positions, head ranges)', () => {
  let seed = 300;
  for (const headDim of [6, 8, 10, 64]) {
    for (const [pos0, T] of [[0, 1], [5, 4], [33, 3], [70, 2]]) {
      check({ nHeads: 4, nKvHeads: 2, headDim, pos0, T }, 0, 4, seed++, true);
      check({ nHeads: 4, nKvHeads: 2, headDim, pos0, T }, 1, 3, seed++, true);
    }
  }
});

test('attention: score scale and softcap (off, biting at 1.5, loose at 50), f32 and f16 caches', () => {
  let seed = 400;
  for (const headDim of [8, 64]) {
    for (const scale of [undefined, 0.3, 1]) {
      for (const softcap of [0, 1.5, 50]) {
        for (const f16 of [false, true]) check({ nHeads: 4, nKvHeads: 2, headDim, pos0: 37, T: 3, scale, softcap }, 0, 4, seed++, f16);
      }
    }
  }
});

test('attention: sliding windows smaller and larger than the context, across score blocks', () => {
  let seed = 500;
  for (const window of [1, 2, 5, 31, 32, 33, 200]) {
    for (const [pos0, T] of [[0, 1], [0, 7], [40, 3], [95, 5]]) {
      for (const f16 of [false, true]) check({ nHeads: 4, nKvHeads: 2, headDim: 10, pos0, T, window }, 0, 4, seed++, f16);
    }
  }
  check({ nHeads: 6, nKvHeads: 2, headDim: 64, pos0: 70, T: 9, window: 16, softcap: 2, scale: 0.2 }, 1, 5, seed++);
});

test('attention: ring caches of window + T − 1 rows and more, wrapping inside one prefill chunk and inside a score block', () => {
  let seed = 600;
  for (const [window, T] of [[1, 1], [4, 1], [4, 5], [5, 4], [40, 1], [40, 7]]) {
    for (const extra of [0, 3]) {
      const ringRows = window + T - 1 + extra;
      // pos0 just before the ring's end (the chunk wraps), several laps on, and 0 (nothing wrapped yet).
      for (const pos0 of [ringRows - 2, 3 * ringRows + 1, 0].filter((p) => p >= 0)) {
        for (const f16 of [false, true]) check({ nHeads: 4, nKvHeads: 2, headDim: 8, pos0, T, window, ringRows }, 0, 4, seed++, f16);
      }
    }
  }
  // No window: a ring of pos0 + T rows is the plain layout.
  check({ nHeads: 2, nKvHeads: 1, headDim: 6, pos0: 40, T: 3, ringRows: 43 }, 0, 2, seed++);
});

test('store_f16: every finite f16 value round-trips; random, tie, overflow, NaN and zero inputs round to nearest even', () => {
  const vals: number[] = [];
  for (let b = 0; b < 0x10000; b++) if (((b >> 10) & 0x1f) !== 31) vals.push(decodeF16(b));
  const rand = rng(17);
  for (let i = 0; i < 20000; i++) vals.push((rand() - 0.5) * 2 ** Math.floor(rand() * 44 - 28));
  // Exact ties between neighbours (normal and subnormal), the overflow edge, specials.
  for (const b of [0x0001, 0x0002, 0x03ff, 0x3c00, 0x3c01, 0x7bfe, 0x7bff]) vals.push((decodeF16(b) + decodeF16(b + 1)) / 2);
  vals.push(65519.99, 65520, 1e6, -1e6, Infinity, -Infinity, NaN, 0, -0, 2 ** -26, 2 ** -25, 3 * 2 ** -26);
  const xs = Float32Array.from(vals);
  h.reset('unaligned');
  const x = h.f32('x', xs), out = h.alloc('out', 2 * xs.length);
  h.call('store_f16', [out], () => k.store_f16(out.ptr, x.ptr, xs.length));
  const got = new Uint16Array(h.bytes().slice(out.ptr, out.ptr + out.bytes).buffer);
  for (let i = 0; i < xs.length; i++) {
    const want = encodeF16(xs[i]);
    const ok = Number.isNaN(xs[i]) ? (got[i] & 0x7c00) === 0x7c00 && (got[i] & 0x3ff) !== 0 : got[i] === want;
    assert.ok(ok, `store_f16: ${xs[i]} → 0x${got[i].toString(16)}, want 0x${want.toString(16)}`);
  }
});

test.run();

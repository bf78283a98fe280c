// embed_f32 and the 16-bit widening kernels, checked bit for bit: all 65536 f16 patterns against a JS decoder,
// random bf16 patterns, both into a separate output and in place (src in the upper half of out).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBf16, decodeF16 } from '../../kernels/ref/convert.js';
import { floats, harness, PLACEMENTS, rng, type Buf } from './harness.js';

const h = await harness();
const { k } = h;

const NS = [1, 3, 4, 5, 7, 31, 32, 33, 67, 257];

const f32Bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0];

/** Each NaN in want must be a NaN in got; everything else must match bit for bit. */
function assertBits(what: string, got: Uint32Array, want: number[], src?: Uint16Array): void {
  const asF32 = new Float32Array(got.buffer, got.byteOffset, got.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isNaN(want[i]) ? Number.isNaN(asF32[i]) : got[i] === f32Bits(want[i]);
    if (!ok) {
      const hex = (v: number, w: number) => '0x' + v.toString(16).padStart(w, '0');
      const from = src ? ` (src ${hex(src[i], 4)})` : '';
      assert.unreachable(`${h.label(what)}: index ${i}${from}: expected ${want[i]} ` +
        `(${Number.isNaN(want[i]) ? 'any NaN' : hex(f32Bits(want[i]), 8)}), got ${asF32[i]} (${hex(got[i], 8)})`);
    }
  }
}

type Widen = 'widen_f16_f32' | 'widen_bf16_f32';

/** Widen src into a separate buffer, then again in place with src at out + 2n, as kernels/convert.ts allows. */
function checkWiden(name: Widen, src: Uint16Array, want: number[]): void {
  const n = src.length;
  for (const p of PLACEMENTS) {
    h.reset(p);
    const s = h.u16('src', src), out = h.f32('out', n);
    h.call(`${name} n=${n}`, [out], () => k[name](out.ptr, s.ptr, n));
    assertBits(`${name} n=${n}`, h.bits(out), want, src);

    h.reset(p);
    const buf: Buf = h.f32('out', n);
    new Uint16Array(h.memory.buffer, buf.ptr + 2 * n, n).set(src);
    h.call(`${name} n=${n} in place`, [buf], () => k[name](buf.ptr, buf.ptr + 2 * n, n));
    assertBits(`${name} n=${n} in place`, h.bits(buf), want, src);
  }
}

test('widen_f16_f32: all 65536 bit patterns (±0, subnormals, normals, ±inf, NaNs)', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  checkWiden('widen_f16_f32', all, Array.from(all, decodeF16));
});

test('widen_f16_f32: every tail of n (shuffled patterns)', () => {
  const rand = rng(16);
  for (const n of NS) {
    const src = Uint16Array.from({ length: n }, () => Math.floor(rand() * 65536));
    checkWiden('widen_f16_f32', src, Array.from(src, decodeF16));
  }
});

test('widen_bf16_f32: random patterns and specials, every tail of n', () => {
  const specials = [0x0000, 0x8000, 0x0001, 0x8001, 0x007f, 0x0080, 0x3f80, 0xbf80, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0xffc1];
  const rand = rng(17);
  for (const n of [...NS, 4099]) {
    const src = Uint16Array.from({ length: n }, (_, i) => i < specials.length ? specials[i] : Math.floor(rand() * 65536));
    checkWiden('widen_bf16_f32', src, Array.from(src, decodeBf16));
  }
});

test('embed_f32: copies row id of the table, every tail of dim', () => {
  const vocab = 5;
  for (const dim of NS) {
    const table = floats(rng(dim), vocab * dim);
    for (const id of [0, 2, vocab - 1]) {
      for (const p of PLACEMENTS) {
        h.reset(p);
        const t = h.f32('table', table), out = h.f32('out', dim);
        const what = `embed_f32 vocab=${vocab} dim=${dim} id=${id}`;
        h.call(what, [out], () => k.embed_f32(out.ptr, t.ptr, id, dim));
        const row = Array.from(table.subarray(id * dim, (id + 1) * dim));
        assertBits(what, h.bits(out), row);
      }
    }
  }
});

test.run();

// Rng against the C reference (test/fixtures/xoshiro128ss-ref.c: Vigna's xoshiro128** + splitmix32, built with gcc).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../src/text/rng.js';
import { OptionError } from '../src/errors.js';

// Printed by `gcc -O2 test/fixtures/xoshiro128ss-ref.c && ./a.out`.
const REF = [
  { seed: 0, u32: [3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335], f64: [0.024408060085556516, 0.61231244365522453, 0.95507879586629774] },
  { seed: 42, u32: [2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290], f64: [0.015209237180418, 0.88068708274502538, 0.18337301518475291] },
  { seed: 4294967295, u32: [835879718, 1921286648, 2356205009, 1885780724, 980451116, 1053911718], f64: [0.85620972196593104, 0.84931466560242741, 0.33960647606204819] },
];

for (const r of REF) {
  test(`seed ${r.seed}: same integers and floats as the C reference`, () => {
    const rng = new Rng(r.seed);
    assert.equal(Array.from({ length: 6 }, () => rng.nextU32()), r.u32);
    assert.equal(Array.from({ length: 3 }, () => rng.nextFloat()), r.f64);
  });
}

test('floats stay in [0, 1) over many draws', () => {
  const rng = new Rng(7);
  for (let i = 0; i < 100000; i++) {
    const x = rng.nextFloat();
    if (!(x >= 0 && x < 1)) assert.unreachable(`draw ${i}: ${x}`);
  }
});

test('bad seeds are rejected', () => {
  for (const s of [-1, 1.5, 2 ** 32, NaN]) assert.throws(() => new Rng(s), (e: Error) => e instanceof OptionError && /seed/.test(e.message));
});

test('no seed: a random stream (two generators differ)', () => {
  assert.not.equal(new Rng().nextU32() === new Rng().nextU32() && new Rng().nextU32() === new Rng().nextU32(), true);
});

test.run();

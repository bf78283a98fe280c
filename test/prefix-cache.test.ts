// The prefix cache (src/runtime/prefix-cache.ts): restored rows are the rows computed before (logits equal to
// the last bit), the longest usable prefix wins, one id is always left to feed, the byte budget evicts the
// least recently used, an extension replaces its prefix; through the scheduler a shared prompt prefix is
// reused (cachedTokens) and the output is what it is without the cache.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, OptionError, PrefixCache } from '../src/index.js';
import { fixtureModel, oracle, WEIGHTS } from './paths.js';
import { BOUNDS } from './models/bounds.js';

const greedy = oracle('stories260K-greedy.json');
const m = await loadModel(`${WEIGHTS}/stories260K`);
const ids = greedy.greedy_ids.slice(0, 60) as number[];
/** Bytes of one cached position of stories260K: 5 layers × keys and values × kvDim 32 × 4 bytes. */
const ROW = 5 * 2 * 32 * 4;

test('a restored prefix gives the logits of the session it was copied from, bit for bit (f32 and f16 caches)', () => {
  for (const kvCache of ['f32', 'f16'] as const) {
    const cache = new PrefixCache(m);
    const a = m.session({ kvCache });
    a.prefill(ids.slice(0, 40));
    const want = a.prefill(ids.slice(40, 50), { allLogits: true });
    a.rewind(40);
    cache.store(a);
    const b = m.session({ kvCache });
    assert.is(cache.restore(b, ids.slice(0, 50)), 40);
    assert.equal(b.history, ids.slice(0, 40));
    assert.equal(Array.from(b.prefill(ids.slice(40, 50), { allLogits: true })), Array.from(want), kvCache);
    // A cache of the other element type is never used.
    const other = m.session({ kvCache: kvCache === 'f32' ? 'f16' : 'f32' });
    assert.is(cache.restore(other, ids), 0);
    assert.equal(cache.stats, { hits: 1, misses: 1, hitTokens: 40, entries: 1, bytes: 40 * ROW * (kvCache === 'f16' ? 0.5 : 1) });
  }
});

test('the longest cached prefix wins, one id is left to feed, and what the session already holds is kept', () => {
  const cache = new PrefixCache(m);
  for (const n of [10, 30]) { const s = m.session(); s.prefill(ids.slice(0, n)); cache.store(s); }
  const other = m.session();
  other.prefill([1, 2, 3]);
  cache.store(other);
  assert.is(cache.stats.entries, 2, 'the 30-id entry replaced its 10-id prefix');
  const s = m.session();
  assert.is(cache.restore(s, ids.slice(0, 45)), 30);
  assert.is(cache.restore(m.session(), ids.slice(0, 30)), 29, 'the last id is left to feed');
  assert.is(cache.restore(m.session(), [1, 2, 3, 4]), 3);
  assert.is(cache.restore(m.session(), [7, 8]), 0);
  const held = m.session();
  held.prefill(ids.slice(0, 20));
  assert.is(cache.restore(held, ids.slice(0, 45)), 30, 'from the 20 the session holds to the 30 cached');
  assert.is(cache.stats.hitTokens, 30 + 29 + 3 + 10);
});

test('the byte budget keeps the most recently used entries', () => {
  const cache = new PrefixCache(m, { maxBytes: 25 * ROW });
  const store = (from: number) => { const s = m.session(); s.prefill(ids.slice(from, from + 10)); cache.store(s); };
  store(0); store(10);
  assert.is(cache.restore(m.session(), ids.slice(0, 12)), 10); // touches the first
  store(20);                                                    // 30 rows > 25: the least recently used (ids 10..19) goes
  assert.is(cache.stats.entries, 2);
  assert.is(cache.restore(m.session(), ids.slice(10, 22)), 0);
  assert.is(cache.restore(m.session(), ids.slice(0, 12)), 10);
  assert.is(cache.restore(m.session(), ids.slice(20, 32)), 10);
  const big = m.session();
  big.prefill(ids.slice(0, 30));
  cache.store(big);                                             // larger than the whole budget: not kept
  assert.ok(cache.stats.bytes <= 25 * ROW);
  assert.throws(() => new PrefixCache(m, { maxBytes: -1 }), (e: Error) => e instanceof OptionError);
});

test('sliding-window layers (tiny-gemma3, window 8, rings of 11 rows): a prefix is restored while its last 7 rows are in the ring', async () => {
  const g = await loadModel(fixtureModel('tiny-gemma3'), { threads: 1 });
  const cache = new PrefixCache(g), seq = ids.map((id) => id % g.spec.vocabSize);
  const s = g.session({ prefillChunk: 4 });
  s.prefill(seq.slice(0, 30));
  cache.store(s);
  // The ring holds positions 19..29; a prefix of n needs n − 7 .. n − 1 (and the full layer all of them).
  for (const [n, want] of [[29, 29], [26, 26], [25, 0], [10, 0]]) {
    const prompt = [...seq.slice(0, n), 7, 8, 9], a = g.session({ prefillChunk: 4 });
    assert.is(cache.restore(a, prompt), want, `prefix ${n}`);
    if (!want) continue;
    // Computed afresh, the prefix's last rows come from a shorter last chunk: equal up to accumulation order.
    const b = g.session({ prefillChunk: 4 });
    b.prefill(prompt.slice(0, n));
    const got = a.prefill(prompt.slice(n), { allLogits: true }), fresh = b.prefill(prompt.slice(n), { allLogits: true });
    assert.ok(fresh.every((x, i) => Math.abs(got[i] - x) <= BOUNDS.none.prefillRtol * (1 + Math.abs(x))), `prefix ${n}`);
  }
});

test('through the scheduler: a second request with the same 50-id prefix reuses it, with the same output', async () => {
  const cache = new PrefixCache(m);
  const sch = m.scheduler({ prefixCache: cache });
  const opts = { maxTokens: 20, temperature: 0, stopIds: [] };
  const p1 = [...ids.slice(0, 50), 300, 301], p2 = [...ids.slice(0, 50), 302];
  const want = await Promise.all([m.complete(p1, opts), m.complete(p2, opts)]);
  const a = await sch.generate(p1, opts).result;
  const b = await sch.generate(p2, opts).result;
  assert.equal([a.ids, b.ids], [want[0].ids, want[1].ids]);
  assert.equal([a.cachedTokens, b.cachedTokens], [0, 50]);
  // The whole first conversation is cached at its end: sending it back with a new turn reuses all of it.
  const again = await sch.generate([...p1, ...a.ids, 5], opts).result;
  assert.is(again.cachedTokens, p1.length + a.ids.length - 1);
  assert.equal(again.ids, (await m.complete([...p1, ...a.ids, 5], opts)).ids);
  sch.dispose();
});

test.run();

// A prefix cache (vLLM's automatic prefix caching, llama.cpp's cache_prompt): copies of the keys and values
// of token sequences computed before, in JS memory up to a byte budget, least recently used out first. A
// request whose prompt starts the same way (a system prompt, a chat's earlier turns) gets those rows copied
// into its own session instead of computing them again: a copy costs microseconds a token, a forward milliseconds.
import { OptionError } from '../errors.js';
import type { KvDtype } from '../families/decoder.js';
import type { Session, SessionHost } from './session.js';

export interface PrefixCacheOptions {
  /** Bytes of keys and values held at most; default 256 MiB. */
  maxBytes?: number;
}

export interface PrefixCacheStats {
  /** Restores that reused rows, and those that found nothing longer than the session held. */
  hits: number;
  misses: number;
  /** Positions copied in instead of computed. */
  hitTokens: number;
  entries: number;
  bytes: number;
}

/** One cached sequence: per layer, the rows of positions lo .. ids.length − 1 in position order. */
interface Entry { ids: number[]; kv: KvDtype; layers: { lo: number; keys: Uint8Array; values: Uint8Array }[]; bytes: number }

export const DEFAULT_PREFIX_CACHE_BYTES = 256 * 2 ** 20;

export class PrefixCache {
  readonly maxBytes: number;
  private readonly entries: Entry[] = []; // least recently used first
  private hits = 0; private misses = 0; private hitTokens = 0;

  constructor(readonly model: SessionHost, opts: PrefixCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_PREFIX_CACHE_BYTES;
    if (!(this.maxBytes >= 0)) throw new OptionError(`prefix cache maxBytes ${this.maxBytes}: expected a number >= 0`);
  }

  get stats(): PrefixCacheStats {
    return { hits: this.hits, misses: this.misses, hitTokens: this.hitTokens, entries: this.entries.length,
      bytes: this.entries.reduce((n, e) => n + e.bytes, 0) };
  }

  /**
   * Extend what `session` holds of `ids` with the longest cached prefix, leaving at least one id to feed
   * (whose logits the caller needs); returns how many ids the session now holds.
   */
  restore(session: Session, ids: number[]): number {
    this.check(session);
    const have = session.pos;
    let best: Entry | undefined, m = have;
    for (const e of this.entries) {
      if (e.kv !== session.cache.kv) continue;
      let n = 0;
      while (n < e.ids.length && n < ids.length - 1 && e.ids[n] === ids[n]) n++;
      if (n > m && this.usable(e, n)) { best = e; m = n; }
    }
    if (!best) { this.misses++; return have; }
    const { keyCache, valueCache } = session.cache, row = this.rowBytes(best.kv);
    this.model.spec.layers.forEach((kind, l) => {
      // Full attention needs every position before m; a window only its last window − 1.
      const from = kind.window > 0 ? Math.max(0, m - kind.window + 1) : have, L = best!.layers[l];
      for (const [t, src] of [[keyCache[l], L.keys], [valueCache[l], L.values]] as const) {
        const dst = this.model.arena.bytes(t.ptr, t.shape[0] * row);
        for (const [p, r, n] of runs(from, m, t.shape[0])) dst.set(src.subarray((p - L.lo) * row, (p - L.lo + n) * row), r * row);
      }
    });
    session.advance(ids.slice(have, m));
    this.touch(best);
    this.hits++;
    this.hitTokens += m - have;
    return m;
  }

  /** Keep a copy of the rows of every id `session` holds (replacing a cached prefix of them). */
  store(session: Session): void {
    this.check(session);
    const ids = session.history, n = ids.length, { keyCache, valueCache, kv } = session.cache, row = this.rowBytes(kv);
    if (n === 0) return;
    const covering = this.entries.find((e) => e.kv === kv && e.ids.length >= n && prefixOf(ids, e.ids) && this.usable(e, n));
    if (covering) { this.touch(covering); return; }
    const los = keyCache.map((t) => Math.max(0, n - t.shape[0]));
    const bytes = los.reduce((sum, lo) => sum + 2 * (n - lo) * row, 0);
    if (bytes > this.maxBytes) return;
    const layers = los.map((lo, l) => {
      const copy = (t: typeof keyCache[number]) => {
        const out = new Uint8Array((n - lo) * row), src = this.model.arena.bytes(t.ptr, t.shape[0] * row);
        for (const [p, r, c] of runs(lo, n, t.shape[0])) out.set(src.subarray(r * row, (r + c) * row), (p - lo) * row);
        return out;
      };
      return { lo, keys: copy(keyCache[l]), values: copy(valueCache[l]) };
    });
    const entry: Entry = { ids, kv, layers, bytes };
    // A cached prefix of these ids is no longer needed when the new entry can restore all of it.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.kv === kv && prefixOf(e.ids, ids) && this.usable(entry, e.ids.length)) this.entries.splice(i, 1);
    }
    let total = this.stats.bytes;
    while (total + bytes > this.maxBytes) total -= this.entries.shift()!.bytes;
    this.entries.push(entry);
  }

  /** Forget every entry. */
  clear(): void { this.entries.length = 0; }

  /** Whether e holds every row a restore of its first m ids needs (a windowed layer's ring keeps only its last rows). */
  private usable(e: Entry, m: number): boolean {
    return this.model.spec.layers.every((kind, l) => e.layers[l].lo <= (kind.window > 0 ? Math.max(0, m - kind.window + 1) : 0));
  }

  private touch(e: Entry): void {
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.push(e);
  }

  private rowBytes(kv: KvDtype): number { return this.model.spec.kvDim * (kv === 'f16' ? 2 : 4); }

  private check(session: Session): void {
    if (session.model !== this.model) throw new OptionError('prefix cache: a session of another model');
  }
}

/** Positions [a, b) of a cache of `rows` rows (a ring: position p at row p % rows) as runs of [position, row, count]. */
function runs(a: number, b: number, rows: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let p = a; p < b;) {
    const r = p % rows, n = Math.min(b - p, rows - r);
    out.push([p, r, n]);
    p += n;
  }
  return out;
}

const prefixOf = (a: number[], b: number[]) => a.length <= b.length && a.every((id, i) => id === b[i]);

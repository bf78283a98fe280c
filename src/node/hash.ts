// Incremental digests on node:crypto (Node, Deno, Bun).
import { createHash } from 'node:crypto';
import type { Hasher } from '../sources/hash.js';

export function nodeHasher(algorithm: 'sha256' | 'sha1'): Hasher {
  const h = createHash(algorithm);
  return { update: (bytes) => { h.update(bytes); }, hex: async () => h.digest('hex') };
}

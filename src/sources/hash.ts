// Digests of downloaded files, computed as the bytes arrive: node:crypto where it exists (Node, Deno,
// Bun), else the bytes are kept and handed to WebCrypto once (browsers hold the whole file anyway).
import { isNode, nodeFiles } from '../node-parts.js';

/** What a file from the hub must hash to: an LFS file's sha256, or a git blob id (sha1 of "blob SIZE\0" + bytes). */
export interface Digest {
  kind: 'sha256' | 'git-sha1';
  /** Lowercase hex. */
  hex: string;
}

export interface Hasher {
  update(bytes: Uint8Array): void;
  /** Lowercase hex of everything given to update. */
  hex(): Promise<string>;
}

/** A hasher for `d`; `size` is the file's length, which a git blob id covers. */
export async function hasherFor(d: Digest, size: number): Promise<Hasher> {
  const algorithm = d.kind === 'sha256' ? 'sha256' : 'sha1';
  const h = isNode() ? (await nodeFiles<{ nodeHasher(algorithm: string): Hasher }>()).nodeHasher(algorithm) : bufferedHasher(algorithm);
  if (d.kind === 'git-sha1') h.update(new TextEncoder().encode(`blob ${size}\0`));
  return h;
}

/** WebCrypto has no incremental digest: keep the chunks, hash them once. */
export function bufferedHasher(algorithm: 'sha256' | 'sha1'): Hasher {
  const chunks: Uint8Array[] = [];
  return {
    update: (bytes) => { chunks.push(bytes); },
    async hex() {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) { all.set(c, at); at += c.length; }
      const sum = await crypto.subtle.digest(algorithm === 'sha256' ? 'SHA-256' : 'SHA-1', all);
      return [...new Uint8Array(sum)].map((b) => b.toString(16).padStart(2, '0')).join('');
    },
  };
}

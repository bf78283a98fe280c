// Hugging Face Hub ids (`hf:org/name[@revision]`, or a bare `org/name[@revision]`): the revision resolved
// to a commit with one API call, then every file from {hub}/{id}/resolve/{commit}/{file}, checked against
// the size and digest the hub lists for it, and kept in a hub store (the standard cache in Node).
import { OptionError, SourceError } from '../errors.js';
import type { CacheWriter, ModelCache } from './cache.js';
import type { Expect } from './download.js';
import type { Digest } from './hash.js';
import { encodePath, isModelPath } from './names.js';
import type { ByteReader } from './sources.js';

export const HUB = 'https://huggingface.co';
/** A full commit id, as the hub's API reports it and the cache names snapshots. */
export const COMMIT = /^[0-9a-f]{40}$/;
const ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const BARE_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*(@.+)?$/;

/** An environment variable where `process` exists (Node, Deno, Bun); undefined elsewhere. */
export const env = (name: string): string | undefined => (typeof process !== 'undefined' ? process.env?.[name] : undefined);

export interface HubRef {
  /** `org/name` (or `name`). */
  id: string;
  revision: string;
}

/** Whether `ref` could be a bare hub id (`org/name` or `org/name@revision`), if no local directory has that name. */
export const isBareHubId = (ref: string) => BARE_ID.test(ref);

/** `hf:org/name[@revision]`, or `org/name[@revision]` without the prefix; OptionError when malformed. */
export function parseHubRef(ref: string): HubRef {
  const [id, revision = 'main', ...extra] = ref.replace(/^hf:/, '').split('@');
  if (!ID.test(id) || /--|\.\./.test(id) || extra.length || !isRevision(revision)) {
    throw new OptionError(`${ref}: not a hub id; expected hf:org/name or hf:org/name@revision`);
  }
  return { id, revision };
}

/** A branch, tag or commit: no empty, `.` or `..` segment, so that refs/REVISION stays inside the cache. */
const isRevision = (rev: string) => rev !== '' && rev.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !/[\\\0-\x1f]/.test(s));

/** The hub's base URL: `hubUrl`, else $HF_ENDPOINT, else https://huggingface.co. */
export function hubEndpoint(hubUrl?: string): string {
  const hub = (hubUrl ?? env('HF_ENDPOINT') ?? HUB).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(hub)) throw new OptionError(`hubUrl ${hub}: expected an http(s) URL`);
  return hub;
}

/** $HF_HUB_OFFLINE set to 1 (or true, yes, on), as huggingface_hub reads it. */
export const hubOfflineEnv = () => /^(1|true|yes|on)$/i.test(env('HF_HUB_OFFLINE') ?? '');

/** What the hub lists for one file at a commit; size and etag are absent from mirrors that omit them. */
export interface HubFile {
  size?: number;
  /** The name of the file's blob: an LFS file's sha256, else its git blob id. */
  etag?: string;
  digest?: Digest;
}

/** A revision resolved by the API: its commit and the files in it. */
export interface Revision {
  commit: string;
  files: Map<string, HubFile>;
}

/** `{hub}/api/models/{id}/revision/{rev}?blobs=true`, which lists each file's size, blob id and LFS sha256. */
export const revisionUrl = (hub: string, r: HubRef) => `${hub}/api/models/${r.id}/revision/${encodeURIComponent(r.revision)}?blobs=true`;

/** The API's answer, checked: a 40-hex commit, and the files whose names stay inside the model. */
export function parseRevision(url: string, text: string): Revision {
  let body: { sha?: unknown; siblings?: unknown };
  try { body = JSON.parse(text); } catch { throw new SourceError(`${url}: not JSON`); }
  if (typeof body?.sha !== 'string' || !COMMIT.test(body.sha)) throw new SourceError(`${url}: no 40-hex commit in "sha"`);
  const files = new Map<string, HubFile>();
  for (const s of Array.isArray(body.siblings) ? body.siblings : []) {
    if (typeof s?.rfilename === 'string' && isModelPath(s.rfilename)) files.set(s.rfilename, hubFile(s));
  }
  return { commit: body.sha, files };
}

function hubFile(s: { size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown; size?: unknown } }): HubFile {
  const sha256 = s.lfs?.sha256;
  if (typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256)) {
    return { size: count(s.lfs?.size) ?? count(s.size), etag: sha256, digest: { kind: 'sha256', hex: sha256 } };
  }
  const blobId = s.blobId;
  if (typeof blobId === 'string' && COMMIT.test(blobId)) return { size: count(s.size), etag: blobId, digest: { kind: 'git-sha1', hex: blobId } };
  return { size: count(s.size) };
}

const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);

/**
 * Size and digest from the resolve response's own headers, for a file the listing gave none for:
 * X-Linked-Size and X-Linked-Etag (an LFS sha256) on a redirect to the CDN, else ETag (a git blob id).
 */
export function fromHeaders(h: Headers): HubFile {
  const linked = etagValue(h.get('x-linked-etag'));
  if (linked && /^[0-9a-f]{64}$/.test(linked)) return { size: count(Number(h.get('x-linked-size') ?? NaN)), etag: linked, digest: { kind: 'sha256', hex: linked } };
  const etag = etagValue(h.get('etag'));
  const size = h.get('content-encoding') ? undefined : count(Number(h.get('content-length') ?? NaN));
  return etag && COMMIT.test(etag) ? { size, etag, digest: { kind: 'git-sha1', hex: etag } } : { size };
}

/** `W/"abc"` → `abc`, as huggingface_hub normalizes an ETag. */
const etagValue = (v: string | null) => v?.replace(/^W\//, '').replace(/^"|"$/g, '');

/** What `save` checks a hub file against. */
export const expectOf = (f: HubFile, maxBytes: number, maxOption: string): Expect =>
  ({ bytes: f.size, digest: f.size === undefined ? undefined : f.digest, maxBytes, maxOption });

/** Where hub files are kept: the standard Hugging Face cache (src/node/hf-cache.ts) or any ModelCache. */
export interface HubStore {
  /** The repository's folder or the cache's label, for messages. */
  readonly label: string;
  /** Where a file is or would be kept, for messages. */
  where(commit: string, file: string): string;
  /** What refs/REVISION holds: the commit a branch or tag pointed to when last resolved online. */
  readRef(revision: string): Promise<string | undefined>;
  writeRef(revision: string, commit: string): Promise<void>;
  /** The file at a commit; a blob with this etag already kept (another commit's, Python's) is reused. */
  get(commit: string, file: string, etag?: string): Promise<ByteReader | undefined>;
  /** Write the file at a commit; `etag` names its blob. */
  begin(commit: string, file: string, etag: string): Promise<CacheWriter>;
  evict(commit: string, file: string): Promise<void>;
}

/** A hub store inside a ModelCache (browsers, memory, a custom cache): files keyed by their commit URL. */
export function cacheHubStore(cache: ModelCache, hub: string, id: string): HubStore {
  const fileUrl = (commit: string, file: string) => `${hub}/${id}/resolve/${commit}/${encodePath(file)}`;
  const refUrl = (rev: string) => `${hub}/api/models/${id}/revision/${encodeURIComponent(rev)}`;
  return {
    label: cache.label,
    where: (commit, file) => `${cache.label}: ${fileUrl(commit, file)}`,
    async readRef(rev) {
      const r = await cache.get(refUrl(rev));
      if (!r) return undefined;
      const bytes = new Uint8Array(Math.min(r.size, 64));
      await r.read(0, bytes).finally(() => r.close());
      return new TextDecoder().decode(bytes);
    },
    async writeRef(rev, commit) {
      const w = await cache.begin(refUrl(rev));
      await w.write(new TextEncoder().encode(commit));
      await (await w.commit()).close();
    },
    get: (commit, file) => cache.get(fileUrl(commit, file)),
    begin: (commit, file) => cache.begin(fileUrl(commit, file)),
    evict: (commit, file) => cache.evict(fileUrl(commit, file)),
  };
}

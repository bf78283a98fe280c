// A hub repository at one commit as a FileSource: the revision resolved online by the API (and written
// to refs/ in the store) or offline from the store's refs, files checked against the hub's listing.
import { SourceError } from '../errors.js';
import { isNode, nodeFiles } from '../node-parts.js';
import { defaultCache, memoryCache } from './cache.js';
import { openUrl, save, type RequestOptions } from './download.js';
import {
  cacheHubStore, COMMIT, expectOf, fromHeaders, hubEndpoint, hubOfflineEnv, parseHubRef, parseRevision, revisionUrl,
  type HubFile, type HubRef, type HubStore, type Revision,
} from './hub.js';
import { fileUrl } from './names.js';
import type { FileSource, Limit, SourceOptions } from './options.js';

/** The files of hub id `ref` at the commit its revision names now (online) or last named (offline). */
export async function openHub(ref: string, o: SourceOptions, request: RequestOptions, apiLimit: Limit): Promise<{ src: FileSource; offline: boolean }> {
  const r = parseHubRef(ref);
  const hub = hubEndpoint(o.hubUrl);
  const store = await hubStore(o, hub, r.id);
  const offline = o.offline ?? hubOfflineEnv();
  if (offline) {
    const commit = COMMIT.test(r.revision) ? r.revision : await readCommit(store, r.revision);
    if (!commit) throw new SourceError(`hf:${r.id}@${r.revision}: revision not in the cache (${store.label}) and offline is set`);
    return { src: hubSource(hub, r, commit, undefined, store), offline };
  }
  const { commit, files } = await fetchRevision(hub, r, request, apiLimit);
  if (commit !== r.revision && (await readCommit(store, r.revision)) !== commit) await store.writeRef(r.revision, commit);
  return { src: hubSource(hub, r, commit, files, store), offline };
}

/** The commit in refs/REVISION, if it holds one. */
async function readCommit(store: HubStore, revision: string): Promise<string | undefined> {
  const commit = (await store.readRef(revision))?.trim();
  return commit && COMMIT.test(commit) ? commit : undefined;
}

/** One API call: the revision's commit and the size, blob id and LFS sha256 of every file in it. */
async function fetchRevision(hub: string, r: HubRef, request: RequestOptions, limit: Limit): Promise<Revision> {
  const url = revisionUrl(hub, r);
  const opened = await openUrl(url, request);
  if (opened === 'missing') throw new SourceError(`${url}: HTTP 404 Not Found (no such repository or revision)`);
  const reader = await save(opened, await memoryCache().begin(url), limit, () => undefined);
  const bytes = new Uint8Array(reader.size);
  await reader.read(0, bytes);
  return parseRevision(url, new TextDecoder().decode(bytes));
}

/** The standard Hugging Face cache in Node (or `cacheDir`); a given ModelCache, or the default one, elsewhere. */
async function hubStore(o: SourceOptions, hub: string, id: string): Promise<HubStore> {
  if (o.cache === false) return cacheHubStore(memoryCache(), hub, id);
  if (o.cache) return cacheHubStore(o.cache, hub, id);
  if (!isNode()) return cacheHubStore(await defaultCache(), hub, id);
  const node = await nodeFiles<{ hfCache(dir: string, id: string): HubStore; defaultHubCacheDir(): string }>();
  return node.hfCache(o.cacheDir ?? node.defaultHubCacheDir(), id);
}

function hubSource(hub: string, r: HubRef, commit: string, listing: Map<string, HubFile> | undefined, store: HubStore): FileSource {
  const base = `${hub}/${r.id}/resolve/${commit}/`;
  const url = (name: string) => fileUrl(base, name);
  /** The listing's size and digest, else the resolve response's headers'. */
  const meta = (name: string, first: Headers): HubFile => {
    const l = listing?.get(name) ?? {};
    const h: HubFile = l.etag ? {} : fromHeaders(first);
    return { size: l.size ?? h.size, etag: l.etag ?? h.etag, digest: l.digest ?? h.digest };
  };
  return {
    label: base.slice(0, -1),
    url,
    listed: (name) => (listing ? listing.get(name) ?? 'missing' : undefined),
    cached: (name) => store.get(commit, name, listing?.get(name)?.etag),
    evict: (name) => store.evict(commit, name),
    async receive(name, first, limit) {
      const f = meta(name, first);
      if (!f.etag) throw new SourceError(`${url(name)}: the hub sent no ETag, so the file has no blob name`);
      return { writer: await store.begin(commit, name, f.etag), expect: expectOf(f, limit.maxBytes, limit.maxOption) };
    },
    notCached: (name) => `hf:${r.id}@${r.revision}: ${name} is not in the cache (${store.where(commit, name)}) and offline is set`,
  };
}

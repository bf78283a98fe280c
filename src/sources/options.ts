// What a source load takes (SourceOptions) and the per-model file source RemoteFiles and the hub share:
// a leaf, so remote.ts and hub-source.ts both read it without importing each other.
import { optionKeys } from '../options.js';
import type { CacheWriter, ModelCache } from './cache.js';
import type { Expect } from './download.js';
import type { HubFile } from './hub.js';
import type { ByteReader } from './sources.js';

export interface SourceOptions {
  /** Where downloads are kept: a ModelCache, or false for memory only. Default: a directory (Node), Cache API (browsers). */
  cache?: ModelCache | false;
  /**
   * Node: the cache directory. Default for base URLs $TIDE_CACHE, else ~/.cache/tide; for hub ids the
   * standard Hugging Face cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
   */
  cacheDir?: string;
  /** Use the cache as it stands; a file that is not there is an error naming it, never a request. Hub ids: default $HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Milliseconds without receiving any bytes before a request fails (default 30000). */
  timeoutMs?: number;
  /** The hub for hub ids (default $HF_ENDPOINT, else https://huggingface.co). */
  hubUrl?: string;
  /** Hub token, sent as `Authorization: Bearer` to the hub's origin and no other (default $HF_TOKEN). */
  token?: string;
  /** Sent with every request to the model's own origin (the base URL's or the hub's), never to another host a redirect leads to. */
  headers?: Record<string, string>;
  /** The most bytes a weights file (.safetensors) may declare, or reach when it declares no size (default 64 GiB). */
  maxWeightBytes?: number;
  /** The same for every other file: config, tokenizer and other JSON (default 64 MiB). */
  maxJsonBytes?: number;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Called as file bytes arrive or are found in the cache. */
  onDownloadProgress?: (p: DownloadProgress) => void;
}

export const SOURCE_OPTIONS = optionKeys<SourceOptions>()('cache', 'cacheDir', 'offline', 'timeoutMs', 'hubUrl', 'token', 'headers',
  'maxWeightBytes', 'maxJsonBytes', 'fetch', 'onDownloadProgress');

/** One file's progress and the sum over every file of this load known so far. */
export interface DownloadProgress {
  file: string;
  fileLoadedBytes: number;
  /** NaN when nothing declared the file's size. */
  fileTotalBytes: number;
  loadedBytes: number;
  totalBytes: number;
  /** The file was already in the cache. */
  cached: boolean;
}

/** The size cap for a file, and the option that sets it. */
export type Limit = Pick<Expect, 'maxBytes' | 'maxOption'>;

/** One model's files: where each is downloaded from, kept, and what it is checked against. */
export interface FileSource {
  /** For messages: the base URL, or the hub's resolve URL at the commit. */
  readonly label: string;
  /** The URL of a file; SourceError for a name that is not a path inside the model. */
  url(name: string): string;
  /** What the hub's listing says of a file ('missing': not in the repository); undefined without a listing. */
  listed(name: string): HubFile | 'missing' | undefined;
  cached(name: string): Promise<ByteReader | undefined>;
  evict(name: string): Promise<void>;
  /** The writer for a download and what its body must be, given its first response's headers. */
  receive(name: string, first: Headers, limit: Limit): Promise<{ writer: CacheWriter; expect: Expect }>;
  /** The error message for a file that offline mode cannot find in the cache. */
  notCached(name: string): string;
}


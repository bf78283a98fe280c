// Safetensors reader: validates headers (the list in huggingface/safetensors `validate()`), opens
// single or sharded checkpoints and reads a tensor's raw bytes on demand. Knows bytes, offsets and
// dtype sizes only; nothing about models, weight names or converting values.
import type { ByteReader, ModelFiles } from '../sources/sources.js';
import { DtypeError, SafetensorsError, ShapeError, SourceError } from '../errors.js';
import { jsonFault } from './json.js';
import { isPlainFileName } from '../sources/names.js';

export type StDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64'
  | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export const DTYPE_BYTES: Record<StDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
  U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

export interface TensorInfo {
  name: string;
  dtype: StDtype;
  shape: number[];
  offset: number; // absolute byte offset of the data in the file (8 + header length + data_offsets[0])
  bytes: number; // data_offsets[1] - data_offsets[0]
  reader: ByteReader; // the file it lives in
}

export interface Checkpoint {
  /** Every tensor of every shard, by name. */
  tensors: Map<string, TensorInfo>;
  /** __metadata__ of the (first) file. */
  metadata: Record<string, string>;
  /** Files opened, for error messages. */
  files: string[];
  close(): Promise<void>;
}

/** Refused before allocating; the same bound as safetensors' MAX_HEADER_SIZE. */
const MAX_HEADER_BYTES = 100_000_000;
const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

/** Parse and validate one file's header; reads 8 bytes, then the header, never the data. */
export async function readHeader(reader: ByteReader): Promise<{ tensors: TensorInfo[]; metadata: Record<string, string> }> {
  const headerBytes = await readHeaderLength(reader);
  const json = new Uint8Array(headerBytes);
  await reader.read(8, json);
  const header = parseJsonObject(`${reader.label}: header`, decodeUtf8(reader.label, json));
  const dataStart = 8 + headerBytes;
  const metadata = checkMetadata(reader.label, header.__metadata__);
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name !== '__metadata__') tensors.push(checkEntry(reader, name, entry, dataStart));
  }
  checkLayout(reader, tensors, dataStart);
  return { tensors, metadata };
}

/**
 * Open model.safetensors, or every shard named by model.safetensors.index.json when it exists; in the
 * model's root, or in `folder` (a sentence-transformers module's, e.g. "2_Dense").
 */
export async function openCheckpoint(model: ModelFiles, folder = ''): Promise<Checkpoint> {
  const files = folder ? inFolder(model, folder) : model;
  const indexText = await files.text(INDEX);
  const readers: ByteReader[] = [];
  try {
    const found = indexText === undefined ? await openSingle(files, readers) : await openShards(files, indexText, readers);
    return { ...found, files: readers.map((r) => r.label), close: () => closeAll(readers) };
  } catch (e) {
    await closeAll(readers).catch(() => undefined); // the first error is the one worth reporting
    throw e;
  }
}

/** Read a tensor's raw bytes into `into` (into.length must equal t.bytes). */
export async function readTensor(t: TensorInfo, into: Uint8Array): Promise<void> {
  if (into.length !== t.bytes) {
    throw new ShapeError(`${t.reader.label}: tensor ${q(t.name)}: buffer is ${into.length} bytes, tensor is ${t.bytes}`);
  }
  await t.reader.read(t.offset, into);
}

async function readHeaderLength(r: ByteReader): Promise<number> {
  if (r.size < 8) throw new SafetensorsError(`${r.label}: file is ${r.size} bytes, shorter than the 8-byte header length`);
  const head = new Uint8Array(8);
  await r.read(0, head);
  const n = new DataView(head.buffer).getBigUint64(0, true);
  // The value is not shown: a file that is not safetensors (a link to a text) would have its first 8 bytes told.
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${r.label}: header length is over the limit of ${MAX_HEADER_BYTES} bytes`);
  if (8 + Number(n) > r.size) {
    throw new SafetensorsError(`${r.label}: header length ${n} runs past end of file (8 + ${n} > ${r.size} bytes)`);
  }
  return Number(n);
}

function decodeUtf8(label: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(`${label}: header is not valid UTF-8`);
  }
}

function parseJsonObject(where: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${where} is not valid JSON (${jsonFault(e)})`);
  }
  if (!isObject(value)) throw new SafetensorsError(`${where} is ${kind(value)}, expected a JSON object`);
  return value;
}

function checkMetadata(label: string, meta: unknown): Record<string, string> {
  if (meta === undefined) return {};
  if (!isObject(meta)) throw new SafetensorsError(`${label}: __metadata__ is ${kind(meta)}, expected an object of strings`);
  for (const [key, value] of Object.entries(meta)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(`${label}: __metadata__ ${q(key)} is ${kind(value)}, expected a string`);
    }
  }
  return meta as Record<string, string>;
}

function checkEntry(reader: ByteReader, name: string, entry: unknown, dataStart: number): TensorInfo {
  const where = `${reader.label}: tensor ${q(name)}`;
  if (!isObject(entry)) throw new SafetensorsError(`${where}: entry is ${kind(entry)}, expected an object`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(entry, key)) throw new SafetensorsError(`${where}: missing ${key}`);
  }
  const dtype = checkDtype(where, entry.dtype);
  const shape = checkInts(where, 'shape', entry.shape);
  const offsets = checkInts(where, 'data_offsets', entry.data_offsets);
  if (offsets.length !== 2) {
    throw new SafetensorsError(`${where}: data_offsets has ${offsets.length} entries, expected 2 [begin, end]`);
  }
  const [begin, end] = offsets;
  const dataBytes = reader.size - dataStart;
  if (begin > end) throw new SafetensorsError(`${where}: data_offsets begin ${begin} > end ${end}`);
  if (end > dataBytes) throw new SafetensorsError(`${where}: data_offsets end ${end} > data size ${dataBytes}`);
  const want = byteSize(where, shape, dtype);
  if (want !== end - begin) {
    throw new SafetensorsError(`${where}: shape [${shape}] of ${dtype} is ${want} bytes, data_offsets span ${end - begin}`);
  }
  return { name, dtype, shape, offset: dataStart + begin, bytes: end - begin, reader };
}

function checkDtype(where: string, dtype: unknown): StDtype {
  if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: dtype is ${kind(dtype)}, expected a string`);
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new DtypeError(`${where}: unknown dtype ${q(dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  return dtype as StDtype;
}

function checkInts(where: string, field: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw new SafetensorsError(`${where}: ${field} is ${kind(value)}, expected an array`);
  value.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new SafetensorsError(`${where}: ${field}[${i}] is ${show(v)}, expected a non-negative integer`);
    }
  });
  return value as number[];
}

/** prod(shape) × dtype size, refusing overflow instead of wrapping (safetensors' ValidationOverflow). */
function byteSize(where: string, shape: number[], dtype: StDtype): number {
  let n = DTYPE_BYTES[dtype];
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new SafetensorsError(`${where}: shape [${shape}] of ${dtype} overflows 2^53 bytes`);
  }
  return n;
}

/** Sorted by begin, spans must run contiguously from 0 to the end of the file. */
function checkLayout(reader: ByteReader, tensors: TensorInfo[], dataStart: number): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset || a.bytes - b.bytes);
  let pos = 0;
  let prev: TensorInfo | undefined;
  for (const t of sorted) {
    const begin = t.offset - dataStart;
    const where = `${reader.label}: tensor ${q(t.name)}: data_offsets [${begin}, ${begin + t.bytes}]`;
    if (begin < pos) throw new SafetensorsError(`${where} overlap tensor ${q(prev!.name)}, which ends at ${pos}`);
    if (begin > pos) {
      const after = prev ? `tensor ${q(prev.name)} ends at ${pos}` : 'the start of the data';
      throw new SafetensorsError(`${where} leave a gap of ${begin - pos} bytes after ${after}`);
    }
    pos = begin + t.bytes;
    prev = t;
  }
  const dataBytes = reader.size - dataStart;
  if (pos !== dataBytes) {
    const last = prev ? `the last tensor ${q(prev.name)} ends` : 'there are no tensors, data ends';
    throw new SafetensorsError(`${reader.label}: ${last} at ${pos} but data size is ${dataBytes}`);
  }
}

/** The files under `folder`, named relative to it. */
function inFolder(files: ModelFiles, folder: string): ModelFiles {
  const at = (name: string) => `${folder}/${name}`;
  return { label: `${files.label.replace(/\/+$/, '')}/${folder}`, text: (name) => files.text(at(name)), open: (name) => files.open(at(name)) };
}

async function openSingle(files: ModelFiles, readers: ByteReader[]) {
  const reader = await files.open(SINGLE).catch((e) => {
    if (!(e instanceof SourceError)) throw e;
    throw new SourceError(`${files.label}: found neither ${INDEX} nor ${SINGLE} (${oneLine(e.message)})`);
  });
  readers.push(reader);
  const { tensors, metadata } = await readHeader(reader);
  return { tensors: new Map(tensors.map((t) => [t.name, t])), metadata };
}

async function openShards(files: ModelFiles, indexText: string, readers: ByteReader[]) {
  const weightMap = parseIndex(`${files.label.replace(/\/+$/, '')}/${INDEX}`, indexText);
  const shards = [...new Set(weightMap.values())].sort(); // model-00001-of-… first
  const headers = [];
  for (const shard of shards) {
    const reader = await files.open(shard);
    readers.push(reader);
    headers.push({ shard, reader, ...(await readHeader(reader)) });
  }
  const tensors = new Map<string, TensorInfo>();
  for (const t of headers.flatMap((h) => h.tensors)) {
    const prior = tensors.get(t.name);
    if (prior) throw new SafetensorsError(`${t.reader.label}: tensor ${q(t.name)}: duplicate, also in shard ${prior.reader.label}`);
    tensors.set(t.name, t);
  }
  checkIndex(weightMap, headers);
  for (const [name, shard] of weightMap) {
    if (tensors.has(name)) continue;
    const label = headers.find((h) => h.shard === shard)!.reader.label;
    throw new SafetensorsError(`${label}: tensor ${q(name)}: listed for shard ${shard} in ${INDEX} but missing from it`);
  }
  return { tensors, metadata: headers[0].metadata };
}

/** Each shard's tensors must be where the index says (the caller then checks that none is missing). */
function checkIndex(weightMap: Map<string, string>, headers: { shard: string; reader: ByteReader; tensors: TensorInfo[] }[]) {
  for (const { shard, reader, tensors } of headers) {
    for (const t of tensors) {
      const listed = weightMap.get(t.name);
      const where = `${reader.label}: tensor ${q(t.name)}: in shard ${shard} but ${INDEX}`;
      if (listed === undefined) throw new SafetensorsError(`${where} weight_map does not list it`);
      if (listed !== shard) throw new SafetensorsError(`${where} puts it in ${listed}`);
    }
  }
}

/** weight_map as tensor name → shard file name; each a plain file name in the model's folder (see isPlainFileName). */
export function parseIndex(label: string, text: string): Map<string, string> {
  const index = parseJsonObject(`${label}: index`, text);
  const weightMap = index.weight_map;
  if (!isObject(weightMap)) throw new SafetensorsError(`${label}: weight_map is ${kind(weightMap)}, expected an object`);
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new SafetensorsError(`${label}: weight_map ${q(name)} is ${show(shard)}, expected a shard file name in the model's folder`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw new SafetensorsError(`${label}: weight_map is empty`);
  return map;
}

async function closeAll(readers: ByteReader[]): Promise<void> {
  await Promise.all(readers.map((r) => r.close()));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
/** What a JSON value is, for "X is <kind>, expected Y". */
function kind(v: unknown): string {
  if (v === null || v === undefined) return v === null ? 'null' : 'missing';
  return Array.isArray(v) ? 'an array' : `${typeof v === 'object' ? 'an' : 'a'} ${typeof v} (${show(v)})`;
}
/** A JSON value, short and on one line. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch { // nesting too deep for the stack
    s = Array.isArray(v) ? '[...]' : '{...}';
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
/** A quoted name in full; JSON escapes keep a newline in a name off the message line. */
function q(name: string): string {
  return JSON.stringify(name);
}
function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

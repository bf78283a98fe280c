// ModelFiles over a local directory (Node only). Only regular files are read (links are followed): a FIFO
// would block the open forever, a device never end, and a directory is not a file.
import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteReader, ModelFiles } from '../sources/sources.js';
import { SourceError } from '../errors.js';

/** The largest text file read whole (config, tokenizer.json: 33 MB for Gemma 3's): V8 strings stop near 512 MiB. */
const MAX_TEXT_BYTES = 256 * 2 ** 20;

/** Whether `path` is an existing directory (a bare `org/name` that is not one is a hub id). */
export const isDirectory = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);

export async function dirSource(dir: string): Promise<ModelFiles> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new SourceError(`${dir}: not a directory`);
  return {
    label: dir,
    text: (name) => readTextFile(join(dir, name)),
    open: (name) => fileReader(join(dir, name)),
  };
}

/** A regular file's text, or undefined when there is no file at `path`. */
export async function readTextFile(path: string): Promise<string | undefined> {
  const fh = await openRegular(path);
  if (!fh) return undefined;
  try {
    const { size } = await fh.stat();
    if (size > MAX_TEXT_BYTES) throw new SourceError(`${path}: ${size} bytes, over the limit of ${MAX_TEXT_BYTES} for a text file`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export async function fileReader(path: string): Promise<ByteReader> {
  const fh = await openRegular(path);
  if (!fh) throw new SourceError(`${path}: file not found`);
  const { size } = await fh.stat();
  return {
    label: path,
    size,
    async read(offset, into) {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await fh.read(into, done, into.length - done, offset + done);
        if (bytesRead === 0) throw new SourceError(`${path}: unexpected end of file at byte ${offset + done}`);
        done += bytesRead;
      }
    },
    close: () => fh.close(),
  };
}

/**
 * The file at `path` opened for reading, or undefined when there is none. Checked with stat before the
 * open, and again on the open handle (the path may have changed between): the open is non-blocking, so
 * even a FIFO swapped in at that moment cannot hang it.
 */
async function openRegular(path: string): Promise<FileHandle | undefined> {
  const failed = (e: NodeJS.ErrnoException) => new SourceError(`${path}: cannot read (${e.code ?? e.message})`);
  const st = await stat(path).catch((e) => { if (e.code === 'ENOENT') return undefined; throw failed(e); });
  if (!st) return undefined;
  checkRegular(path, st);
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((e) => { throw failed(e); });
  try {
    checkRegular(path, await fh.stat());
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

function checkRegular(path: string, st: Stats): void {
  if (st.isFile()) return;
  const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket'
    : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file';
  throw new SourceError(`${path}: not a regular file (${kind})`);
}

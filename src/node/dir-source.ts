// ModelFiles over a local directory (Node only).
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteReader, ModelFiles } from '../sources/sources.js';
import { SourceError } from '../errors.js';

/** Whether `path` is an existing directory (a bare `org/name` that is not one is a hub id). */
export const isDirectory = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);

export async function dirSource(dir: string): Promise<ModelFiles> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new SourceError(`${dir}: not a directory`);
  return {
    label: dir,
    async text(name) {
      return readFile(join(dir, name), 'utf8').catch((e) => {
        if (e.code === 'ENOENT') return undefined;
        throw new SourceError(`${join(dir, name)}: ${e.message}`);
      });
    },
    open: (name) => fileReader(join(dir, name)),
  };
}

export async function fileReader(path: string): Promise<ByteReader> {
  const fh = await open(path, 'r').catch((e) => { throw new SourceError(`${path}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`); });
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

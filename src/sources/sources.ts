// Where model files come from. The loader sees only these interfaces, never fs or fetch,
// so the same code runs in Node, browsers and edge runtimes.

/** Random access to one file's bytes. */
export interface ByteReader {
  /** Name used in error messages (a path or URL). */
  readonly label: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Fill `into` with bytes [offset, offset + into.length). Rejects if the file is shorter. */
  read(offset: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A model: a folder of named files (config.json, model.safetensors, tokenizer.json ...). */
export interface ModelFiles {
  /** Name used in error messages (a directory or base URL). */
  readonly label: string;
  /** The file's text, or undefined when the model has no such file. */
  text(name: string): Promise<string | undefined>;
  /** Open a file for random access; rejects with SourceError when it does not exist. */
  open(name: string): Promise<ByteReader>;
  /** Release what the source holds (downloaded files never asked for); optional. */
  close?(): Promise<void>;
}

/** A ByteReader over bytes already in memory (tests, browsers that fetched a whole file). */
export function bytesReader(bytes: Uint8Array, label = 'bytes'): ByteReader {
  return {
    label,
    size: bytes.length,
    async read(offset, into) {
      if (offset < 0 || offset + into.length > bytes.length) {
        throw new RangeError(`${label}: read [${offset}, ${offset + into.length}) past end ${bytes.length}`);
      }
      into.set(bytes.subarray(offset, offset + into.length));
    },
    async close() {},
  };
}

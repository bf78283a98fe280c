// Test kit for the encoder suites: tiny-bert's files with some replaced or removed (in memory), and its
// checkpoint rewritten with tensors renamed or dropped. Knows the safetensors layout, nothing about Tide.
import { readFileSync } from 'node:fs';
import { bytesReader, type ModelFiles } from '../../src/index.js';
import { SourceError } from '../../src/errors.js';
import { fixtureModel } from '../paths.js';

export const TINY_BERT = fixtureModel('tiny-bert');

/** tiny-bert's files, with `over[name]` replacing a file's content, or removing it when null. */
export function tinyBertFiles(over: Record<string, string | Uint8Array | null> = {}): ModelFiles {
  const read = (name: string): string | Uint8Array | undefined => {
    if (name in over) return over[name] ?? undefined;
    try { return readFileSync(`${TINY_BERT}/${name}`); } catch { return undefined; }
  };
  return {
    label: 'tiny-bert*',
    async text(name) {
      const v = read(name);
      return v === undefined ? undefined : typeof v === 'string' ? v : new TextDecoder().decode(v);
    },
    async open(name) {
      const v = read(name);
      if (v === undefined) throw new SourceError(`tiny-bert*/${name}: file not found`);
      return bytesReader(typeof v === 'string' ? new TextEncoder().encode(v) : new Uint8Array(v), `tiny-bert*/${name}`);
    },
  };
}

/** tiny-bert's model.safetensors with each tensor renamed by `rename` (dropped where it returns null). */
export function rewriteCheckpoint(rename: (name: string) => string | null): Uint8Array {
  const file = readFileSync(`${TINY_BERT}/model.safetensors`);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, StTensor> = {};
  for (const [name, t] of Object.entries(header)) {
    const to = name === '__metadata__' ? null : rename(name);
    if (to !== null) out[to] = { dtype: t.dtype, shape: t.shape, data: file.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
  }
  return safetensorsFile(out);
}

export interface StTensor { dtype: string; shape: number[]; data: Uint8Array }

/** A safetensors file holding `tensors`, in order. */
export function safetensorsFile(tensors: Record<string, StTensor>): Uint8Array {
  const header: Record<string, unknown> = {};
  let pos = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.data.length] };
    pos += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + pos);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) { bytes.set(t.data, at); at += t.data.length; }
  return bytes;
}

/** A small WordPiece vocabulary; ids are the positions, so expected ids can be checked by hand. */
export const WORDPIECE_VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'quick', 'brown', 'fox', 'jump', // 0-9
  '##s', '##ed', 'over', 'lazy', 'dog', '.', ',', '!', 'un', '##believ',                // 10-19
  '##able', 'cafe', 'hello', 'world', '##ing', 'a', '##b',                              // 20-26
];

/** A BERT-uncased-style tokenizer.json over WORDPIECE_VOCAB (the layout of bert-base-uncased's file). */
export function wordpieceTokenizerJson(): string {
  const special = (id: number) => ({ id, content: WORDPIECE_VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tok = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  return JSON.stringify({
    version: '1.0', truncation: null, padding: null,
    added_tokens: [0, 1, 2, 3, 4].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, tok('[SEP]')],
      pair: [tok('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, tok('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
      vocab: Object.fromEntries(WORDPIECE_VOCAB.map((t, i) => [t, i])),
    },
  });
}

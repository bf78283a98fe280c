// Tests for src/formats/safetensors.ts: files built in memory for every fault the reader must name,
// sharded checkpoints over a fake ModelFiles, and the real stories260K files (weights/, test/fixtures/models/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DTYPE_BYTES, openCheckpoint, readHeader, readTensor, type StDtype, type TensorInfo } from '../src/formats/safetensors.js';
import { DtypeError, SafetensorsError, ShapeError, SourceError } from '../src/errors.js';
import { bytesReader, type ByteReader, type ModelFiles } from '../src/sources/sources.js';
import { dirSource } from '../src/node/dir-source.js';
import { fixtureModel } from './paths.js';

const LABEL = 'mem/model.safetensors';
const enc = new TextEncoder();

/** A safetensors file: u64 header length, header JSON (any text), then `dataBytes` bytes 0, 1, 2, ... */
function rawFile(header: unknown, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + json.length + i] = i & 255;
  return out;
}

type Spec = { dtype: StDtype; shape: number[]; data?: Uint8Array };
/** A valid file from {name: {dtype, shape, data}}; data defaults to bytes 1, 2, 3, ... */
function stFile(tensors: Record<string, Spec>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const blobs: Uint8Array[] = [];
  let pos = 0;
  for (const [name, { dtype, shape, data }] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, DTYPE_BYTES[dtype]);
    blobs.push(data ?? Uint8Array.from({ length: bytes }, (_, i) => (i + 1) & 255));
    header[name] = { dtype, shape, data_offsets: [pos, pos + bytes] };
    pos += bytes;
  }
  const file = rawFile(header, pos);
  let at = file.length - pos;
  for (const b of blobs) { file.set(b, at); at += b.length; }
  return file;
}

/** Header of a file with a single 2x2 F32 tensor "w" (16 data bytes), with `entry` overriding its fields. */
function oneTensor(entry: Record<string, unknown>, dataBytes = 16): Uint8Array {
  return rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16], ...entry } }, dataBytes);
}

/** A U8 header entry spanning [begin, end). */
const u8 = (begin: number, end: number) => ({ dtype: 'U8', shape: [end - begin], data_offsets: [begin, end] });

/** A fake model folder: name → bytes (for open) or string (for text). Counts open/close. */
function memFiles(entries: Record<string, Uint8Array | string>, label = 'mem') {
  const state = { open: 0, closed: 0 };
  const files: ModelFiles = {
    label,
    text: async (name) => (typeof entries[name] === 'string' ? entries[name] as string : undefined),
    async open(name) {
      const v = entries[name];
      if (!(v instanceof Uint8Array)) throw new SourceError(`${label}/${name}: file not found`);
      state.open++;
      return { ...bytesReader(v, `${label}/${name}`), close: async () => { state.closed++; } };
    },
  };
  return { files, state };
}

/** Assert `p` rejects with `cls`, a one-line message matching `re`; returns the message. */
async function rejects(p: Promise<unknown>, cls: Function, re: RegExp): Promise<string> {
  let err: unknown;
  try { await p; } catch (e) { err = e; }
  if (err === undefined) assert.unreachable(`expected ${cls.name}, but it resolved`);
  assert.instance(err, cls, `expected ${cls.name}, got ${(err as Error).name}: ${(err as Error).message}`);
  const msg = (err as Error).message;
  assert.match(msg, re);
  assert.not.match(msg, /[\r\n]/, `message is not one line: ${msg}`);
  return msg;
}
const header = (bytes: Uint8Array, label = LABEL) => readHeader(bytesReader(bytes, label));
/** readHeader of `bytes` must throw SafetensorsError naming LABEL and matching `re`. */
const bad = async (bytes: Uint8Array, re: RegExp, cls: Function = SafetensorsError) => {
  await rejects(header(bytes), cls, new RegExp(`^${LABEL}: .*${re.source}`));
};

const tensorBytes = async (t: TensorInfo) => { const out = new Uint8Array(t.bytes); await readTensor(t, out); return out; };

// ---- happy paths ----

test('readHeader: names, dtypes, shapes, offsets, metadata; readTensor returns the bytes', async () => {
  const a = Uint8Array.from({ length: 24 }, (_, i) => 100 + i);
  const file = stFile({ a: { dtype: 'F32', shape: [2, 3], data: a }, b: { dtype: 'BF16', shape: [4] } }, { format: 'pt' });
  const { tensors, metadata } = await header(file);
  assert.equal(metadata, { format: 'pt' });
  assert.equal(tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes]), [['a', 'F32', [2, 3], 24], ['b', 'BF16', [4], 8]]);
  const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
  assert.is(tensors[0].offset, 8 + headerLen);
  assert.is(tensors[1].offset, 8 + headerLen + 24);
  assert.equal(await tensorBytes(tensors[0]), a);
  assert.equal(await tensorBytes(tensors[1]), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
});

test('every dtype has its byte size; scalars and zero-size tensors are valid', async () => {
  const specs: Record<string, Spec> = {};
  for (const d of Object.keys(DTYPE_BYTES) as StDtype[]) specs[d] = { dtype: d, shape: [3] };
  specs.scalar = { dtype: 'F64', shape: [] };
  specs.empty = { dtype: 'F32', shape: [0, 5] };
  const { tensors, metadata } = await header(stFile(specs));
  assert.equal(metadata, {});
  const special: Record<string, number> = { scalar: 8, empty: 0 };
  for (const t of tensors) assert.is(t.bytes, special[t.name] ?? 3 * DTYPE_BYTES[t.dtype], t.name);
  assert.equal(DTYPE_BYTES, { // safetensors' Dtype::bitsize() / 8
    BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8 });
});

test('header padded with spaces (as writers align it) and an empty header both load', async () => {
  assert.equal((await header(rawFile('{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}      ', 2))).tensors.length, 1);
  assert.equal(await header(rawFile('{}', 0)), { tensors: [], metadata: {} });
});

test('readHeader reads only the 8-byte length and the header, never the data', async () => {
  const file = stFile({ big: { dtype: 'F32', shape: [1000] } });
  const inner = bytesReader(file, LABEL);
  let read = 0;
  const counting: ByteReader = { ...inner, read: (o, into) => { read += into.length; return inner.read(o, into); } };
  await readHeader(counting);
  assert.is(read, 8 + Number(new DataView(file.buffer).getBigUint64(0, true)));
});

test('readTensor: a buffer of the wrong size is a ShapeError naming the tensor', async () => {
  const { tensors } = await header(stFile({ w: { dtype: 'F32', shape: [4] } }));
  await rejects(readTensor(tensors[0], new Uint8Array(15)), ShapeError,
    /^mem\/model\.safetensors: tensor "w": buffer is 15 bytes, tensor is 16$/);
});

test('stories260K: 47 F32 tensors, shapes and bytes as in the file', async () => {
  const ck = await openCheckpoint(await dirSource(fixtureModel('stories260K')));
  try {
    assert.is(ck.tensors.size, 47); // embed + norm + 5 layers × 9
    assert.equal(ck.files, [`${fixtureModel('stories260K')}/model.safetensors`]);
    assert.equal(ck.metadata, { format: 'pt' });
    const embed = ck.tensors.get('model.embed_tokens.weight')!;
    assert.equal([embed.dtype, embed.shape, embed.bytes, embed.offset], ['F32', [512, 64], 131072, 8 + 4856]);
    assert.equal(ck.tensors.get('model.layers.0.mlp.down_proj.weight')!.shape, [64, 172]);
    assert.equal(ck.tensors.get('model.layers.4.self_attn.k_proj.weight')!.shape, [32, 64]);
    for (const t of ck.tensors.values()) assert.is(t.dtype, 'F32', t.name);
    // first bytes of model.norm.weight, read with Python's struct/json from the same file
    const norm = await tensorBytes(ck.tensors.get('model.norm.weight')!);
    assert.equal([...norm.subarray(0, 8)], [239, 84, 29, 64, 110, 4, 175, 63]);
  } finally {
    await ck.close();
  }
});

test('stories260K bf16 and f16 copies report BF16 / F16 and hold the same values', async () => {
  const f32 = await openCheckpoint(await dirSource(fixtureModel('stories260K')));
  const ref = new Float32Array((await tensorBytes(f32.tensors.get('model.norm.weight')!)).buffer);
  await f32.close();
  for (const [dir, dtype] of [['stories260K-bf16', 'BF16'], ['stories260K-f16', 'F16']] as const) {
    const ck = await openCheckpoint(await dirSource(fixtureModel(dir)));
    try {
      assert.is(ck.tensors.size, 47, dir);
      for (const t of ck.tensors.values()) assert.is(t.dtype, dtype, `${dir} ${t.name}`);
      const embed = ck.tensors.get('model.embed_tokens.weight')!;
      assert.equal([embed.shape, embed.bytes], [[512, 64], 65536]);
      const half = new Uint16Array((await tensorBytes(ck.tensors.get('model.norm.weight')!)).buffer);
      half.forEach((h, i) => {
        const v = dtype === 'BF16' ? new Float32Array(Uint32Array.of(h << 16).buffer)[0] : f16(h);
        assert.ok(Math.abs(v - ref[i]) <= Math.abs(ref[i]) * 2 ** -7, `${dir} model.norm.weight[${i}]: ${v} vs f32 ${ref[i]}`);
      });
    } finally {
      await ck.close();
    }
  }
});
function f16(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, s = h >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

test('openCheckpoint: single in-memory file; close() closes it', async () => {
  const { files, state } = memFiles({ 'model.safetensors': stFile({ w: { dtype: 'I8', shape: [3] } }, { a: 'b' }) });
  const ck = await openCheckpoint(files);
  assert.equal([...ck.tensors.keys()], ['w']);
  assert.equal(ck.metadata, { a: 'b' });
  assert.equal(ck.files, ['mem/model.safetensors']);
  await ck.close();
  assert.equal(state, { open: 1, closed: 1 });
});

// ---- sharded ----

const SHARD1 = 'model-00001-of-00002.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';
function sharded(weightMap: Record<string, string>, shard1: Record<string, Spec>, shard2: Record<string, Spec>) {
  return memFiles({
    'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    [SHARD1]: stFile(shard1, { shard: '1' }),
    [SHARD2]: stFile(shard2, { shard: '2' }),
  });
}
const A: Spec = { dtype: 'F32', shape: [2] };
const B: Spec = { dtype: 'F16', shape: [3, 2] };

test('openCheckpoint in a folder (a Dense module\'s 2_Dense/): its files, labels naming the folder', async () => {
  const { files, state } = memFiles({
    'model.safetensors': stFile({ root: A }),
    '2_Dense/model.safetensors': stFile({ 'linear.weight': { dtype: 'F32', shape: [3, 2] } }),
    '3_Dense/model.safetensors.index.json': JSON.stringify({ weight_map: { 'linear.weight': SHARD1 } }),
    [`3_Dense/${SHARD1}`]: stFile({ 'linear.weight': B }),
  });
  const two = await openCheckpoint(files, '2_Dense');
  assert.equal([[...two.tensors.keys()], two.files], [['linear.weight'], ['mem/2_Dense/model.safetensors']]);
  const three = await openCheckpoint(files, '3_Dense');
  assert.equal([three.tensors.get('linear.weight')!.dtype, three.files], ['F16', [`mem/3_Dense/${SHARD1}`]]);
  await Promise.all([two.close(), three.close()]);
  assert.equal(state, { open: 2, closed: 2 });
  await rejects(openCheckpoint(files, '4_Dense'), SourceError, /^mem\/4_Dense: found neither model\.safetensors\.index\.json nor model\.safetensors/);
});

test('a tensor of a dtype nothing loads (I64 position_ids, as BERT checkpoints hold) opens with the rest', async () => {
  const ids = new Uint8Array(8 * 4);
  new DataView(ids.buffer).setBigInt64(24, 3n, true);
  const ck = await openCheckpoint(memFiles({ 'model.safetensors': stFile({ 'embeddings.position_ids': { dtype: 'I64', shape: [1, 4], data: ids }, w: A }) }).files);
  assert.equal([...ck.tensors.values()].map((t) => [t.name, t.dtype, t.shape]), [['embeddings.position_ids', 'I64', [1, 4]], ['w', 'F32', [2]]]);
  assert.equal(await tensorBytes(ck.tensors.get('embeddings.position_ids')!), ids);
});

test('sharded: two shards, each tensor read from its own file, metadata of the first', async () => {
  const { files, state } = sharded({ b: SHARD2, a: SHARD1, c: SHARD2 }, { a: A }, { b: B, c: A });
  const ck = await openCheckpoint(files);
  assert.equal([...ck.tensors.keys()].sort(), ['a', 'b', 'c']);
  assert.equal(ck.files, [`mem/${SHARD1}`, `mem/${SHARD2}`]);
  assert.equal(ck.metadata, { shard: '1' });
  assert.is(ck.tensors.get('a')!.reader.label, `mem/${SHARD1}`);
  assert.is(ck.tensors.get('b')!.reader.label, `mem/${SHARD2}`);
  assert.equal([...(await tensorBytes(ck.tensors.get('c')!))], [1, 2, 3, 4, 5, 6, 7, 8]);
  await ck.close();
  assert.equal(state, { open: 2, closed: 2 });
});

test('sharded: the index wins over a model.safetensors beside it', async () => {
  const { files } = memFiles({
    'model.safetensors.index.json': JSON.stringify({ weight_map: { a: SHARD1 } }),
    [SHARD1]: stFile({ a: A }),
    'model.safetensors': stFile({ other: A }),
  });
  assert.equal([...(await openCheckpoint(files)).tensors.keys()], ['a']);
});

test('no model.safetensors nor index: SourceError naming the folder and both files', async () => {
  await rejects(openCheckpoint(memFiles({}, 'models/empty').files), SourceError,
    /^models\/empty: .*model\.safetensors\.index\.json.*model\.safetensors\b/);
});

test('sharded fault: index is not JSON', async () => {
  await rejects(openCheckpoint(memFiles({ 'model.safetensors.index.json': '{"weight_map": ' }).files), SafetensorsError,
    /^mem\/model\.safetensors\.index\.json: index is not valid JSON \(/);
});

test('sharded fault: index without weight_map', async () => {
  await rejects(openCheckpoint(memFiles({ 'model.safetensors.index.json': '{"metadata": {}}' }).files), SafetensorsError,
    /^mem\/model\.safetensors\.index\.json: weight_map is missing, expected an object/);
});

test('sharded fault: empty weight_map, and shard names that are not files in the folder', async () => {
  const idx = (wm: unknown) => memFiles({ 'model.safetensors.index.json': JSON.stringify({ weight_map: wm }) }).files;
  await rejects(openCheckpoint(idx({})), SafetensorsError, /index\.json: weight_map is empty/);
  await rejects(openCheckpoint(idx({ a: 3 })), SafetensorsError, /index\.json: weight_map "a" is 3, expected a shard file name/);
  await rejects(openCheckpoint(idx({ a: '../x.safetensors' })), SafetensorsError, /weight_map "a" is "\.\.\/x\.safetensors"/);
  await rejects(openCheckpoint(idx({ a: '/etc/x' })), SafetensorsError, /weight_map "a" is "\/etc\/x"/);
  // a plain file name only: no scheme or host, folder, percent-escape, backslash, query or fragment
  for (const bad of ['http://other/x.safetensors', '//other/x', 'sub/x.safetensors', '%2e%2e%2fx', '..%2fx', 'a\\b', 'x?y=1', 'x#y', '..', '.', 'C:x']) {
    await rejects(openCheckpoint(idx({ a: bad })), SafetensorsError, /weight_map "a" is .*, expected a shard file name in the model's folder$/);
  }
});

test('sharded fault: shard named in the index does not exist', async () => {
  const { files } = memFiles({ 'model.safetensors.index.json': JSON.stringify({ weight_map: { a: SHARD1 } }) });
  await rejects(openCheckpoint(files), SourceError, new RegExp(`^mem/${SHARD1}: file not found`));
});

test('sharded fault: tensor listed in the index but missing from its shard', async () => {
  const { files, state } = sharded({ a: SHARD1, b: SHARD2, gone: SHARD2 }, { a: A }, { b: B });
  await rejects(openCheckpoint(files), SafetensorsError,
    new RegExp(`^mem/${SHARD2}: tensor "gone": listed for shard ${SHARD2} in model.safetensors.index.json but missing`));
  assert.equal(state, { open: 2, closed: 2 }, 'readers closed on failure');
});

test('sharded fault: shard holds a tensor the index does not list', async () => {
  const { files } = sharded({ a: SHARD1, b: SHARD2 }, { a: A, extra: A }, { b: B });
  await rejects(openCheckpoint(files), SafetensorsError,
    new RegExp(`^mem/${SHARD1}: tensor "extra": in shard ${SHARD1} but .*index.json weight_map does not list it`));
});

test('sharded fault: tensor in a different shard than the index says', async () => {
  const { files } = sharded({ a: SHARD1, b: SHARD1, c: SHARD2 }, { a: A }, { b: B, c: A });
  await rejects(openCheckpoint(files), SafetensorsError,
    new RegExp(`^mem/${SHARD2}: tensor "b": in shard ${SHARD2} but model.safetensors.index.json puts it in ${SHARD1}`));
});

test('sharded fault: the same tensor name in two shards', async () => {
  const { files } = sharded({ a: SHARD1, b: SHARD2 }, { a: A, b: B }, { b: B });
  await rejects(openCheckpoint(files), SafetensorsError,
    new RegExp(`^mem/${SHARD2}: tensor "b": duplicate, also in shard mem/${SHARD1}`));
});

test('sharded fault: a bad shard header is reported with the shard file name', async () => {
  const { files } = memFiles({
    'model.safetensors.index.json': JSON.stringify({ weight_map: { w: SHARD1 } }),
    [SHARD1]: oneTensor({ dtype: 'Q4' }),
  });
  await rejects(openCheckpoint(files), DtypeError, new RegExp(`^mem/${SHARD1}: tensor "w": unknown dtype "Q4"`));
});

// ---- header faults: one test each ----

test('fault: file shorter than 8 bytes', () =>
  bad(new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/));

test('fault: header length past the end of the file', () =>
  bad(rawFile('{}', 0, 3n), /header length 3 runs past end of file \(8 \+ 3 > 10 bytes\)/));

test('fault: header length over 100 MB, refused before reading (u64 high word too)', async () => {
  let read = 0;
  const huge: ByteReader = { // claims 2^40 bytes so only the limit can refuse it
    label: LABEL, size: 2 ** 40, close: async () => {},
    async read(o, into) { read += into.length; if (o === 0) new DataView(into.buffer).setBigUint64(0, 100_000_001n, true); },
  };
  await rejects(readHeader(huge), SafetensorsError, /^mem\/model\.safetensors: header length is over the limit of 100000000 bytes$/);
  assert.is(read, 8, 'only the length was read');
  await bad(rawFile('{}', 0, 2n ** 64n - 1n), /header length is over the limit/);
});

test('fault: header not valid UTF-8', async () => {
  const file = rawFile('{"a":1}', 0);
  file[10] = 0xff;
  await bad(file, /header is not valid UTF-8/);
});

test('fault: header not JSON', () => bad(rawFile('{"w": {"dtype": "F32",', 0), /header is not valid JSON \(/));

test('fault: header JSON not an object', async () => {
  await bad(rawFile('[1,2]', 0), /header is an array, expected a JSON object/);
  await bad(rawFile('null', 0), /header is null, expected a JSON object/);
  await bad(rawFile('7', 0), /header is a number \(7\), expected a JSON object/);
});

test('fault: tensor entry not an object', async () => {
  await bad(rawFile({ w: [1] }, 0), /tensor "w": entry is an array, expected an object/);
  await bad(rawFile({ w: 'F32' }, 0), /tensor "w": entry is a string \("F32"\), expected an object/);
});

test('fault: entry missing dtype', () =>
  bad(rawFile({ w: { shape: [2, 2], data_offsets: [0, 16] } }, 16), /tensor "w": missing dtype$/));

test('fault: entry missing shape', () =>
  bad(rawFile({ w: { dtype: 'F32', data_offsets: [0, 16] } }, 16), /tensor "w": missing shape$/));

test('fault: entry missing data_offsets', () =>
  bad(rawFile({ w: { dtype: 'F32', shape: [2, 2] } }, 16), /tensor "w": missing data_offsets$/));

test('fault: dtype not a string', () =>
  bad(oneTensor({ dtype: 4 }), /tensor "w": dtype is a number \(4\), expected a string/));

test('fault: unknown dtype is a DtypeError naming it and listing the known ones', async () => {
  const msg = await rejects(header(oneTensor({ dtype: 'f32' })), DtypeError,
    /^mem\/model\.safetensors: tensor "w": unknown dtype "f32"; known: F64, F32, F16, BF16/);
  for (const d of Object.keys(DTYPE_BYTES)) assert.ok(msg.includes(d), d);
  await bad(oneTensor({ dtype: 'toString' }), /unknown dtype "toString"/, DtypeError);
});

test('fault: shape not an array', () =>
  bad(oneTensor({ shape: 4 }), /tensor "w": shape is a number \(4\), expected an array/));

test('fault: shape with a negative, fractional, unsafe or non-number dim', async () => {
  await bad(oneTensor({ shape: [2, -2] }), /tensor "w": shape\[1\] is -2, expected a non-negative integer/);
  await bad(oneTensor({ shape: [1.5] }), /tensor "w": shape\[0\] is 1\.5, expected a non-negative integer/);
  await bad(rawFile('{"w":{"dtype":"U8","shape":[9007199254740993],"data_offsets":[0,0]}}', 0), /shape\[0\] is 9007199254740992,/);
  await bad(oneTensor({ shape: ['2', 2] }), /tensor "w": shape\[0\] is "2", expected a non-negative integer/);
});

test('fault: data_offsets not two non-negative integers', async () => {
  await bad(oneTensor({ data_offsets: 16 }), /tensor "w": data_offsets is a number \(16\), expected an array/);
  await bad(oneTensor({ data_offsets: [0, 8, 16] }), /tensor "w": data_offsets has 3 entries, expected 2/);
  await bad(oneTensor({ data_offsets: [-16, 0] }), /tensor "w": data_offsets\[0\] is -16, expected a non-negative integer/);
  await bad(oneTensor({ data_offsets: [0, 16.5] }), /tensor "w": data_offsets\[1\] is 16\.5,/);
  await bad(oneTensor({ data_offsets: [0, null] }), /tensor "w": data_offsets\[1\] is null,/);
});

test('fault: data_offsets begin > end', () =>
  bad(oneTensor({ data_offsets: [16, 0] }), /tensor "w": data_offsets begin 16 > end 0$/));

test('fault: shape × dtype size differs from the data_offsets span', async () => {
  await bad(oneTensor({ shape: [2, 3] }), /tensor "w": shape \[2,3\] of F32 is 24 bytes, data_offsets span 16$/);
  await bad(oneTensor({ dtype: 'F16' }), /tensor "w": shape \[2,2\] of F16 is 8 bytes, data_offsets span 16$/);
});

test('fault: shape product that overflows is an error, not a wrap', () =>
  bad(oneTensor({ shape: [2 ** 26, 2 ** 26, 2 ** 26] }), /tensor "w": shape \[67108864,67108864,67108864\] of F32 overflows 2\^53 bytes/));

test('fault: data_offsets end past the data', () =>
  bad(oneTensor({ shape: [2, 4], data_offsets: [0, 32] }), /tensor "w": data_offsets end 32 > data size 16$/));

test('fault: overlapping tensors name both', () =>
  bad(rawFile({ a: u8(0, 8), b: u8(4, 12) }, 12), /tensor "b": data_offsets \[4, 12\] overlap tensor "a", which ends at 8$/));

test('fault: gap between tensors names both', () =>
  bad(rawFile({ a: u8(0, 4), b: u8(8, 12) }, 12), /tensor "b": data_offsets \[8, 12\] leave a gap of 4 bytes after tensor "a" ends at 4$/));

test('fault: data not starting at offset 0', () =>
  bad(oneTensor({ data_offsets: [4, 20] }, 20), /tensor "w": data_offsets \[4, 20\] leave a gap of 4 bytes after the start of the data/));

test('fault: trailing bytes after the last tensor', async () => {
  await bad(oneTensor({}, 20), /the last tensor "w" ends at 16 but data size is 20$/);
  await bad(rawFile('{}', 3), /there are no tensors, data ends at 0 but data size is 3$/);
});

test('fault: __metadata__ not an object of strings', async () => {
  const meta = (m: unknown) => rawFile({ __metadata__: m, w: u8(0, 1) }, 1);
  await bad(meta('pt'), /__metadata__ is a string \("pt"\), expected an object of strings/);
  await bad(meta(null), /__metadata__ is null, expected an object of strings/);
  await bad(meta({ format: 'pt', total: 3 }), /__metadata__ "total" is a number \(3\), expected a string/);
});

test('a tensor name with a newline is escaped, keeping the message on one line', () =>
  bad(rawFile({ 'a\nb': { dtype: 'Q', shape: [], data_offsets: [0, 0] } }, 0), /tensor "a\\nb": unknown dtype "Q"/, DtypeError));

test.run();

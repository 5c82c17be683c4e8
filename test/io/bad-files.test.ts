// A generated corpus of broken safetensors files and index files. Each must fail with a typed
// error whose message names the problem, without reading (or allocating) more than the file
// holds: a Source wrapper counts every byte the reader asks for.
import { describe, expect, it } from 'vitest';
import { ModelIOError, SourceError } from '../../src/io/errors.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { CountingSource, MemorySource, type Source } from '../../src/io/source.js';
import { randomFloat32, syntheticModel } from './helpers.js';

interface Case {
  what: string;
  files: Map<string, Uint8Array>;
  /** What the message must say. */
  message: RegExp;
  /** Which file to open (default: the folder's choice). */
  file?: string;
}

const enc = new TextEncoder();

function validFile(): Uint8Array {
  return encodeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 3], data: randomFloat32(6, 1) },
    { name: 'b', dtype: 'F16', shape: [4], data: new Uint8Array(8).fill(0x3c) },
    { name: 'c', dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
  ], { format: 'pt' });
}

/** A file from a raw header text and a data section of `dataBytes` seeded bytes. */
function fileWith(header: string | Uint8Array, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  for (let i = 8 + h.length; i < out.length; i++) out[i] = (i * 37) & 0xff;
  return out;
}

const single = (bytes: Uint8Array): Map<string, Uint8Array> => new Map([['model.safetensors', bytes]]);
const entry = (dtype: unknown, shape: unknown, offsets: unknown): string =>
  JSON.stringify({ dtype, shape, data_offsets: offsets });

function corpus(): Case[] {
  const cases: Case[] = [];
  const valid = validFile();
  const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
  const dataStart = 8 + n;

  // 1. Truncations: every length from 0 up to the end of the header, then a few into the data.
  for (let k = 0; k <= dataStart; k++) {
    const message = k < 8 ? /too short/ : k < dataStart ? /runs past the end/ : /runs past the .*data section/;
    cases.push({ what: `truncated at ${k}`, files: single(valid.slice(0, k)), message });
  }
  for (const k of [dataStart + 1, dataStart + 10, valid.length - 1]) {
    cases.push({ what: `truncated in the data at ${k}`, files: single(valid.slice(0, k)), message: /runs past the .*data section|cover/ });
  }
  cases.push({ what: 'one byte too many', files: single(new Uint8Array([...valid, 0])), message: /cover/ });

  // 2. Header lengths that lie.
  const lengths: Array<[bigint, RegExp]> = [
    [0n, /start with '\{'/], [1n, /not valid UTF-8 JSON/], [7n, /not valid UTF-8 JSON/], [BigInt(n - 1), /JSON|cover|start/],
    [BigInt(n + 1), /JSON/], [BigInt(valid.length - 8), /JSON/], [BigInt(valid.length - 7), /runs past the end/],
    [2n ** 32n, /exceeds|runs past/], [2n ** 63n, /exceeds/], [2n ** 64n - 1n, /exceeds/], [100_000_001n, /exceeds/],
  ];
  for (const [len, message] of lengths) {
    const bytes = valid.slice();
    new DataView(bytes.buffer).setBigUint64(0, len, true);
    cases.push({ what: `header length ${len}`, files: single(bytes), message });
  }

  // 3. Malformed JSON and non-objects.
  const badJson: Array<[string | Uint8Array, RegExp]> = [
    ['{', /JSON/], ['{"a":', /JSON/], ['{"a":1,}', /JSON/], ["{'a':1}", /JSON/], ['{} x', /JSON/],
    ['[]', /start with/], ['null', /start with/], ['"str"', /start with/], ['  {}', /start with/], ['\ufeff{}', /start with/],
    ['{"a":1}', /not an object/], ['{"a":[]}', /not an object/], ['{"a":null}', /not an object/], ['{"a":"F32"}', /not an object/],
    ['{}\0\0\0\0\0', /JSON/], ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', /JSON/],
    [Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), /UTF-8/], [Uint8Array.of(0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d), /UTF-8/],
    ['{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', /not an object/], ['{"a":' + '['.repeat(200000), /JSON/],
  ];
  for (const [h, message] of badJson) cases.push({ what: `header ${String(h).slice(0, 30)}`, files: single(fileWith(h, 0)), message });

  // 4. Unknown or unsupported dtypes.
  for (const dtype of ['F8', 'f32', '', 'FP16', 'float32', 'F8_E4M3', 'F8_E5M2', 'C64', '__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
    cases.push({ what: `dtype ${dtype}`, files: single(fileWith(`{"t":${entry(dtype, [1], [0, 4])}}`, 4)), message: /dtype/ });
  }
  for (const dtype of [null, 5, true, ['F32'], { F32: 1 }]) {
    cases.push({ what: `dtype ${JSON.stringify(dtype)}`, files: single(fileWith(`{"t":${entry(dtype, [1], [0, 4])}}`, 4)), message: /unknown dtype/ });
  }
  cases.push({ what: 'dtype missing', files: single(fileWith('{"t":{"shape":[1],"data_offsets":[0,4]}}', 4)), message: /unknown dtype/ });

  // 5. Shapes and offsets that do not agree.
  const shapes: Array<[unknown, unknown, number, RegExp]> = [
    [[2], [0, 4], 4, /is 8 bytes but its range holds 4/], [[1], [0, 8], 8, /is 4 bytes but its range holds 8/],
    [[], [0, 8], 8, /is 4 bytes/], [[0], [0, 4], 4, /is 0 bytes/], [[-1], [0, 4], 4, /shape/], [[1.5], [0, 4], 4, /shape/],
    [['1'], [0, 4], 4, /shape/], [[[1]], [0, 4], 4, /shape/], [[null], [0, 4], 4, /shape/], ['1', [0, 4], 4, /shape/],
    [null, [0, 4], 4, /shape/], [{ 0: 1 }, [0, 4], 4, /shape/], [[2 ** 53], [0, 4], 4, /shape/],
    [[2 ** 30, 2 ** 30, 2 ** 30], [0, 4], 4, /too large/], [[2 ** 26, 2 ** 26], [0, 4], 4, /bytes but its range/],
    [[1], [0], 4, /data_offsets/], [[1], [0, 4, 8], 4, /data_offsets/], [[1], '0,4', 4, /data_offsets/],
    [[1], [-4, 0], 4, /data_offsets/], [[1], [0.5, 4.5], 4, /data_offsets/], [[1], ['0', '4'], 4, /data_offsets/],
    [[1], [4, 0], 4, /end before/], [[1], [0, 2 ** 60], 4, /data_offsets|bytes but/], [[1], null, 4, /data_offsets/],
    [[1], [1e300, 1e300 + 4], 4, /data_offsets/],
  ];
  for (const [shape, offsets, data, message] of shapes) {
    cases.push({ what: `shape ${JSON.stringify(shape)} offsets ${JSON.stringify(offsets)}`, files: single(fileWith(`{"t":${entry('F32', shape, offsets)}}`, data)), message });
  }

  // 6. Ranges: overlapping, holes, out of range, trailing bytes, duplicates.
  const ranges: Array<[Array<[number, number]>, number, RegExp]> = [
    [[[0, 4], [0, 4]], 8, /overlap/], [[[0, 8], [4, 12]], 12, /overlap/], [[[0, 8], [0, 4]], 8, /overlap/],
    [[[4, 8]], 8, /belong to no tensor/], [[[0, 4], [8, 12]], 12, /belong to no tensor/], [[[0, 4]], 8, /cover 4/],
    [[[0, 4], [4, 8]], 4, /runs past/], [[[0, 4]], 0, /runs past/], [[[4, 8], [0, 4], [8, 12]], 8, /runs past/],
  ];
  for (const [rs, data, message] of ranges) {
    const header = '{' + rs.map(([b, e], i) => `"t${i}":${entry('U8', [e - b], [b, e])}`).join(',') + '}';
    cases.push({ what: `ranges ${JSON.stringify(rs)} in ${data}`, files: single(fileWith(header, data)), message });
  }
  cases.push({ what: 'duplicate key', files: single(fileWith(`{"t":${entry('U8', [4], [0, 4])},"t":${entry('U8', [4], [4, 8])}}`, 8)), message: /belong to no tensor/ });

  // 7. Metadata that is not a map of strings.
  for (const md of ['1', '"x"', 'null', '[]', '["a"]', '{"a":1}', '{"a":null}', '{"a":{"b":"c"}}', '{"a":["b"]}', '{"a":true}', '{"__proto__":{"polluted":"yes"}}', '{"ok":"1","bad":2}']) {
    cases.push({ what: `metadata ${md}`, files: single(fileWith(`{"__metadata__":${md},"t":${entry('U8', [1], [0, 1])}}`, 1)), message: /__metadata__/ });
  }
  // __proto__ as a tensor entry that is not a valid entry: an error, and nothing polluted.
  cases.push({ what: '__proto__ entry', files: single(fileWith('{"__proto__":{"polluted":"yes"}}', 0)), message: /"__proto__".*dtype/ });

  // 8. Index files.
  const good = syntheticModel('F32', 2, 3);
  const index = JSON.parse(new TextDecoder().decode(good.get('model.safetensors.index.json')!));
  const shard1 = 'model-00001-of-00002.safetensors';
  const withIndex = (mutate: (ix: { metadata: unknown; weight_map: Record<string, unknown> }) => unknown, extra?: Map<string, Uint8Array>): Map<string, Uint8Array> => {
    const files = new Map(good);
    const ix = structuredClone(index);
    const out = mutate(ix) ?? ix;
    files.set('model.safetensors.index.json', typeof out === 'string' ? enc.encode(out) : enc.encode(JSON.stringify(out)));
    for (const [k, v] of extra ?? []) files.set(k, v);
    return files;
  };
  const firstName = Object.keys(index.weight_map)[0];
  for (const shard of ['../model-00001-of-00002.safetensors', '/etc/passwd', 'sub/model.safetensors', '..\\x.safetensors', 'C:\\x.safetensors', 'c:x', '', '.', '..', 'a\0b', 'x'.repeat(300), '%2e%2e/x']) {
    cases.push({ what: `shard name ${JSON.stringify(shard)}`, files: withIndex((ix) => { ix.weight_map[firstName] = shard; }), message: /not a plain file name|not found/ });
  }
  const indexCases: Array<[string, (ix: { metadata: unknown; weight_map: Record<string, unknown> }) => unknown, RegExp]> = [
    ['weight_map missing', (ix) => ({ metadata: ix.metadata }), /weight_map must be an object/],
    ['weight_map array', () => ({ weight_map: [shard1] }), /weight_map must be an object/],
    ['weight_map empty', () => ({ weight_map: {} }), /empty/],
    ['weight_map value number', (ix) => { ix.weight_map[firstName] = 1; }, /not a file name/],
    ['weight_map value null', (ix) => { ix.weight_map[firstName] = null; }, /not a file name/],
    ['metadata a string', (ix) => { ix.metadata = 'x'; }, /metadata must be an object/],
    ['metadata an array', (ix) => { ix.metadata = []; }, /metadata must be an object/],
    ['tensor listed in the wrong shard', (ix) => { ix.weight_map[firstName] = ix.weight_map[firstName] === shard1 ? 'model-00002-of-00002.safetensors' : shard1; }, /listed in .* but stored in/],
    ['tensor listed that no shard holds', (ix) => { ix.weight_map['ghost.weight'] = shard1; }, /does not hold it/],
    ['tensor unlisted', (ix) => { delete ix.weight_map[firstName]; }, /does not list/],
    ['shard missing', (ix) => { ix.weight_map[firstName] = 'model-00003-of-00002.safetensors'; }, /not found/],
    ['not JSON', () => '{"weight_map":', /JSON/],
    ['JSON null', () => 'null', /not a JSON object/],
    ['JSON array', () => '[]', /not a JSON object/],
    ['__proto__ weight_map', () => '{"__proto__":{"weight_map":{}}}', /weight_map must be an object/],
  ];
  for (const [what, mutate, message] of indexCases) cases.push({ what: `index: ${what}`, files: withIndex(mutate), message });
  const dup = new Map(good);
  const shardBytes = good.get(shard1)!;
  dup.set('model-00002-of-00002.safetensors', shardBytes);
  cases.push({ what: 'index: two shards hold the same tensors', files: withIndex((ix) => {
    for (const k of Object.keys(ix.weight_map)) if (ix.weight_map[k] !== shard1) delete ix.weight_map[k];
    for (const k of Object.keys(ix.weight_map)) ix.weight_map[k] = shard1;
    ix.weight_map[firstName] = 'model-00002-of-00002.safetensors';
  }, dup), message: /listed in|in both/ });
  // A broken shard behind a valid index is reported with the shard's name.
  const broken = new Map(good);
  broken.set(shard1, shardBytes.slice(0, 100));
  cases.push({ what: 'index: truncated shard', files: broken, message: new RegExp(`${shard1}.*runs past`) });
  return cases;
}

async function expectRejected(c: Case): Promise<void> {
  const counting = new CountingSource(new MemorySource(c.files));
  const largest = Math.max(...[...c.files.values()].map((f) => f.length));
  let error: unknown = null;
  try {
    await SafetensorsReader.open(counting, { file: c.file });
  } catch (e) {
    error = e;
  }
  expect(error, c.what).toBeInstanceOf(ModelIOError);
  expect(error instanceof SafetensorsError || error instanceof SourceError, c.what).toBe(true);
  expect((error as Error).message, c.what).toMatch(c.message);
  // Never more asked of the source than the files hold: no allocation sized by a lying length.
  expect(counting.largestRead, c.what).toBeLessThanOrEqual(largest);
}

describe('bad-file corpus', () => {
  const cases = corpus();

  it(`has at least 200 files (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it('every file fails to open with a typed, specific error and bounded reads', async () => {
    for (const c of cases) await expectRejected(c).catch((e) => { throw new Error(`${c.what}: ${e.message}`); });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the in-memory decoder rejects every single-file case too', () => {
    for (const c of cases.filter((x) => x.files.size === 1)) {
      expect(() => decodeSafetensors(c.files.get('model.safetensors')!), c.what).toThrow(SafetensorsError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a lying length asks for 8 bytes, not the length', async () => {
    const bytes = validFile();
    new DataView(bytes.buffer).setBigUint64(0, 99_000_000n, true);
    const counting = new CountingSource(new MemorySource(single(bytes)));
    await expect(SafetensorsReader.open(counting)).rejects.toThrow(/runs past the end/);
    expect(counting.bytesRequested).toBe(8);
  });

  it('an index claiming to be huge is refused before it is read', async () => {
    const huge: Source = new MemorySource(syntheticModel('F32', 2, 3));
    const lying: Source = { ...huge, location: 'lying', entry: null, list: () => huge.list(), read: (f, o, l) => huge.read(f, o, l), close: () => huge.close(), size: async (f) => (f.endsWith('.json') ? 2 ** 40 : huge.size(f)) };
    await expect(SafetensorsReader.open(lying)).rejects.toThrow(/cap for an index file/);
  });

  it('tensors and metadata keyed "__proto__" are data, not prototypes', async () => {
    const bytes = encodeSafetensors([{ name: '__proto__', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }], { __proto__: 'meta' } as unknown as Record<string, string>);
    // The metadata literal above set the prototype, not a key: build the intended file by hand.
    const header = `{"__metadata__":{"__proto__":"meta","constructor":"c"},"__proto__":${entry('F32', [2], [0, 8])}}`;
    const file = fileWith(header, 0);
    const full = new Uint8Array([...file, ...new Uint8Array(new Float32Array([1, 2]).buffer)]);
    const r = await SafetensorsReader.open(new MemorySource(single(full)));
    expect(r.tensors.map((t) => t.name)).toEqual(['__proto__']);
    expect(await r.readFloat32('__proto__')).toEqual(new Float32Array([1, 2]));
    expect(Object.getPrototypeOf(r.layout.shards[0].metadata)).toBe(Object.prototype);
    expect(Object.keys(r.layout.shards[0].metadata).sort()).toEqual(['__proto__', 'constructor']);
    expect(r.layout.shards[0].metadata.__proto__).toBe('meta');
    expect(decodeSafetensors(bytes).header.tensors[0].name).toBe('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

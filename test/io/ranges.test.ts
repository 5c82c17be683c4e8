// Ranged tensor reads (ModelReader.readByteRange), copies in pieces (SafetensorsWriter.copyFrom
// with a buffer), and half-precision encoding into a given buffer: the ways the pipeline moves
// large tensors through small reused buffers. Each must give exactly the bytes of the whole-
// tensor path.
import { describe, expect, it } from 'vitest';
import { ModelIOError } from '../../src/io/errors.js';
import { encodeBF16, encodeF16 } from '../../src/io/half.js';
import { Llama2cReader } from '../../src/io/llama2c.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { planFromReader, SafetensorsWriter } from '../../src/io/safetensors-writer.js';
import { BlobSink } from '../../src/io/sink.js';
import { MemorySource, openSource } from '../../src/io/source.js';
import { randomFloat32, syntheticModel } from './helpers.js';

/** Bytes [begin, end) read by readByteRange into a poisoned buffer. */
async function ranged(reader: SafetensorsReader | Llama2cReader, name: string, begin: number, end: number): Promise<Uint8Array> {
  const into = new Uint8Array(end - begin).fill(0xaa);
  const got = await reader.readByteRange(name, begin, into);
  expect(got).toBe(into);
  return into;
}

describe('readByteRange', () => {
  it('safetensors (F16, 3 shards): every range equals the same bytes of readBytes', async () => {
    const reader = await SafetensorsReader.open(new MemorySource(syntheticModel('F16', 3, 5)));
    for (const t of reader.tensors) {
      const whole = await reader.readBytes(t.name);
      const n = whole.length;
      for (const [b, e] of [[0, n], [0, 1], [n - 1, n], [3, Math.max(3, n - 5)], [Math.floor(n / 3), Math.floor((2 * n) / 3)]]) {
        expect(await ranged(reader, t.name, b, e)).toEqual(whole.subarray(b, e));
      }
    }
  });

  it('llama2.c: plain tensors and the row-permuted q/k weights alike', async () => {
    const reader = await Llama2cReader.open(await openSource('test/fixtures/stories260K'), 'stories260K.bin');
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.self_attn.q_proj.weight', 'model.layers.2.self_attn.k_proj.weight', 'model.norm.weight']) {
      const whole = await reader.readBytes(name);
      const n = whole.length;
      for (const [b, e] of [[0, n], [4, Math.min(n - 4, 260)], [n - 132, n]]) expect(await ranged(reader, name, b, e)).toEqual(whole.subarray(b, e));
    }
  });

  it('refuses a range outside the tensor', async () => {
    const reader = await SafetensorsReader.open(new MemorySource(syntheticModel('F32', 1, 6)));
    const t = reader.tensors[0];
    await expect(reader.readByteRange(t.name, t.byteLength - 3, new Uint8Array(4))).rejects.toThrow(ModelIOError);
    await expect(reader.readByteRange(t.name, -1, new Uint8Array(1))).rejects.toThrow(/cannot read 1 at -1/);
  });
});

describe('copyFrom in pieces', () => {
  for (const piece of [1, 7, 64, 1 << 20]) {
    it(`a ${piece}-byte buffer gives the files a whole-tensor copy gives (BF16, 2 shards)`, async () => {
      const reader = await SafetensorsReader.open(new MemorySource(syntheticModel('BF16', 2, 9)));
      const whole = new BlobSink();
      const w1 = new SafetensorsWriter(whole, planFromReader(reader));
      for (const t of reader.tensors) await w1.copyFrom(reader, t.name);
      await w1.finish();
      const pieces = new BlobSink();
      const w2 = new SafetensorsWriter(pieces, planFromReader(reader));
      const buffer = new Uint8Array(piece);
      for (const t of reader.tensors) await w2.copyFrom(reader, t.name, { buffer });
      expect(w2.pending()).toEqual([]);
      await w2.finish();
      for (const f of whole.files.keys()) expect(await pieces.bytes(f)).toEqual(await whole.bytes(f));
    });
  }

  it('a tensor copied in pieces counts as written once, and cannot be written again', async () => {
    const reader = await SafetensorsReader.open(new MemorySource(syntheticModel('F32', 1, 3)));
    const writer = new SafetensorsWriter(new BlobSink(), planFromReader(reader));
    const name = reader.tensors[0].name;
    await writer.copyFrom(reader, name, { buffer: new Uint8Array(5) });
    expect(writer.pending()).not.toContain(name);
    expect(writer.pending().length).toBe(reader.tensors.length - 1);
    await expect(writer.copyFrom(reader, name, { buffer: new Uint8Array(5) })).rejects.toThrow(/already written/);
  });
});

describe('half-precision encoding into a given buffer', () => {
  for (const [name, encode] of [['F16', encodeF16], ['BF16', encodeBF16]] as const) {
    it(`${name}: the same bytes as a new array, written only where asked`, () => {
      const values = randomFloat32(1001, 4);
      const whole = new Uint8Array(2 * values.length + 6).fill(0xaa);
      const into = whole.subarray(2, 2 + 2 * values.length);
      expect(encode(values, into)).toBe(into);
      expect(into).toEqual(encode(values));
      expect([whole[0], whole[1], whole[whole.length - 1]]).toEqual([0xaa, 0xaa, 0xaa]);
      expect(() => encode(values, new Uint8Array(2 * values.length - 2))).toThrow(RangeError);
      expect(() => encode(values, whole.subarray(1, 1 + 2 * values.length))).toThrow(/even offset/);
    });
  }
});

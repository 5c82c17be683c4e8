// The llama2.c path and the safetensors path must give the same tensors for the same model:
// stories260K.bin (legacy), stories260K_v1.bin (version 1) and the Hugging Face conversion.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Llama2cReader, parseLlama2cHeader, permuteRopeRows } from '../../src/io/llama2c.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { MemorySource, openSource } from '../../src/io/source.js';
import { modelSpecFromConfig } from '../../src/models/config.js';
import { Llama2cError } from '../../src/io/errors.js';

const L2C = 'test/fixtures/stories260K';
const HF = 'test/fixtures/stories260K-hf';

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function hfReader(): Promise<SafetensorsReader> {
  return SafetensorsReader.open(await openSource(HF));
}

describe('llama2.c checkpoints', () => {
  for (const file of ['stories260K.bin', 'stories260K_v1.bin']) {
    it(`${file}: every tensor equals the HF safetensors tensor (q/k rows permuted)`, async () => {
      const l2c = await Llama2cReader.open(await openSource(L2C), file);
      const hf = await hfReader();
      expect(l2c.params.version).toBe(file.includes('v1') ? 1 : 0);
      expect(l2c.tensors.map((t) => [t.name, t.shape])).toEqual(hf.tensors.map((t) => [t.name, t.shape]).sort());
      expect(l2c.tensors.length).toBe(47);
      for (const t of hf.tensors) {
        const a = await l2c.readFloat32(t.name);
        const b = await hf.readFloat32(t.name);
        // Bit-identical: compare the bytes, not float closeness.
        expect(a.length, t.name).toBe(b.length);
        expect(bytesOf(a).equals(bytesOf(b)), t.name).toBe(true);
      }
      await l2c.close();
      await hf.close();
    });
  }

  it('the q/k permutation is needed: unpermuted wq differs from q_proj', async () => {
    const src = await openSource(L2C);
    const hf = await hfReader();
    const params = parseLlama2cHeader(readFileSync(`${L2C}/stories260K.bin`).subarray(0, 256), 1056540);
    // wq of layer 0 starts after the header, the embedding table and rms_att.
    const offset = 28 + 4 * (512 * 64 + 5 * 64);
    const raw = await src.read('stories260K.bin', offset, 64 * 64 * 4);
    const q = new Uint8Array((await hf.readFloat32('model.layers.0.self_attn.q_proj.weight')).buffer);
    expect(Buffer.from(raw).equals(Buffer.from(q))).toBe(false);
    expect(Buffer.from(permuteRopeRows(raw, 64, 64, params.nHeads)).equals(Buffer.from(q))).toBe(true);
    await src.close();
    await hf.close();
  });

  it('gives the same ModelSpec as config.json', async () => {
    const l2c = await Llama2cReader.open(await openSource(L2C), 'stories260K.bin');
    const hf = await hfReader();
    const fromConfig = modelSpecFromConfig(JSON.parse(readFileSync(`${HF}/config.json`, 'utf8')), { tensors: hf.tensors });
    expect({ ...l2c.spec, modelType: 'llama' }).toEqual(fromConfig);
    expect(l2c.spec.tieWordEmbeddings).toBe(true);
    expect(l2c.spec.lmHead).toBeNull();
    await l2c.close();
    await hf.close();
  });

  it('reads a separate classifier (negative vocab_size, legacy; flag 0, v1)', async () => {
    const legacy = readFileSync(`${L2C}/stories260K.bin`);
    const wcls = new Float32Array(512 * 64).map((_, i) => Math.sin(i) * 0.1);
    const unshared = Buffer.concat([legacy, Buffer.from(wcls.buffer)]);
    unshared.writeInt32LE(-512, 20);
    const r = await Llama2cReader.open(new MemorySource(new Map([['m.bin', new Uint8Array(unshared)]])), 'm.bin');
    expect(r.spec.tieWordEmbeddings).toBe(false);
    expect(r.spec.lmHead).toEqual({ name: 'lm_head.weight', shape: [512, 64] });
    expect(await r.readFloat32('lm_head.weight')).toEqual(wcls);

    const v1 = Buffer.concat([readFileSync(`${L2C}/stories260K_v1.bin`), Buffer.from(wcls.buffer)]);
    v1.writeUInt8(0, 36);
    const r1 = await Llama2cReader.open(new MemorySource(new Map([['m.bin', new Uint8Array(v1)]])), 'm.bin');
    expect(await r1.readFloat32('lm_head.weight')).toEqual(wcls);
    expect(await r1.readFloat32('model.norm.weight')).toEqual(await r.readFloat32('model.norm.weight'));
  });

  it('rejects bad headers with a typed error', async () => {
    const legacy = new Uint8Array(readFileSync(`${L2C}/stories260K.bin`));
    const cases: Array<[string, (b: Buffer) => Buffer]> = [
      ['truncated', (b) => b.subarray(0, b.length - 4)],
      ['extra bytes', (b) => Buffer.concat([b, Buffer.alloc(4)])],
      ['zero heads', (b) => { b.writeInt32LE(0, 12); return b; }],
      ['kv heads not dividing heads', (b) => { b.writeInt32LE(3, 16); return b; }],
      ['huge dim', (b) => { b.writeInt32LE(0x7fffffff, 0); return b; }],
      ['v2 (quantized)', (b) => { b.writeUInt32LE(0x616b3432, 0); b.writeInt32LE(2, 4); return b; }],
      ['tiny file', (b) => b.subarray(0, 10)],
    ];
    for (const [what, mutate] of cases) {
      const bytes = new Uint8Array(mutate(Buffer.from(legacy)));
      await expect(Llama2cReader.open(new MemorySource(new Map([['m.bin', bytes]])), 'm.bin'), what).rejects.toThrow(Llama2cError);
    }
  });
});

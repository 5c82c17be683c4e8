// The pipeline's memory-saving paths, each checked against the plain way it replaces: embedding
// rows read in ranged pieces, the next layer read into the previous layer's recycled buffers,
// and the finiteness check a weight now gets on its way to the backend (pruning happens there,
// in place, so pruneLayer's host-side check no longer sees it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { openModel } from '../../src/io/model.js';
import { createDecoder } from '../../src/models/decoder.js';
import { prune } from '../../src/prune.js';
import { embeddingRowsSource, LayerReader, layerTensorNames } from '../../src/pipeline/weights.js';
import { DsnotInputError } from '../../src/validate.js';
import { tempDir } from './helpers.js';
import { DIMS, writeTinyModel } from './tiny-model.js';

describe('embedding rows in ranged pieces', () => {
  for (const dtype of ['F32', 'F16'] as const) {
    it(`${dtype}: the wanted rows as stored, every other row zero, whatever the piece size`, async () => {
      const dir = tempDir();
      writeTinyModel(dir, 11, dtype);
      const model = await openModel(dir);
      try {
        const name = 'model.embed_tokens.weight';
        const table = await model.reader.readFloat32(name);
        const d = DIMS.hidden;
        const rowBytes = d * (dtype === 'F16' ? 2 : 4);
        // Repeats, out-of-order, the first and last rows, ids out of range (left for embed() to refuse).
        const ids = [5, 63, 0, 5, 17, 18, 40, 41, 42, 62, -1, 64, 2.5];
        for (const piece of [rowBytes, 3 * rowBytes, 3 * rowBytes + 7, 1 << 20]) {
          const got = await embeddingRowsSource(model.reader, name, ids, d, undefined, piece).readFloat32(name);
          expect(got.length).toBe(DIMS.vocab * d);
          for (let r = 0; r < DIMS.vocab; r++) {
            const want = ids.includes(r) ? table.subarray(r * d, (r + 1) * d) : new Float32Array(d);
            expect(got.subarray(r * d, (r + 1) * d)).toEqual(want);
          }
        }
      } finally {
        await model.close();
      }
    });
  }
});

describe('layers read into recycled buffers', () => {
  it('the next layer lands in the buffers given back, with its own bytes', async () => {
    const dir = tempDir();
    writeTinyModel(dir, 12, 'F16');
    const model = await openModel(dir);
    try {
      const spec = model.spec;
      const names = (i: number) => layerTensorNames(spec, spec.layers[i].linears.map((l) => l.weight), i);
      const reader = new LayerReader(model.reader);
      const first = await reader.prefetch(0, names(0));
      const given = new Set<ArrayBufferLike>();
      for (const l of spec.layers[0].linears) {
        const b = first.tensors.get(l.weight)!.bytes;
        b.fill(0xaa); // poison: the next read must overwrite every byte
        given.add(b.buffer);
        reader.recycle(b);
      }
      const second = await reader.prefetch(1, names(1));
      for (const l of spec.layers[1].linears) {
        const b = second.tensors.get(l.weight)!.bytes;
        expect(given.has(b.buffer)).toBe(true);
        expect(b).toEqual(await model.reader.readBytes(l.weight));
      }
      // Every recycled buffer was taken (the two layers have the same shapes).
      expect(new Set(spec.layers[1].linears.map((l) => second.tensors.get(l.weight)!.bytes.buffer)).size).toBe(given.size);
    } finally {
      await model.close();
    }
  });
});

describe('layer outputs written in place', () => {
  it('forward(h, { into: h }) gives forward(h) exactly; a wrong-sized into is refused', async () => {
    const dir = tempDir();
    writeTinyModel(dir, 14, 'F32');
    const model = await openModel(dir);
    const backend = await createWasmBackend();
    const decoder = createDecoder(model.spec, backend);
    try {
      const layer = await decoder.loadLayer(0, model.reader);
      const rows = 5;
      const h = Float32Array.from({ length: rows * DIMS.hidden }, (_, i) => Math.sin(i * 0.37));
      const want = await layer.forward(h, rows);
      const other = new Float32Array(rows * DIMS.hidden).fill(NaN);
      expect(await layer.forward(h, rows, { into: other })).toBe(other);
      expect(other).toEqual(want);
      const input = h.slice();
      expect(await layer.forward(input, rows, { into: input })).toBe(input);
      expect(input).toEqual(want);
      await expect(layer.forward(h, rows, { into: new Float32Array(rows * DIMS.hidden - 1) })).rejects.toThrow(/into holds 159 floats/);
      layer.dispose();
    } finally {
      decoder.dispose();
      await model.close();
    }
  });
});

describe('a weight that is not finite', () => {
  it('ends the run with a DsnotInputError naming the tensor and the element', async () => {
    const dir = tempDir();
    writeTinyModel(dir, 13, 'F32');
    // Poison element [1, 2] of layer 1's gate projection in the file itself.
    const file = join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const name = 'model.layers.1.mlp.gate_proj.weight';
    const at = 8 + headerLength + header[name].data_offsets[0] + 4 * (1 * DIMS.hidden + 2);
    bytes.writeFloatLE(NaN, at);
    writeFileSync(file, bytes);
    const out = join(tempDir(), 'out');
    await expect(prune({ model: dir, output: out, calibration: { tokens: [[1, 2, 3, 4, 5, 6, 7, 8]] }, device: 'wasm' }))
      .rejects.toThrow(new DsnotInputError(`${name}[1, 2] is NaN: weights must be finite`));
  });
});

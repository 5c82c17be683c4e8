// dsnot layer's file I/O without whole-file copies: the streamed output is byte for byte what
// encodeSafetensors gives; tensors and X3 slices read back exactly; a truncated IN and a
// wrong-sized tensor are refused by name; a failed write leaves neither OUT nor its temporary.
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLayerInput, writeLayerOutput } from '../../src/cli/layer-file.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'dsnot-layer-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 9;
const rnd = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
const tensors: TensorToWrite[] = [
  { name: 'W', dtype: 'F32', shape: [7, 13], data: rnd(91) },
  { name: 'mask', dtype: 'U8', shape: [3, 5], data: Uint8Array.from({ length: 15 }, (_, i) => i % 2) },
  { name: 'X3', dtype: 'F32', shape: [3, 4, 13], data: rnd(156) },
  { name: 'var', dtype: 'F64', shape: [13], data: Float64Array.from(rnd(13)) },
];

describe('dsnot layer files', () => {
  it('writes what encodeSafetensors encodes, and reads every tensor and slice back', async () => {
    const path = join(dir, 'a.safetensors');
    await writeLayerOutput(path, tensors, { note: 'x' });
    expect(Buffer.compare(readFileSync(path), Buffer.from(encodeSafetensors(tensors, { note: 'x' })))).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const f = await openLayerInput(path);
    try {
      expect(f.header.metadata.note).toBe('x');
      expect(new Float32Array(await f.read(f.entries.get('W')!))).toEqual(tensors[0].data);
      expect(new Float64Array(await f.read(f.entries.get('var')!))).toEqual(tensors[3].data);
      const x = tensors[2].data as Float32Array;
      expect(new Float32Array(await f.read(f.entries.get('X3')!, 4 * 52, 4 * 52))).toEqual(x.subarray(52, 104));
    } finally {
      await f.close();
    }
  });

  it('refuses a truncated file and a tensor of the wrong size', async () => {
    const path = join(dir, 'b.safetensors');
    writeFileSync(path, encodeSafetensors(tensors));
    truncateSync(path, readFileSync(path).length - 10);
    await expect(openLayerInput(path)).rejects.toThrow(/data section|past the end|bytes/);
    const out = join(dir, 'c.safetensors');
    await expect(writeLayerOutput(out, [{ name: 'W', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }], {})).rejects.toThrow(/"W": 12 bytes given, shape × dtype needs 16/);
    expect(readdirSync(dir).filter((f) => f.startsWith('c.'))).toEqual([]);
  });
});

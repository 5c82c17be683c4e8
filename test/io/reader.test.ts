// The streamed reader: tensors larger than its scratch buffer, reads into the caller's buffer,
// concurrent reads, and dtypes that are not floats.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/io/safetensors.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { CountingSource, MemorySource, openSource } from '../../src/io/source.js';
import { tempDir } from '../support/temp-dir.js';
import { bytesIn, randomFloat32 } from './helpers.js';

const dir = tempDir('dsnot-reader-');

// 4.2 M elements: an F16 tensor of 8.4 MB spans two 8 MB scratch chunks, with a ragged end.
const N = 4_200_001;
const values = randomFloat32(N, 42);
const small = randomFloat32(1000, 43);
const file = encodeSafetensors([
  { name: 'big.f16', dtype: 'F16', shape: [N], data: bytesIn('F16', values) },
  { name: 'big.bf16', dtype: 'BF16', shape: [N], data: bytesIn('BF16', values) },
  { name: 'f32', dtype: 'F32', shape: [10, 100], data: small },
  { name: 'f64', dtype: 'F64', shape: [1000], data: Float64Array.from(small) },
  { name: 'ids', dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n]) },
]);
writeFileSync(join(dir, 'model.safetensors'), file);

/** Float32 of the stored halves, decoded plainly here (F16 by definition, BF16 by bits). */
const cache = new Map<string, Float32Array>();
function expected(dtype: 'F16' | 'BF16'): Float32Array {
  if (!cache.has(dtype)) cache.set(dtype, decodePlainly(dtype));
  return cache.get(dtype)!;
}

function decodePlainly(dtype: 'F16' | 'BF16'): Float32Array {
  const halves = new Uint16Array(bytesIn(dtype, values).buffer);
  const out = new Float32Array(N);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < N; i++) {
    const h = halves[i];
    if (dtype === 'BF16') {
      bits[i] = h << 16;
      continue;
    }
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const sign = h & 0x8000 ? -1 : 1;
    out[i] = e === 0x1f ? (m ? NaN : sign * Infinity) : e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return false;
  return true;
}

describe('streamed tensor reads', () => {
  it('F16 and BF16 tensors larger than the scratch buffer decode exactly, from disk and from memory', async () => {
    const disk = new CountingSource(await openSource(dir));
    const fromDisk = await SafetensorsReader.open(disk);
    const fromMemory = await SafetensorsReader.open(new MemorySource(new Map([['model.safetensors', file]])));
    for (const dtype of ['F16', 'BF16'] as const) {
      const want = expected(dtype);
      const name = `big.${dtype.toLowerCase()}`;
      disk.largestRead = 0;
      expect(sameFloats(await fromDisk.readFloat32(name), want), `${dtype} disk`).toBe(true);
      expect(disk.largestRead).toBeLessThanOrEqual(8 * 2 ** 20); // streamed in chunks
      expect(sameFloats(await fromMemory.readFloat32(name), want), `${dtype} memory`).toBe(true);
    }
    await fromDisk.close();
  });

  it('reads into a caller\'s buffer (poisoned first) and rejects one of the wrong size', async () => {
    const r = await SafetensorsReader.open(await openSource(dir));
    const into = new Float32Array(N).fill(NaN);
    const got = await r.readFloat32('big.f16', { into });
    expect(got).toBe(into);
    expect(sameFloats(into, expected('F16'))).toBe(true);
    const f32 = new Float32Array(1000).fill(NaN);
    expect(await r.readFloat32('f32', { into: f32 })).toEqual(small);
    const raw = new Uint8Array(8000).fill(0xaa);
    await r.readBytes('f64', { into: raw });
    expect(new Float64Array(raw.buffer)).toEqual(Float64Array.from(small));
    await expect(r.readFloat32('f32', { into: new Float32Array(999) })).rejects.toThrow(/1000 elements but the buffer given holds 999/);
    await r.close();
  });

  it('concurrent reads do not share scratch space', async () => {
    const r = await SafetensorsReader.open(await openSource(dir));
    const [a, b, c] = await Promise.all([r.readFloat32('big.f16'), r.readFloat32('big.bf16'), r.readFloat32('big.f16')]);
    expect(sameFloats(a, expected('F16'))).toBe(true);
    expect(sameFloats(b, expected('BF16'))).toBe(true);
    expect(sameFloats(c, a)).toBe(true);
    await r.close();
  });

  it('F64 converts; integer tensors are refused as float32 but readable as bytes', async () => {
    const r = await SafetensorsReader.open(await openSource(dir));
    expect(await r.readFloat32('f64')).toEqual(small);
    await expect(r.readFloat32('ids')).rejects.toThrow(/dtype I64 cannot be read as float32/);
    expect(new BigInt64Array((await r.readBytes('ids')).buffer)).toEqual(new BigInt64Array([1n, 2n]));
    await expect(r.readBytes('nope')).rejects.toThrow(/no tensor named "nope"/);
    await r.close();
  });
});

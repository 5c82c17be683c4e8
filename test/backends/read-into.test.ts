// TensorStore.read(t, into): the tensor's values land in the caller's array (reused buffers,
// e.g. the pipeline reading each pruned weight back), on both backends, for every dtype,
// including u8 lengths that are not whole 32-bit words (WebGPU packs u8 four to a word).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';

const backends: Array<[string, () => Promise<Backend>]> = [
  ['wasm', createWasmBackend],
  // SwiftShader in CI: a missing adapter fails these tests.
  ['webgpu', () => createWebGpuBackend()],
];

describe.each(backends)('read into a given array on %s', (_name, create) => {
  const backend = create();

  it('fills the given array (poisoned first) with what read() returns, for f32, u8 and i32', async () => {
    const b = await backend;
    const f = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e3);
    const u = Uint8Array.from({ length: 333 }, (_, i) => (i * 37 + 11) & 255);
    const n = Int32Array.from({ length: 77 }, (_, i) => (i - 40) * 123457);
    for (const data of [f, u, n]) {
      const dtype = data instanceof Float32Array ? 'f32' : data instanceof Uint8Array ? 'u8' : 'i32';
      const t = b.upload(dtype, data as never);
      const into = new (data.constructor as new (n: number) => typeof data)(data.length + 5).fill(data instanceof Float32Array ? NaN : 0xaa);
      const view = into.subarray(2, 2 + data.length); // a view at an offset into a larger buffer
      const got = await b.read(t, view as never);
      expect(got).toBe(view);
      expect(Array.from(view)).toEqual(Array.from(data));
      expect(Array.from(await b.read(t))).toEqual(Array.from(data));
      // Outside the view nothing was written.
      for (const i of [0, 1, data.length + 2, data.length + 4]) expect(Object.is(into[i], data instanceof Float32Array ? NaN : 0xaa)).toBe(true);
      b.release(t);
    }
  });

  it('refuses an array of the wrong type or length', async () => {
    const b = await backend;
    const t = b.upload('f32', new Float32Array(10).fill(1));
    await expect(b.read(t, new Float32Array(9))).rejects.toThrow(RangeError);
    await expect(b.read(t, new Uint8Array(10) as never)).rejects.toThrow(/f32 tensor of 10 elements into a Uint8Array of 10/);
    b.release(t);
  });
});

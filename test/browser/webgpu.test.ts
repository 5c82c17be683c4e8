// The WebGPU kernels in a real headless Chromium page (navigator.gpu), against the wasm backend
// in the same page: exact f32 division, every authors' vector, and random layers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { compareRandomLayer, compareVector, RANDOM_CASES } from '../webgpu/compare.js';
import { rng } from '../support/random.js';
import { runWords, testGpu } from '../webgpu/helpers.js';
import { browserVectorNames, fetchVector } from './vectors.js';

let gpu: WebGpuBackend;
let wasm: Backend;

beforeAll(async () => {
  expect(typeof navigator !== 'undefined' && !!navigator.gpu).toBe(true);
  gpu = await createWebGpuBackend();
  wasm = await createWasmBackend();
});
afterAll(() => gpu?.dispose());

describe('WebGPU in a Chromium page', () => {
  it('has an adapter and names it', () => {
    expect(gpu.kind).toBe('webgpu');
    expect(gpu.adapterName.length).toBeGreaterThan(0);
    console.log(`adapter: ${gpu.adapterName} (isFallbackAdapter ${gpu.isFallbackAdapter})`);
  });

  it('divides correctly rounded (subnormals included) where the hardware division would not', async () => {
    const handle = await testGpu();
    const next = rng(4);
    const n = 8192;
    const input = new Uint32Array(2 * n);
    for (let i = 0; i < 2 * n; i++) input[i] = (Math.floor(next() * 2 ** 32) >>> 0) & 0xff7fffff;
    for (let i = 0; i < 1024; i++) input[2 * i + 1] = (input[2 * i + 1] & 0x807fffff) | ((200 + (i % 54)) << 23);
    const out = await runWords(handle, 'browser_div', `
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  OPAQUE_ZERO = params.x;
  let i = g.x;
  if (i >= arrayLength(&inp) / 2u) { return; }
  outp[i] = f32_div_cr(inp[2u * i], inp[2u * i + 1u]);
}`, input, n, n);
    const f = new Float32Array(input.buffer);
    const got = new Float32Array(out.buffer);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.fround(f[2 * i] / f[2 * i + 1]);
      if (!(Object.is(got[i], want) || (Number.isNaN(want) && Number.isNaN(got[i])))) bad++;
    }
    expect(bad).toBe(0);
  });

  for (const key of browserVectorNames()) {
    it(`vector ${key.replace(/^.*\//, '')}: statistics agree, masks identical to wasm and to the vector`, async () => {
      await compareVector(gpu, wasm, await fetchVector(key));
    });
  }

  for (const c of RANDOM_CASES.filter((c) => c.cols !== 4096).concat([{ rows: 2, cols: 4096, seed: 3 }])) {
    it(`random ${c.rows}×${c.cols}: every method identical on webgpu and wasm`, async () => {
      expect(await compareRandomLayer(gpu, wasm, c)).toBeGreaterThan(0);
    });
  }
});

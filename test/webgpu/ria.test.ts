// RIA (ALGORITHM.md §14.5) on WebGPU: the emulated non-negative f32 addition its sums use, the
// metric kernel bit for bit against the independent reference (also across row chunks, where
// the column sums continue from chunk to chunk), and pruneLayer identical to wasm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireBackend } from '../../src/backends/select.js';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { riaMetric } from '../reference/ria.js';
import { randomLayer } from '../layer/random.js';
import { riaStats, riaWeights, sameBitsOrFirstDifference } from '../layer/ria-inputs.js';
import { rng } from '../support/random.js';
import { expectSameResult, onBoth, RANDOM_CASES, statsOn, type Method } from './compare.js';
import { runWords, testGpu } from './helpers.js';

const f = Math.fround;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const floatOf = (b: number) => ((u32[0] = b), f32[0]);

let gpu: WebGpuBackend;
let split: WebGpuBackend;
beforeAll(async () => {
  gpu = await createWebGpuBackend();
  split = await createWebGpuBackend({ maxBindingBytes: 32 * 1024 });
});
afterAll(() => {
  gpu?.dispose();
  split?.dispose();
});

/** Non-negative operand pairs: any exponent, subnormals, +0, +inf, close exponents and ties to even. */
function addOperands(n: number, seed: number): Uint32Array {
  const next = rng(seed);
  const out = new Uint32Array(2 * n);
  const specials = [0, 1, 0x007fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0x3f800000, 0x33800000, 0x34000000];
  for (let i = 0; i < 2 * n; i += 2) {
    const r = next();
    const a = Math.floor(next() * 0x7f800000);
    let b = Math.floor(next() * 0x7f800000);
    if (r < 0.05) b = specials[Math.floor(next() * specials.length)];
    else if (r < 0.2) b = Math.floor(next() * 0x00800000); // subnormal
    else if (r < 0.6) b = (a & 0x7f800000) + Math.floor((next() - 0.5) * 30 * 0x800000) & 0x7fffffff; // exponents within ±15
    else if (r < 0.7) b = Math.max(0, (a & 0x7f800000) - 24 * 0x800000) | 0x400000; // an exact half ulp
    out[i] = a;
    out[i + 1] = Math.min(b >>> 0, 0x7f800000);
  }
  return out;
}

describe('f32_add_nonneg_cr', () => {
  it('equals Math.fround(a + b) bit for bit', async () => {
    const n = 40000;
    const input = addOperands(n, 7);
    const out = await runWords(await testGpu(), 'test_add_nonneg', `
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  OPAQUE_ZERO = params.x;
  let i = g.x;
  if (i >= arrayLength(&inp) / 2u) { return; }
  outp[i] = f32_add_nonneg_cr(inp[2u * i], inp[2u * i + 1u]);
}`, input, n, n);
    const bad: string[] = [];
    for (let i = 0; i < n; i++) {
      const want = bitsOf(f(floatOf(input[2 * i]) + floatOf(input[2 * i + 1])));
      if (out[i] !== want && bad.length < 5) bad.push(`${floatOf(input[2 * i])} + ${floatOf(input[2 * i + 1])}: got ${floatOf(out[i])}`);
    }
    expect(bad).toEqual([]);
  });
});

describe('RIA metric kernel (WebGPU)', () => {
  const sqrtScalerOf = (s: ArrayLike<number>) => Float32Array.from(s, (x) => f(Math.sqrt(f(x))));

  async function riaOn(b: WebGpuBackend, w: Float32Array, rows: number, cols: number, scalerRow: ArrayLike<number>): Promise<Float32Array> {
    const wt = b.upload('f32', w);
    const out = b.upload('f32', new Float32Array(rows * cols).fill(NaN)); // poison
    b.metric(wt, rows, cols, 'ria', sqrtScalerOf(scalerRow).map(Math.sqrt), out);
    const got = (await b.read(out)) as Float32Array;
    b.release(wt);
    b.release(out);
    return got;
  }

  // 64×301 on the split backend: 32 KiB bindings hold 24 rows, so three chunks at unaligned offsets.
  it.each([[4, 1], [5, 3], [9, 37], [6, 64], [7, 250], [3, 4098]])('%i×%i: bit for bit the reference', async (rows, cols) => {
    const w = riaWeights(rows * 1000 + cols, rows, cols);
    const { scalerRow } = riaStats(cols, cols);
    const got = await riaOn(gpu, w, rows, cols, scalerRow);
    expect(sameBitsOrFirstDifference(got, riaMetric(w, rows, cols, sqrtScalerOf(scalerRow)))).toBe('same');
  });

  it('64×301 in row chunks (32 KiB bindings): bit for bit the reference', async () => {
    const [rows, cols] = [64, 301];
    const w = riaWeights(5, rows, cols);
    const { scalerRow } = riaStats(5, cols);
    const got = await riaOn(split, w, rows, cols, scalerRow);
    expect(sameBitsOrFirstDifference(got, riaMetric(w, rows, cols, sqrtScalerOf(scalerRow)))).toBe('same');
  });
});

describe('pruneLayer with init ria: webgpu identical to wasm', () => {
  const methods: Method[] = [
    { init: 'ria', sparsity: 0.5, dsnot: false },
    { init: 'ria', sparsity: 0.6, dsnot: { updateThreshold: 0, guard: false } },
    { init: 'ria', sparsity: { n: 2, m: 4 }, dsnot: { updateThreshold: 0, guard: false } },
  ];
  for (const c of RANDOM_CASES) {
    it(`${c.rows}×${c.cols}${c.grid ? ' on a grid' : ''}: masks, weights, errors and cycles`, async () => {
      const layer = randomLayer(c.seed, c.rows, c.cols, { grid: c.grid, constantEvery: c.constantEvery });
      const wasm = await acquireBackend('wasm');
      const stats = await statsOn(wasm, layer.x3, layer.nseq, c.cols, false);
      for (const m of methods) {
        const { gpu: g, cpu } = await onBoth(gpu, wasm, { weight: layer.weight, rows: c.rows, cols: c.cols, stats }, m);
        expectSameResult(g, cpu, c.cols);
      }
    });
  }

  it('zero rows and columns, subnormals, ties; and in row chunks', async () => {
    const [rows, cols] = [40, 300];
    const base = { weight: riaWeights(11, rows, cols), rows, cols, stats: riaStats(11, cols) };
    for (const b of [gpu, split]) {
      for (const m of methods) {
        const { gpu: g, cpu } = await onBoth(b, await acquireBackend('wasm'), base, m);
        expectSameResult(g, cpu, cols);
      }
    }
  });
});

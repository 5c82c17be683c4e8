// webgpu == wasm, bit for bit, in Node (Dawn): pruneLayer on both devices over every authors'
// vector (masks also equal to the vector's) and over random layers of several shapes, the
// row-split path (a small artificial binding limit), and SparseGPT, which runs on wasm and says so.
// test/browser/webgpu.test.ts runs the same comparisons in a Chromium page.
import { describe, expect, it } from 'vitest';
import { acquireBackend } from '../../src/backends/select.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { pruneLayer } from '../../src/layer.js';
import { expectSameMask } from '../layer/expect.js';
import { randomLayer } from '../layer/random.js';
import { loadVector, vectorNames } from '../layer/vectors.js';
import { AUTHORS, compareRandomLayer, compareVector, expectSameResult, onBoth, RANDOM_CASES, statsOn, type Method } from './compare.js';

describe.each(vectorNames())('vector %s on webgpu and wasm', (file) => {
  it('statistics from X3 agree, and every mask is identical and equal to the vector', async () => {
    const v = loadVector(file);
    await compareVector(await acquireBackend('webgpu'), await acquireBackend('wasm'), v);
    if (v.has('sparsegpt_W')) {
      // SparseGPT has no WGSL kernel: on 'webgpu' it runs on wasm, and the result says so.
      const stats = { scalerRow: v.f64('scaler_row'), sumMetricRow: v.f64('sum_metric_row'), var: v.f64('var') };
      const gpuStats = await statsOn(await acquireBackend('webgpu'), v.f32('X3'), v.shape('X3')[0], v.cols, true);
      const sp = await pruneLayer({ weight: v.f32('W'), rows: v.rows, cols: v.cols, stats: { ...stats, hessian: gpuStats.hessian }, sparsity: v.config.sparsity, init: 'sparsegpt', dsnot: false, device: 'webgpu' });
      expect(sp.device).toBe('wasm');
      expectSameMask(sp.mask, v.u8('sparsegpt_mask'), v.cols);
    }
  });
});

describe('random layers on webgpu and wasm', () => {
  for (const c of RANDOM_CASES) {
    it(`${c.rows}×${c.cols}${c.grid ? ' on a grid' : ''}${c.constantEvery ? ' with constant channels' : ''}: every method identical`, async () => {
      const swapped = await compareRandomLayer(await acquireBackend('webgpu'), await acquireBackend('wasm'), c);
      expect(swapped).toBeGreaterThan(0);
    });
  }

  it('the row-split path (artificial 32 KiB binding limit) gives the same results', async () => {
    const split = await createWebGpuBackend({ maxBindingBytes: 32 * 1024 });
    try {
      const rows = 64;
      const cols = 300; // 75 KiB of weights: 8-row chunks at unaligned byte offsets
      const layer = randomLayer(9, rows, cols, { grid: 64 });
      const s = await statsOn(split, layer.x3, layer.nseq, cols, false);
      const base = { weight: layer.weight, rows, cols, stats: s };
      for (const m of [
        { init: 'wanda', sparsity: 0.5, dsnot: { ...AUTHORS, updateThreshold: 0 } },
        { init: 'magnitude', sparsity: 0.5, dsnot: false },
        { init: 'wanda', sparsity: { n: 2, m: 4 }, dsnot: AUTHORS },
      ] as Method[]) {
        const { gpu, cpu } = await onBoth(split, await acquireBackend('wasm'), base, m);
        expectSameResult(gpu, cpu, cols);
      }
    } finally {
      split.dispose();
    }
  });
});

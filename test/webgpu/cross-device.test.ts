// webgpu == wasm, bit for bit: pruneLayer on both devices over every authors' vector (masks also
// equal to the vector's) and over random layers of several shapes, including the row-split path
// (a small artificial binding limit) and SparseGPT, which runs on wasm and says so.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { acquireBackend } from '../../src/backends/select.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { pruneLayer, type PruneLayerOptions, type PruneLayerResult } from '../../src/layer.js';
import { StatsAccumulator, type LayerStats } from '../../src/stats.js';
import { expectClose, expectSameMask } from '../layer/expect.js';
import { randomLayer } from '../layer/random.js';
import { loadVector, vectorNames } from '../layer/vectors.js';

async function stats(device: Backend, x3: Float32Array, nseq: number, cols: number, hessian: boolean): Promise<LayerStats> {
  const acc = await StatsAccumulator.create(cols, { hessian, device });
  const per = x3.length / nseq;
  for (let s = 0; s < nseq; s++) acc.add(x3.subarray(s * per, (s + 1) * per));
  return acc.finish();
}

function expectSameResult(gpu: PruneLayerResult, cpu: PruneLayerResult, cols: number): void {
  expectSameMask(gpu.initMask, cpu.initMask, cols);
  expectSameMask(gpu.mask, cpu.mask, cols);
  expect(new Uint32Array(gpu.weight.buffer)).toEqual(new Uint32Array(cpu.weight.buffer));
  expect(gpu.cycles).toBe(cpu.cycles);
  expectClose(gpu.initError, cpu.initError, 1e-6, 1e-12);
  expectClose(gpu.error, cpu.error, 1e-6, 1e-12);
}

/**
 * Same statistics on both devices (double-float vs f64 sums): within 1e-12 of the vector's
 * largest entry, the scale of the rounding of sums that cancel (off-diagonal H, Σx).
 */
function expectSameStats(a: LayerStats, b: LayerStats): void {
  const scale = (v: ArrayLike<number>) => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  expectClose(a.scalerRow, b.scalerRow, 1e-12);
  expectClose(a.sumMetricRow, b.sumMetricRow, 0, 1e-12 * scale(b.sumMetricRow));
  expectClose(a.var, b.var, 1e-12);
  if (b.hessian) expectClose(a.hessian!, b.hessian, 0, 1e-12 * scale(b.hessian));
}

type Method = Pick<PruneLayerOptions, 'init' | 'dsnot' | 'sparsity' | 'magnitudeScope'>;

async function both(base: Omit<PruneLayerOptions, 'init' | 'sparsity' | 'device' | 'backend'>, m: Method, gpuBackend?: Backend) {
  const cpu = await pruneLayer({ ...base, ...m, device: 'wasm' });
  const gpu = await pruneLayer({ ...base, ...m, ...(gpuBackend ? { backend: gpuBackend } : { device: 'webgpu' }) });
  return { cpu, gpu };
}

describe.each(vectorNames())('vector %s on webgpu and wasm', (file) => {
  const v = loadVector(file);
  const { rows, cols, config } = v;
  const [nseq] = v.shape('X3');
  const sparsity = config.prune_n ? { n: config.prune_n, m: config.prune_m } : config.sparsity;
  const dsnot = {
    maxCycles: config.max_cycle_time, updateThreshold: config.update_threshold,
    powOfVarRegrowing: config.pow_of_var_regrowing, sameSign: !config.without_same_sign,
  };

  it('statistics from X3 agree, and every mask is identical and equal to the vector', async () => {
    const gpuBackend = await acquireBackend('webgpu');
    const withH = v.has('sparsegpt_W');
    const sGpu = await stats(gpuBackend, v.f32('X3'), nseq, cols, withH);
    const sCpu = await stats(await acquireBackend('wasm'), v.f32('X3'), nseq, cols, withH);
    expectSameStats(sGpu, sCpu);
    const given: LayerStats = { scalerRow: v.f64('scaler_row'), sumMetricRow: v.f64('sum_metric_row'), var: v.f64('var') };
    for (const s of [sGpu, given]) {
      const base = { weight: v.f32('W'), rows, cols, stats: s };
      const wanda = await both(base, { init: 'wanda', dsnot: false, sparsity });
      expectSameResult(wanda.gpu, wanda.cpu, cols);
      expectSameMask(wanda.gpu.mask, v.u8('wanda_mask'), cols);
      expect(wanda.gpu.device).toBe('webgpu');
      if (v.has('magnitude_layer_mask')) {
        const layer = await both(base, { init: 'magnitude', dsnot: false, sparsity });
        expectSameResult(layer.gpu, layer.cpu, cols);
        expectSameMask(layer.gpu.mask, v.u8('magnitude_layer_mask'), cols);
        const row = await both(base, { init: 'magnitude', dsnot: false, sparsity, magnitudeScope: 'row' });
        expectSameResult(row.gpu, row.cpu, cols);
        expectSameMask(row.gpu.mask, v.u8('magnitude_row_mask'), cols);
      }
      if (v.has('dsnot_mask')) {
        const r = await both(base, { init: config.initial_method, dsnot, sparsity });
        expectSameResult(r.gpu, r.cpu, cols);
        expectSameMask(r.gpu.initMask, v.u8('dsnot_init_mask'), cols);
        expectSameMask(r.gpu.mask, v.u8('dsnot_mask'), cols);
        expect(r.gpu.cycles).toBe(v.int('dsnot_cycles'));
        expectClose(r.gpu.error, v.f64('dsnot_err'), 1e-5, 1e-7);
      }
    }
    if (withH) {
      const base = { weight: v.f32('W'), rows, cols, stats: sGpu };
      // SparseGPT has no WGSL kernel: on 'webgpu' it runs on wasm, and the result says so.
      const sp = await pruneLayer({ ...base, init: 'sparsegpt', dsnot: false, sparsity, device: 'webgpu' });
      expect(sp.device).toBe('wasm');
      expectSameMask(sp.mask, v.u8('sparsegpt_mask'), cols);
      // SparseGPT's OBS saliency as DSnoT's initial metric: the metric itself runs on the GPU.
      const r = await both(base, { init: 'sparsegpt', dsnot, sparsity });
      expectSameResult(r.gpu, r.cpu, cols);
    }
  });
});

describe('random layers on webgpu and wasm', () => {
  const cases = [
    { rows: 16, cols: 64, seed: 1 },
    { rows: 13, cols: 200, seed: 2, grid: 64 },
    { rows: 3, cols: 4096, seed: 3 },
    { rows: 11, cols: 300, seed: 4, constantEvery: 7 },
    { rows: 9, cols: 520, seed: 5, grid: 32, constantEvery: 13 },
  ];
  for (const c of cases) {
    it(`${c.rows}×${c.cols}${c.grid ? ' on a grid' : ''}${c.constantEvery ? ' with constant channels' : ''}: every method identical`, async () => {
      const layer = randomLayer(c.seed, c.rows, c.cols, { grid: c.grid, constantEvery: c.constantEvery });
      const s = await stats(await acquireBackend('wasm'), layer.x3, layer.nseq, c.cols, true);
      const base = { weight: layer.weight, rows: c.rows, cols: c.cols, stats: s };
      const methods: Method[] = [
        { init: 'wanda', sparsity: 0.5 },
        { init: 'wanda', sparsity: 0.7, dsnot: { updateThreshold: 0, sameSign: true } },
        { init: 'wanda', sparsity: 0.6, dsnot: { updateThreshold: 0, powOfVarRegrowing: 0 } },
        { init: 'magnitude', sparsity: 0.6 },
        { init: 'magnitude', sparsity: 0.45, dsnot: false },
        { init: 'wanda', sparsity: { n: 2, m: 4 }, dsnot: { updateThreshold: 0 } },
        ...(c.cols % 8 === 0 ? [{ init: 'magnitude', sparsity: { n: 4, m: 8 } } as Method] : []),
        // The OBS metric on the GPU; its f64 Cholesky runs on wasm, O(cols³): narrow layers only.
        ...(c.cols <= 600 ? [{ init: 'sparsegpt', sparsity: 0.5 } as Method] : []),
      ];
      let swapped = 0;
      for (const m of methods) {
        const { gpu, cpu } = await both(base, m);
        expectSameResult(gpu, cpu, c.cols);
        for (let i = 0; i < cpu.mask.length; i++) swapped += cpu.mask[i] !== cpu.initMask[i] ? 1 : 0;
      }
      expect(swapped).toBeGreaterThan(0);
    });
  }

  it('the row-split path (artificial 32 KiB binding limit) gives the same results', async () => {
    const split = await createWebGpuBackend({ maxBindingBytes: 32 * 1024 });
    try {
      const rows = 64;
      const cols = 300; // 75 KiB of weights: 8-row chunks at unaligned byte offsets
      const layer = randomLayer(9, rows, cols, { grid: 64 });
      const s = await stats(split, layer.x3, layer.nseq, cols, false);
      const base = { weight: layer.weight, rows, cols, stats: s };
      for (const m of [
        { init: 'wanda', sparsity: 0.5, dsnot: { updateThreshold: 0 } },
        { init: 'magnitude', sparsity: 0.5, dsnot: false },
        { init: 'wanda', sparsity: { n: 2, m: 4 } },
      ] as Method[]) {
        const { gpu, cpu } = await both(base, m, split);
        expectSameResult(gpu, cpu, cols);
      }
    } finally {
      split.dispose();
    }
  });
});

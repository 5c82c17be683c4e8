// webgpu-versus-wasm comparisons shared by the Node (Dawn) and browser (Chromium) tests. No
// Node-only imports here: this runs in the page too.
import { expect } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { pruneLayer, type PruneLayerOptions, type PruneLayerResult } from '../../src/layer.js';
import { StatsAccumulator, type LayerStats } from '../../src/stats.js';
import { expectClose, expectSameMask } from '../layer/expect.js';
import { randomLayer } from '../layer/random.js';
import type { VectorData } from '../support/vector.js';

export async function statsOn(device: Backend, x3: Float32Array, nseq: number, cols: number, hessian: boolean): Promise<LayerStats> {
  const acc = await StatsAccumulator.create(cols, { hessian, device });
  const per = x3.length / nseq;
  for (let s = 0; s < nseq; s++) acc.add(x3.subarray(s * per, (s + 1) * per));
  return acc.finish();
}

/** Masks and weights bit for bit, cycles equal, errors within float rounding. */
export function expectSameResult(gpu: PruneLayerResult, cpu: PruneLayerResult, cols: number): void {
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
export function expectSameStats(a: LayerStats, b: LayerStats): void {
  const scale = (v: ArrayLike<number>) => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  expectClose(a.scalerRow, b.scalerRow, 1e-12);
  expectClose(a.sumMetricRow, b.sumMetricRow, 0, 1e-12 * scale(b.sumMetricRow));
  expectClose(a.var, b.var, 1e-12);
  if (b.hessian) expectClose(a.hessian!, b.hessian, 0, 1e-12 * scale(b.hessian));
}

export type Method = Pick<PruneLayerOptions, 'init' | 'dsnot' | 'sparsity' | 'magnitudeScope'>;
export type LayerBase = Omit<PruneLayerOptions, 'init' | 'sparsity' | 'device' | 'backend'>;

/** The same layer and method on wasm and on a WebGPU backend. */
export async function onBoth(gpu: Backend, wasm: Backend, base: LayerBase, m: Method): Promise<{ gpu: PruneLayerResult; cpu: PruneLayerResult }> {
  const cpu = await pruneLayer({ ...base, ...m, backend: wasm });
  const out = await pruneLayer({ ...base, ...m, backend: gpu });
  expect(cpu.device).toBe('wasm');
  expect(out.device).toBe('webgpu');
  return { gpu: out, cpu };
}

/** The random-layer cases: 64 columns, non-multiples of 256, 4096 columns, ties, constant channels. */
export const RANDOM_CASES = [
  { rows: 16, cols: 64, seed: 1 },
  { rows: 13, cols: 200, seed: 2, grid: 64 },
  { rows: 3, cols: 4096, seed: 3 },
  { rows: 11, cols: 300, seed: 4, constantEvery: 7 },
  { rows: 9, cols: 520, seed: 5, grid: 32, constantEvery: 13 },
];

/** The authors' DSnoT (no guard): the GPU kernel the comparisons are about. */
export const AUTHORS = { guard: false } as const;

export function methodsFor(cols: number): Method[] {
  return [
    { init: 'wanda', sparsity: 0.5, dsnot: AUTHORS },
    { init: 'wanda', sparsity: 0.7, dsnot: { ...AUTHORS, updateThreshold: 0, sameSign: true } },
    { init: 'wanda', sparsity: 0.6, dsnot: { ...AUTHORS, updateThreshold: 0, powOfVarRegrowing: 0 } },
    { init: 'magnitude', sparsity: 0.6, dsnot: AUTHORS },
    { init: 'magnitude', sparsity: 0.45, dsnot: false },
    { init: 'wanda', sparsity: { n: 2, m: 4 }, dsnot: { ...AUTHORS, updateThreshold: 0 } },
    ...(cols % 8 === 0 ? [{ init: 'magnitude', sparsity: { n: 4, m: 8 }, dsnot: AUTHORS } as Method] : []),
    // The OBS metric on the GPU; its f64 Cholesky runs on wasm, O(cols³): narrow layers only.
    ...(cols <= 600 ? [{ init: 'sparsegpt', sparsity: 0.5, dsnot: AUTHORS } as Method] : []),
  ];
}

/** Every method on one random layer, identical on both devices; returns how many weights DSnoT moved. */
export async function compareRandomLayer(gpu: Backend, wasm: Backend, c: (typeof RANDOM_CASES)[number]): Promise<number> {
  const layer = randomLayer(c.seed, c.rows, c.cols, { grid: c.grid, constantEvery: c.constantEvery });
  const s = await statsOn(wasm, layer.x3, layer.nseq, c.cols, true);
  const base = { weight: layer.weight, rows: c.rows, cols: c.cols, stats: s };
  let swapped = 0;
  for (const m of methodsFor(c.cols)) {
    const { gpu: g, cpu } = await onBoth(gpu, wasm, base, m);
    expectSameResult(g, cpu, c.cols);
    for (let i = 0; i < cpu.mask.length; i++) swapped += cpu.mask[i] !== cpu.initMask[i] ? 1 : 0;
  }
  return swapped;
}

/** A vector (as loaded by either loader): statistics and every mask on both devices, and against the vector. */
export async function compareVector(gpu: Backend, wasm: Backend, v: VectorData): Promise<void> {
  const { rows, cols, config } = v;
  const [nseq] = v.shape('X3');
  const sparsity = config.prune_n ? { n: config.prune_n, m: config.prune_m } : config.sparsity;
  const dsnot = {
    maxCycles: config.max_cycle_time, updateThreshold: config.update_threshold,
    powOfVarRegrowing: config.pow_of_var_regrowing, sameSign: !config.without_same_sign, guard: false,
  };
  const withH = v.has('sparsegpt_W');
  const sGpu = await statsOn(gpu, v.f32('X3'), nseq, cols, withH);
  const sCpu = await statsOn(wasm, v.f32('X3'), nseq, cols, withH);
  expectSameStats(sGpu, sCpu);
  const given: LayerStats = { scalerRow: v.f64('scaler_row'), sumMetricRow: v.f64('sum_metric_row'), var: v.f64('var') };
  for (const s of [sGpu, given]) {
    const base = { weight: v.f32('W'), rows, cols, stats: s };
    const wanda = await onBoth(gpu, wasm, base, { init: 'wanda', dsnot: false, sparsity });
    expectSameResult(wanda.gpu, wanda.cpu, cols);
    expectSameMask(wanda.gpu.mask, v.u8('wanda_mask'), cols);
    if (v.has('magnitude_layer_mask')) {
      const layer = await onBoth(gpu, wasm, base, { init: 'magnitude', dsnot: false, sparsity });
      expectSameResult(layer.gpu, layer.cpu, cols);
      expectSameMask(layer.gpu.mask, v.u8('magnitude_layer_mask'), cols);
      const row = await onBoth(gpu, wasm, base, { init: 'magnitude', dsnot: false, sparsity, magnitudeScope: 'row' });
      expectSameResult(row.gpu, row.cpu, cols);
      expectSameMask(row.gpu.mask, v.u8('magnitude_row_mask'), cols);
    }
    if (v.has('dsnot_mask')) {
      const r = await onBoth(gpu, wasm, base, { init: config.initial_method, dsnot, sparsity });
      expectSameResult(r.gpu, r.cpu, cols);
      expectSameMask(r.gpu.initMask, v.u8('dsnot_init_mask'), cols);
      expectSameMask(r.gpu.mask, v.u8('dsnot_mask'), cols);
      expect(r.gpu.cycles).toBe(v.int('dsnot_cycles'));
      expectClose(r.gpu.error, v.f64('dsnot_err'), 1e-5, 1e-7);
    }
  }
  if (withH) {
    const base = { weight: v.f32('W'), rows, cols, stats: sGpu };
    // SparseGPT's OBS saliency as DSnoT's initial metric: the metric itself runs on the GPU.
    const r = await onBoth(gpu, wasm, base, { init: 'sparsegpt', dsnot, sparsity });
    expectSameResult(r.gpu, r.cpu, cols);
  }
}

// pruneLayerOnBackend: a weight already on a backend, pruned there in place (what prune() uses).
// It must give pruneLayer's results exactly (pruneLayer is the same code on an uploaded copy, so
// it is also checked here against the independent reference of properties.test.ts): the tensor
// ends up holding pruneLayer's weight, host buffers given for the results are filled, and
// device scratch kept between calls (stale contents from other linears) changes nothing.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { pruneLayer, pruneLayerOnBackend, type InitMethod, type PruneLayerResult, type PruneOnBackendResult } from '../../src/layer.js';
import { Workspace } from '../../src/models/decoder.js';
import type { LayerStats } from '../../src/stats.js';
import { DsnotInputError } from '../../src/validate.js';
import { referenceDsnot } from '../reference/dsnot.js';
import { referenceInitialMetric } from '../reference/initial-metric.js';
import { referenceColumns, rowMask } from '../reference/masks.js';
import { referenceStats } from '../reference/stats.js';
import { expectSameMask } from './expect.js';
import { randomLayer } from './random.js';

interface Case {
  name: string;
  rows: number;
  cols: number;
  sparsity: number | { n: number; m: number };
  init: InitMethod;
  dsnot: boolean;
  magnitudeScope?: 'matrix' | 'row';
  seed: number;
}

const CASES: Case[] = [
  { name: 'wanda + DSnoT 0.5', rows: 12, cols: 64, sparsity: 0.5, init: 'wanda', dsnot: true, seed: 31 },
  { name: 'wanda + DSnoT 2:4', rows: 10, cols: 64, sparsity: { n: 2, m: 4 }, init: 'wanda', dsnot: true, seed: 32 },
  { name: 'magnitude, one threshold per matrix', rows: 9, cols: 40, sparsity: 0.6, init: 'magnitude', dsnot: false, magnitudeScope: 'matrix', seed: 33 },
  { name: 'magnitude + DSnoT', rows: 9, cols: 40, sparsity: 0.6, init: 'magnitude', dsnot: true, seed: 34 },
  { name: 'sparsegpt init + DSnoT', rows: 7, cols: 48, sparsity: 0.5, init: 'sparsegpt', dsnot: true, seed: 35 },
  { name: 'sparsegpt as a method (updates kept weights)', rows: 7, cols: 48, sparsity: 0.5, init: 'sparsegpt', dsnot: false, seed: 36 },
];

function layerOf(c: Case): { weight: Float32Array; stats: LayerStats } {
  const l = randomLayer(c.seed, c.rows, c.cols);
  return { weight: l.weight, stats: referenceStats(l.x3, l.nseq, l.seqlen, c.cols, c.init === 'sparsegpt') };
}

function settings(c: Case, stats: LayerStats) {
  return {
    rows: c.rows, cols: c.cols, stats, sparsity: c.sparsity, init: c.init,
    dsnot: c.dsnot ? { guard: false } : (false as const), ...(c.magnitudeScope ? { magnitudeScope: c.magnitudeScope } : {}),
  };
}

function expectSameValues(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) throw new Error(`${what} ${i}: ${actual[i]}, expected ${expected[i]}`);
  }
}

function expectSameResult(got: PruneOnBackendResult, want: PruneLayerResult, cols: number): void {
  expectSameMask(got.mask!, want.mask, cols);
  expect(Array.from(got.initError)).toEqual(Array.from(want.initError));
  expect(Array.from(got.error)).toEqual(Array.from(want.error));
  expect(got.cycles).toBe(want.cycles);
  expect(got.device).toBe(want.device);
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['wasm', createWasmBackend],
  // SwiftShader in CI: a missing adapter fails these tests.
  ['webgpu', () => createWebGpuBackend()],
];

describe.each(backends)('pruneLayerOnBackend on %s', (_name, create) => {
  const backend = create();

  it('pruneLayer itself still equals the independent reference (Wanda + DSnoT)', async () => {
    const c = CASES[0];
    const { weight, stats } = layerOf(c);
    const out = await pruneLayer({ weight, ...settings(c, stats), backend: await backend });
    const cv = referenceColumns(stats.scalerRow, stats.sumMetricRow, stats.var, 1);
    const metric = referenceInitialMetric('wanda', weight, c.rows, c.cols, cv.sqrtScaler, new Float64Array(0)); // no Hessian for Wanda
    const initMask = rowMask(metric, c.rows, c.cols, Math.floor(c.cols * 0.5));
    const ref = referenceDsnot({ w: weight, rows: c.rows, cols: c.cols, initMask, columns: cv, nm: null, initialMetric: metric, maxCycles: 50, threshold: 0.1, sameSign: false });
    expectSameMask(out.initMask, initMask, c.cols);
    expectSameMask(out.mask, ref.mask, c.cols);
    expect(out.cycles).toBe(ref.cycles);
  });

  for (const c of CASES) {
    it(`${c.name}: pruneLayer's results, the tensor pruned in place, results in the given buffers`, async () => {
      const b = await backend;
      const { weight, stats } = layerOf(c);
      const want = await pruneLayer({ weight, ...settings(c, stats), backend: b });
      const t = b.upload('f32', weight);
      try {
        const maskInto = new Uint8Array(c.rows * c.cols).fill(0xaa);
        const weightInto = new Float32Array(c.rows * c.cols).fill(NaN);
        const got = await pruneLayerOnBackend({ weight: t, ...settings(c, stats), backend: b, readBack: { mask: maskInto, weight: weightInto, initMask: true } });
        expect(got.mask).toBe(maskInto);
        expect(got.weight).toBe(weightInto);
        expectSameResult(got, want, c.cols);
        expectSameMask(got.initMask!, want.initMask, c.cols);
        expectSameValues(got.weight!, want.weight, 'returned weight');
        expectSameValues((await b.read(t)) as Float32Array, want.weight, 'tensor after pruning');
      } finally {
        b.release(t);
      }
    });
  }

  it('reads back only what is asked for: by default the mask alone', async () => {
    const b = await backend;
    const c = CASES[0];
    const { weight, stats } = layerOf(c);
    const want = await pruneLayer({ weight, ...settings(c, stats), backend: b });
    const t = b.upload('f32', weight);
    const t2 = b.upload('f32', weight);
    try {
      const got = await pruneLayerOnBackend({ weight: t, ...settings(c, stats), backend: b });
      expect(got.weight).toBeNull();
      expect(got.initMask).toBeNull();
      expectSameResult(got, want, c.cols);
      const none = await pruneLayerOnBackend({ weight: t2, ...settings(c, stats), backend: b, readBack: { mask: false } });
      expect(none.mask).toBeNull();
      expect(Array.from(none.error)).toEqual(Array.from(want.error));
      expectSameValues((await b.read(t2)) as Float32Array, want.weight, 'tensor after pruning');
    } finally {
      b.release(t);
      b.release(t2);
    }
  });

  it('scratch kept between linears of different shapes and stale contents gives the same results', async () => {
    const b = await backend;
    const scratch = new Workspace(b);
    try {
      // A, then B (another shape: the scratch is reallocated), then A' (A's shape, other
      // values: the scratch holds B's, then A's stale metric and mask when it runs).
      const order = [CASES[0], CASES[3], { ...CASES[0], seed: 41 }, { ...CASES[1], seed: 42 }, { ...CASES[1], seed: 43 }];
      for (const c of order) {
        const { weight, stats } = layerOf(c);
        const want = await pruneLayer({ weight, ...settings(c, stats), backend: b });
        const t = b.upload('f32', weight);
        const got = await pruneLayerOnBackend({ weight: t, ...settings(c, stats), backend: b, scratch });
        expectSameResult(got, want, c.cols);
        expectSameValues((await b.read(t)) as Float32Array, want.weight, `${c.name} (seed ${c.seed}) tensor`);
        b.release(t);
      }
    } finally {
      scratch.dispose();
    }
  });

  it('refuses a weight that is not an f32 tensor of rows × cols, and a missing backend', async () => {
    const b = await backend;
    const c = CASES[0];
    const { stats } = layerOf(c);
    const u8 = b.alloc('u8', c.rows * c.cols);
    const short = b.alloc('f32', c.rows * c.cols - 1);
    try {
      await expect(pruneLayerOnBackend({ weight: u8, ...settings(c, stats), backend: b })).rejects.toThrow(DsnotInputError);
      await expect(pruneLayerOnBackend({ weight: short, ...settings(c, stats), backend: b })).rejects.toThrow(/weight has 767 values; rows × cols = 12 × 64 = 768/);
      await expect(pruneLayerOnBackend({ weight: short, ...settings(c, stats), backend: undefined as unknown as Backend })).rejects.toThrow(/needs the backend/);
      await expect(pruneLayerOnBackend({ weight: short, ...settings(c, stats), sparsity: 1, backend: b })).rejects.toThrow(DsnotInputError);
    } finally {
      b.release(u8);
      b.release(short);
    }
  });
});

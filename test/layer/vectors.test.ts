// pruneLayer on wasm against every authors' vector: masks bit for bit, errors within 1e-5
// relative, SparseGPT weights within 1e-5 absolute, cycles equal; once with statistics computed
// from X3 by StatsAccumulator and once with the statistics the vector gives.
import { describe, expect, it } from 'vitest';
import { pruneLayer, type PruneLayerOptions } from '../../src/layer.js';
import { StatsAccumulator, type LayerStats } from '../../src/stats.js';
import { referenceStats } from '../reference/stats.js';
import { loadVector, vectorNames, type Vector } from './vectors.js';
import { expectClose, expectSameMask } from './expect.js';

async function statsFromX3(v: Vector, hessian: boolean): Promise<LayerStats> {
  const [nseq, seqlen, cols] = v.shape('X3');
  const x3 = v.f32('X3');
  const acc = await StatsAccumulator.create(cols, { hessian, device: 'wasm' });
  for (let s = 0; s < nseq; s++) acc.add(x3.subarray(s * seqlen * cols, (s + 1) * seqlen * cols));
  return acc.finish();
}

function givenStats(v: Vector): LayerStats {
  // The vectors give no H; the independent reference computes it from X3.
  const [nseq, seqlen, cols] = v.shape('X3');
  return {
    scalerRow: v.f64('scaler_row'), sumMetricRow: v.f64('sum_metric_row'), var: v.f64('var'),
    hessian: referenceStats(v.f32('X3'), nseq, seqlen, cols).hessian,
  };
}

const SOURCES = [
  ['stats from X3', (v: Vector) => statsFromX3(v, true)],
  ['given stats', async (v: Vector) => givenStats(v)],
] as const;

describe.each(vectorNames())('%s', (file) => {
  const v = loadVector(file);
  const { rows, cols, config } = v;
  const sparsity = config.prune_n ? { n: config.prune_n, m: config.prune_m } : config.sparsity;
  const base = (stats: LayerStats): Omit<PruneLayerOptions, 'init'> => ({
    weight: v.f32('W'), rows, cols, stats, sparsity, device: 'wasm',
  });

  describe.each(SOURCES)('%s', (_label, getStats) => {
    it('wanda mask', async () => {
      const out = await pruneLayer({ ...base(await getStats(v)), init: 'wanda', dsnot: false });
      expectSameMask(out.mask, v.u8('wanda_mask'), cols);
      expect(out.cycles).toBe(0);
    });

    if (v.has('magnitude_layer_mask')) {
      it('magnitude masks: per-matrix baseline and per-row', async () => {
        const stats = await getStats(v);
        const layer = await pruneLayer({ ...base(stats), init: 'magnitude', dsnot: false });
        expectSameMask(layer.mask, v.u8('magnitude_layer_mask'), cols);
        const row = await pruneLayer({ ...base(stats), init: 'magnitude', dsnot: false, magnitudeScope: 'row' });
        expectSameMask(row.mask, v.u8('magnitude_row_mask'), cols);
      });
    }

    if (v.has('dsnot_mask')) {
      it(`dsnot over ${config.initial_method}`, async () => {
        const out = await pruneLayer({
          ...base(await getStats(v)),
          init: config.initial_method,
          dsnot: {
            maxCycles: config.max_cycle_time, updateThreshold: config.update_threshold,
            powOfVarRegrowing: config.pow_of_var_regrowing, sameSign: !config.without_same_sign, guard: false,
          },
        });
        expectSameMask(out.initMask, v.u8('dsnot_init_mask'), cols);
        expectSameMask(out.mask, v.u8('dsnot_mask'), cols);
        expectClose(out.initError, v.f64('dsnot_init_err'), 1e-5);
        expectClose(out.error, v.f64('dsnot_err'), 1e-5);
        expect(out.cycles).toBe(v.int('dsnot_cycles'));
        expect(out.device).toBe('wasm');
      });
    }

    if (v.has('sparsegpt_W')) {
      it('sparsegpt unstructured and 2:4 with the weight update', async () => {
        const stats = await getStats(v);
        const un = await pruneLayer({ ...base(stats), sparsity: config.sparsity, init: 'sparsegpt', dsnot: false });
        expectSameMask(un.mask, v.u8('sparsegpt_mask'), cols);
        expectClose(un.weight, v.f64('sparsegpt_W'), 0, 1e-5);
        const nm = await pruneLayer({ ...base(stats), sparsity: { n: 2, m: 4 }, init: 'sparsegpt', dsnot: false });
        expectSameMask(nm.mask, v.u8('sparsegpt_2of4_mask'), cols);
        expectClose(nm.weight, v.f64('sparsegpt_2of4_W'), 0, 1e-5);
      });
    }
  });
});

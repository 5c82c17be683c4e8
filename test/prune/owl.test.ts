// OWL layerwise sparsity (src/pipeline/owl.ts): the ratio → sparsity mapping against numbers
// worked out by hand; the whole pipeline on the tiny random model against an independent
// reference of the outlier ratios (dense pass through every layer, tiny-model.ts) and of the
// masks at each layer's sparsity; stories260K at 70 % with Wanda (total sparsity, unequal layers).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../../src/models/config.js';
import { owlLayerSparsity, owlProfile, resolveSparsityProfile } from '../../src/pipeline/owl.js';
import { prune } from '../../src/prune.js';
import { DsnotInputError } from '../../src/validate.js';
import { expectSameMask } from '../layer/expect.js';
import { calibrationWindows, HF, readWeights, tempDir, zerosIn } from './helpers.js';
import { linearShape, referenceOutlierRatios, referencePrune, type ReferenceMethod, type Weights, randomWindows, writeTinyModel } from './tiny-model.js';

describe('the ratio → sparsity mapping', () => {
  it('equal layers: r = (D − min)/(max − min)·2λ, density r − mean(r) + 1 − S', () => {
    // r = [0, 0.16, 0.08], mean 0.08 → density [0.22, 0.38, 0.30].
    const s = owlLayerSparsity([0.01, 0.03, 0.02], [10, 10, 10], 0.7, 0.08);
    [0.78, 0.62, 0.7].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 12));
  });

  it('unequal layers: the mean is weighted by size, so the total is exactly S', () => {
    // r = [0, 0.2]; weighted mean (0·3 + 0.2·1)/4 = 0.05 → density [0.45, 0.65].
    const s = owlLayerSparsity([0, 0.1], [3, 1], 0.5, 0.1);
    expect(s[0]).toBeCloseTo(0.55, 12);
    expect(s[1]).toBeCloseTo(0.35, 12);
    expect((3 * s[0] + 1 * s[1]) / 4).toBeCloseTo(0.5, 12);
    // OWL's unweighted mean (0.1) would give [0.6, 0.4]: a total of 0.55.
    expect(s[0]).not.toBeCloseTo(0.6, 3);
  });

  it('equal ratios, or lambda 0, give the uniform profile', () => {
    expect(owlLayerSparsity([0.02, 0.02, 0.02], [1, 2, 3], 0.6, 0.08)).toEqual([0.6, 0.6, 0.6].map((x) => 1 - (1 - x)));
    for (const v of owlLayerSparsity([0.01, 0.05], [1, 1], 0.6, 0)) expect(v).toBeCloseTo(0.6, 12);
  });

  const spec = (sizes: number[]) => ({ layers: sizes.map((n) => ({ linears: [{ out: n, in: 1 }] })) }) as unknown as ModelSpec;

  it('refuses a layer sparsity outside [0, 1) (unstructured), reports only with N:M', () => {
    const p = { kind: 'owl' as const, m: 5, lambda: 0.08 };
    expect(() => owlProfile(p, [0, 1], spec([4, 4]), 0.95)).toThrow(DsnotInputError);
    expect(() => owlProfile(p, [0, 1], spec([4, 4]), 0.05)).toThrow(/outside \[0, 1\)/);
    const nm = owlProfile(p, [0, 1], spec([4, 4]), { n: 2, m: 4 });
    expect(nm.applied).toBe(false);
    expect(nm.layerSparsity[0]).toBeCloseTo(0.58, 12);
  });

  it('checks the options', () => {
    expect(resolveSparsityProfile(undefined)).toBeNull();
    expect(resolveSparsityProfile({ kind: 'owl' })).toEqual({ kind: 'owl', m: 5, lambda: 0.08 });
    for (const bad of [{ kind: 'owl', m: 0 }, { kind: 'owl', m: -1 }, { kind: 'owl', lambda: -0.1 }, { kind: 'owl', m: Number.NaN }, { kind: 'layerwise' }, 'owl']) {
      expect(() => resolveSparsityProfile(bad), JSON.stringify(bad)).toThrow(DsnotInputError);
    }
  });
});

describe('the tiny random model against the reference', () => {
  let modelDir: string;
  let weights: Weights;
  const windows = randomWindows(6, 16, 100);
  const evalWindows = randomWindows(3, 12, 200);
  // m = 2: on random weights, m = 5 leaves too few outliers to tell the layers apart.
  const M = 2;
  const LAMBDA = 0.1;
  const S = 0.5;

  beforeAll(() => {
    modelDir = tempDir('dsnot-owl-tiny-');
    weights = writeTinyModel(modelDir);
  });

  const CASES: Array<[string, ReferenceMethod, 'none' | 'dsnot']> = [
    ['wanda alone', { init: 'wanda', dsnot: false, sparsity: S, skipMlp: false }, 'none'],
    ['magnitude alone (one threshold per matrix)', { init: 'magnitude', dsnot: false, sparsity: S, skipMlp: false }, 'none'],
    ['ria + DSnoT (authors’, MLP skipped)', { init: 'ria', dsnot: true, sparsity: S, skipMlp: true }, 'dsnot'],
  ];

  it.each(CASES)('%s: the reference’s outlier ratios, layer sparsities and masks', async (_name, method, refine) => {
    const out = tempDir();
    const report = await prune({
      model: modelDir, output: out, calibration: { tokens: windows }, device: 'wasm', sparsity: S, init: method.init,
      refine, ...(refine === 'dsnot' ? { dsnot: { guard: false }, skip: ['mlp'] } : {}),
      sparsityProfile: { kind: 'owl', m: M, lambda: LAMBDA }, evaluation: { tokens: evalWindows.flat(), seqlen: 12 },
    });
    const D = referenceOutlierRatios(weights, windows, M);
    expect(D[0]).not.toBe(D[1]);
    const profile = report.sparsityProfile!;
    expect(profile).toMatchObject({ kind: 'owl', m: M, lambda: LAMBDA, applied: true });
    expect(profile.outlierRatios).toEqual(D);
    // Two layers of equal size: the one with more outliers gets S − λ, the other S + λ.
    const expected = D.map((d) => (d === Math.max(...D) ? S - LAMBDA : S + LAMBDA));
    profile.layerSparsity.forEach((s, i) => expect(s).toBeCloseTo(expected[i], 12));

    const ref = referencePrune(weights, windows, evalWindows, { ...method, layerSparsity: expected });
    const written = readWeights(join(out, 'model.safetensors'));
    for (const [name, mask] of ref.masks) {
      const layer = Number(name.split('.')[2]);
      const [rows, cols] = linearShape(name.split('.').slice(3, 5).join('.'));
      const w = written.get(name)!;
      expectSameMask(Uint8Array.from(w, (v) => (v === 0 ? 1 : 0)), mask, cols);
      const entry = report.linears.find((e) => e.weight === name)!;
      expect(entry.targetSparsity).toBe(profile.layerSparsity[layer]);
      if (method.init === 'magnitude') {
        expect(zerosIn(w)).toBeGreaterThanOrEqual(Math.floor(rows * cols * expected[layer]));
        continue;
      }
      // Per row: k = floor(cols·s_ℓ) zeros in every row.
      const k = Math.floor(cols * expected[layer]);
      for (let r = 0; r < rows; r++) expect(zerosIn(w, r * cols, (r + 1) * cols), `${name} row ${r}`).toBe(k);
    }
    expect(Math.abs(Math.log(report.perplexity!.after) - ref.nllAfter)).toBeLessThan(1e-5);
  });

  it.each([['sparsegpt'], ['wanda']] as const)('%s + exact swaps: every row holds its layer’s k', async (init) => {
    const out = tempDir();
    const report = await prune({
      model: modelDir, output: out, calibration: { tokens: windows }, device: 'wasm', sparsity: S, init, refine: 'swaps',
      sparsityProfile: { kind: 'owl', m: M, lambda: LAMBDA },
    });
    const D = referenceOutlierRatios(weights, windows, M);
    expect(report.sparsityProfile!.outlierRatios).toEqual(D);
    const written = readWeights(join(out, 'model.safetensors'));
    for (const e of report.linears) {
      const s = D[e.layer] === Math.max(...D) ? S - LAMBDA : S + LAMBDA;
      expect(e.targetSparsity).toBeCloseTo(s, 12);
      const w = written.get(e.weight)!;
      const k = Math.floor(e.cols * s);
      for (let r = 0; r < e.rows; r++) expect(zerosIn(w, r * e.cols, (r + 1) * e.cols), `${e.weight} row ${r}`).toBe(k);
    }
  });

  it('a layer sparsity outside [0, 1) stops the run with a DsnotInputError and leaves no visible file', async () => {
    const out = tempDir();
    const run = prune({
      model: modelDir, output: out, calibration: { tokens: windows }, device: 'wasm', sparsity: 0.95, refine: 'none',
      sparsityProfile: { kind: 'owl', m: M, lambda: LAMBDA },
    });
    await expect(run).rejects.toThrow(DsnotInputError);
    await expect(run).rejects.toThrow(/OWL gives layer \d a sparsity of 1\.05/);
    expect(readdirSync(out).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('with N:M, reports the profile and keeps N:M in every layer', async () => {
    const out = tempDir();
    const report = await prune({
      model: modelDir, output: out, calibration: { tokens: windows }, device: 'wasm', sparsity: { n: 2, m: 4 }, refine: 'none',
      sparsityProfile: { kind: 'owl', m: M },
    });
    expect(report.sparsityProfile).toMatchObject({ applied: false, outlierRatios: referenceOutlierRatios(weights, windows, M) });
    for (const e of report.linears) expect([e.sparsity, e.targetSparsity]).toEqual([0.5, 0.5]);
  });
});

describe('stories260K', () => {
  // Rows of 64 and 172 columns prune floor(cols·s) each: even the uniform 0.7 writes 0.6875 of
  // the 64-column rows. So the asked-for total (weighted by size) is exactly 0.7, and the
  // written zeros are exactly Σ rows·floor(cols·s_ℓ).
  it('OWL at 0.7 with Wanda: the asked-for total is 0.70, the layers differ, every row holds its layer’s k', async () => {
    const out = tempDir();
    const report = await prune({
      model: HF, output: out, calibration: { tokens: calibrationWindows(8, 64) }, device: 'wasm', sparsity: 0.7,
      init: 'wanda', refine: 'none', sparsityProfile: { kind: 'owl' },
    });
    const profile = report.sparsityProfile!;
    expect(profile).toMatchObject({ m: 5, lambda: 0.08, applied: true });
    expect(new Set(profile.layerSparsity).size).toBeGreaterThan(1);
    const written = readWeights(join(out, 'model.safetensors'));
    let asked = 0;
    let zeros = 0;
    let expectedZeros = 0;
    let total = 0;
    for (const e of report.linears) {
      const s = profile.layerSparsity[e.layer];
      expect(e.targetSparsity).toBe(s);
      const w = written.get(e.weight)!;
      asked += s * w.length;
      zeros += zerosIn(w);
      expectedZeros += e.rows * Math.floor(e.cols * s);
      total += w.length;
    }
    expect(Math.abs(asked / total - 0.7)).toBeLessThan(1e-12);
    expect(zeros).toBe(expectedZeros);
    expect(report.sparsityCheck).toBe(zeros / total);
    expect(Math.abs(zeros / total - 0.7)).toBeLessThan(1 / 64);
  }, 60_000);
});

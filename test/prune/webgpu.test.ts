// The pipeline on WebGPU gives the masks it gives on wasm: the forward passes, statistics and
// pruning kernels all run on the GPU (SparseGPT on wasm, and the report says so). CI runs this
// on SwiftShader (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json NODEVICE_SELECT=1),
// where every dispatch is slow: few, short calibration windows. Fails, not skips, without WebGPU.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prune, type PruneOptions } from '../../src/prune.js';
import { calibrationWindows, HF, readWeights, tempDir } from './helpers.js';
import { randomWindows, writeTinyModel } from './tiny-model.js';

/** Prunes on both devices; returns both outputs' weights and reports. */
async function both(options: Omit<PruneOptions, 'output' | 'device'>) {
  const run = async (device: 'wasm' | 'webgpu') => {
    const out = tempDir();
    const report = await prune({ ...options, output: out, device });
    return { report, weights: readWeights(join(out, 'model.safetensors')) };
  };
  return { wasm: await run('wasm'), gpu: await run('webgpu') };
}

function expectSameMasks(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  let linears = 0;
  for (const [name, w] of a) {
    if (!name.endsWith('_proj.weight')) continue;
    linears++;
    const v = b.get(name)!;
    const differ = w.reduce((n, x, i) => n + ((x === 0) !== (v[i] === 0) ? 1 : 0), 0);
    expect(differ, `${name}: entries pruned on one device only`).toBe(0);
  }
  expect(linears).toBeGreaterThan(0);
}

describe('stories260K on WebGPU', () => {
  it('wanda + DSnoT at 50 %: the masks of wasm, every kernel on the GPU', async () => {
    const { wasm, gpu } = await both({ model: HF, calibration: { tokens: calibrationWindows(2, 32) }, dsnot: { guard: false } });
    expect(gpu.report.device).toBe('webgpu');
    expect(new Set(gpu.report.linears.map((e) => e.device))).toEqual(new Set(['webgpu']));
    expectSameMasks(wasm.weights, gpu.weights);
    // A mask only: the written files are identical.
    for (const [name, w] of wasm.weights) expect(gpu.weights.get(name), name).toEqual(w);
    expect(gpu.report.linears.map((e) => e.cycles)).toEqual(wasm.report.linears.map((e) => e.cycles));
  }, 300_000);
});

describe('a tiny random model on WebGPU', () => {
  let model: string;
  const windows = randomWindows(3, 12, 50);
  beforeAll(() => {
    model = tempDir('dsnot-tiny-');
    writeTinyModel(model);
  });

  it('SparseGPT metric + DSnoT at 2:4, nothing skipped: the masks of wasm', async () => {
    const { wasm, gpu } = await both({ model, calibration: { tokens: windows }, init: 'sparsegpt', sparsity: { n: 2, m: 4 }, skip: 'none', dsnot: { guard: false } });
    expectSameMasks(wasm.weights, gpu.weights);
    expect(new Set(gpu.report.linears.map((e) => e.device))).toEqual(new Set(['webgpu']));
  }, 300_000);

  it('OWL (m 2) with wanda at 50 %: the profile pass runs on the GPU and gives wasm’s outlier ratios and masks', async () => {
    const { wasm, gpu } = await both({ model, calibration: { tokens: windows }, refine: 'none', sparsityProfile: { kind: 'owl', m: 2, lambda: 0.1 } });
    expect(gpu.report.sparsityProfile).toEqual(wasm.report.sparsityProfile);
    expect(new Set(wasm.report.sparsityProfile!.layerSparsity).size).toBe(2);
    expectSameMasks(wasm.weights, gpu.weights);
  }, 300_000);

  it('the defaults (exact swaps) and the guarded DSnoT at 2:4: lent to wasm inside a WebGPU run, the masks of wasm, no linear worse', async () => {
    for (const options of [{}, { refine: 'dsnot' as const, sparsity: { n: 2, m: 4 }, skip: 'none' as const, dsnot: { updateThreshold: 0 } }]) {
      const { wasm, gpu } = await both({ model, calibration: { tokens: windows }, ...options });
      expect(gpu.report.device).toBe('webgpu');
      expect(new Set(gpu.report.linears.map((e) => e.device))).toEqual(new Set(['wasm']));
      expectSameMasks(wasm.weights, gpu.weights);
      for (const e of gpu.report.linears) expect(e.reconstructionError.final, e.weight).toBeLessThanOrEqual(e.reconstructionError.initial);
      expect(gpu.report.totals.swaps + gpu.report.totals.cycles).toBeGreaterThan(0);
    }
  }, 300_000);

  it('SparseGPT alone at 60 %: runs on wasm inside a WebGPU run and says so', async () => {
    const { wasm, gpu } = await both({ model, calibration: { tokens: windows }, init: 'sparsegpt', dsnot: false, sparsity: 0.6 });
    expect(gpu.report.device).toBe('webgpu');
    expect(new Set(gpu.report.linears.map((e) => e.device))).toEqual(new Set(['wasm']));
    expectSameMasks(wasm.weights, gpu.weights);
    // Updated weights: the same up to the forward passes' rounding on the two devices.
    for (const [name, w] of wasm.weights) {
      const v = gpu.weights.get(name)!;
      for (let i = 0; i < w.length; i++) expect(Math.abs(v[i] - w[i]), name).toBeLessThan(1e-4);
    }
  }, 300_000);
});

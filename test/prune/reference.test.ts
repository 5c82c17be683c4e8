// prune() against an independent straightforward implementation of the authors' loop
// (tiny-model.ts: f64 forward, dense-pass statistics, reference masks, pruned pass) on a tiny
// random llama model with grouped-query attention: the same mask for every linear of every
// layer (so layer 1 was calibrated on the pruned layer 0's outputs, and o/down on the dense
// q/k/v and gate/up outputs), and the same perplexity before and after.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/perplexity.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { prune } from '../../src/prune.js';
import { expectSameMask } from '../layer/expect.js';
import { readWeights, tempDir } from './helpers.js';
import { linearShape, referencePrune, type ReferenceMethod, type Weights, randomWindows, writeTinyModel } from './tiny-model.js';

let modelDir: string;
let weights: Weights;
const windows = randomWindows(6, 16, 100);
const evalWindows = randomWindows(3, 12, 200);

beforeAll(() => {
  modelDir = tempDir('dsnot-tiny-');
  weights = writeTinyModel(modelDir);
});

const CASES: Array<[string, ReferenceMethod]> = [
  ['wanda + DSnoT 0.5, MLP skipped (the defaults)', { init: 'wanda', dsnot: true, sparsity: 0.5, skipMlp: true }],
  ['wanda + DSnoT 2:4, nothing skipped', { init: 'wanda', dsnot: true, sparsity: { n: 2, m: 4 }, skipMlp: false }],
  ['magnitude baseline 0.6 (one threshold per matrix)', { init: 'magnitude', dsnot: false, sparsity: 0.6, skipMlp: false }],
  ['magnitude + DSnoT 0.6 (per-row initial mask)', { init: 'magnitude', dsnot: true, sparsity: 0.6, skipMlp: true }],
  ['SparseGPT metric + DSnoT 0.5, MLP skipped', { init: 'sparsegpt', dsnot: true, sparsity: 0.5, skipMlp: true }],
  ['RIA 0.6 alone (per row, not the authors\' per-matrix threshold)', { init: 'ria', dsnot: false, sparsity: 0.6, skipMlp: false }],
  ['RIA + DSnoT 2:4, MLP skipped', { init: 'ria', dsnot: true, sparsity: { n: 2, m: 4 }, skipMlp: true }],
];

describe.each(CASES)('%s', (_name, method) => {
  it('gives the reference loop’s masks and perplexities', async () => {
    const out = tempDir();
    const report = await prune({
      model: modelDir, output: out, calibration: { tokens: windows }, device: 'wasm',
      sparsity: method.sparsity, init: method.init, dsnot: method.dsnot ? { guard: false } : false, skip: method.skipMlp ? ['mlp'] : 'none',
      evaluation: { tokens: evalWindows.flat(), seqlen: 12 },
    });
    expect(report.init).toBe(method.init);
    const ref = referencePrune(weights, windows, evalWindows, method);
    const written = readWeights(join(out, 'model.safetensors'));
    for (const [name, mask] of ref.masks) {
      const w = written.get(name)!;
      const [, cols] = linearShape(name.split('.').slice(3, 5).join('.'));
      expectSameMask(Uint8Array.from(w, (v) => (v === 0 ? 1 : 0)), mask, cols);
    }
    const ppl = report.perplexity!;
    expect(Math.abs(Math.log(ppl.before) - ref.nllBefore)).toBeLessThan(1e-5);
    expect(Math.abs(Math.log(ppl.after) - ref.nllAfter)).toBeLessThan(1e-5);
    expect(ppl.after).not.toBeCloseTo(ppl.before, 3);
  });
});

describe('an F16 model', () => {
  let f16Dir: string;
  beforeAll(() => {
    f16Dir = tempDir('dsnot-tiny16-');
    writeTinyModel(f16Dir, 7, 'F16');
  });

  it('stays F16; SparseGPT’s updated weights are rounded to F16 before the pruned pass', async () => {
    const out = tempDir();
    const evalTokens = evalWindows.flat();
    const report = await prune({
      model: f16Dir, output: out, calibration: { tokens: windows }, device: 'wasm', init: 'sparsegpt', dsnot: false, sparsity: 0.5,
      evaluation: { tokens: evalTokens, seqlen: 12 },
    });
    const file = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(new Set(file.header.tensors.map((t) => t.dtype))).toEqual(new Set(['F16']));
    // The written model scores exactly what the run computed: the pruned pass used the F16 values.
    const again = await evaluate({ model: out, tokens: evalTokens, seqlen: 12, device: 'wasm' });
    expect(again.perplexity).toBe(report.perplexity!.after);
  });

  it('a mask-only method writes every kept weight’s F16 bytes unchanged', async () => {
    const out = tempDir();
    await prune({ model: f16Dir, output: out, calibration: { tokens: windows }, device: 'wasm' });
    const before = decodeSafetensors(new Uint8Array(readFileSync(join(f16Dir, 'model.safetensors'))));
    const after = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    for (const t of before.header.tensors) {
      const a = new Uint16Array(before.tensor(t.name).slice().buffer);
      const b = new Uint16Array(after.tensor(t.name).slice().buffer);
      let changed = 0;
      for (let i = 0; i < a.length; i++) if (b[i] !== 0 && b[i] !== a[i]) changed++;
      expect(changed, t.name).toBe(0);
      if (!t.name.endsWith('_proj.weight')) expect(b).toEqual(a);
    }
  });
});

// Bad input to prune(): each case ends in one typed error naming the problem, before anything
// is written to the output folder.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CalibrationError } from '../../src/calib/data.js';
import { SourceError } from '../../src/io/errors.js';
import { prune, type PruneOptions } from '../../src/prune.js';
import { DsnotInputError } from '../../src/validate.js';
import { calibrationWindows, HF, tempDir } from './helpers.js';

const windows = calibrationWindows(2, 16);

const CASES: Array<[string, Partial<PruneOptions> & Record<string, unknown>, RegExp, new (...a: never[]) => Error]> = [
  ['sparsity 1', { sparsity: 1 }, /sparsity must be in \[0, 1\)/, DsnotInputError],
  ['sparsity -0.1', { sparsity: -0.1 }, /sparsity must be in \[0, 1\)/, DsnotInputError],
  ['N:M with n ≥ m', { sparsity: { n: 4, m: 4 } }, /1 ≤ n < m/, DsnotInputError],
  ['N:M that does not divide the columns', { sparsity: { n: 2, m: 3 } }, /m does not divide the 64 columns/, DsnotInputError],
  ['unknown init', { init: 'random' as never }, /init must be/, DsnotInputError],
  ['unknown DSnoT option', { dsnot: { cycles: 3 } as never }, /dsnot: unknown option 'cycles'/, DsnotInputError],
  ['negative max cycles', { dsnot: { maxCycles: -1 } }, /maxCycles must be a non-negative integer/, DsnotInputError],
  ['skip entry matching nothing', { skip: ['mpl'] }, /skip entry 'mpl' matches no linear/, DsnotInputError],
  ["'none' mixed into skip", { skip: ['none', 'mlp'] }, /'none' cannot be combined/, DsnotInputError],
  ['unknown device', { device: 'tpu' as never }, /device must be 'auto', 'wasm' or 'webgpu'/, DsnotInputError],
  ['nsamples 0', { nsamples: 0 }, /nsamples must be a positive integer/, DsnotInputError],
  ['seqlen beyond the model', { seqlen: 1024, calibration: { text: 'once upon a time' } }, /seqlen 1024 exceeds the model's 512 positions/, DsnotInputError],
  ['fractional seed', { seed: 0.5 }, /seed must be an integer/, DsnotInputError],
  ['no calibration', { calibration: undefined }, /calibration data is required/, CalibrationError],
  ['missing calibration file', { calibration: '/nonexistent/calib.txt' }, /cannot read calibration file/, CalibrationError],
  ['token id outside the vocabulary', { calibration: { tokens: [[1, 2, 512]] } }, /token id 512 is outside the vocabulary/, CalibrationError],
  ['calibration window longer than the model', { calibration: { tokens: [Array(513).fill(1)] } }, /513 tokens; the model has 512 positions/, CalibrationError],
  ['empty token windows', { calibration: { tokens: [] } }, /non-empty JSON array/, CalibrationError],
  ['text shorter than a window', { calibration: { text: 'once upon a time' }, seqlen: 64 }, /not more than seqlen = 64/, CalibrationError],
  ['evaluation with text and tokens', { evaluation: { text: 'a', tokens: [1, 2] } }, /exactly one of text or tokens/, DsnotInputError],
  ['missing model', { model: '/nonexistent/model' }, /cannot open model path/, SourceError],
];

describe('prune() refuses bad input before writing anything', () => {
  it.each(CASES)('%s', async (_name, patch, message, type) => {
    const out = join(tempDir(), 'out');
    const options = { model: HF, output: out, calibration: { tokens: windows }, device: 'wasm', ...patch } as PruneOptions;
    const run = prune(options);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toBeInstanceOf(type);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a missing output', async () => {
    await expect(prune({ model: HF, calibration: { tokens: windows } } as PruneOptions)).rejects.toThrow(/output is required/);
  });
});

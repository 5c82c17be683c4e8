// A whole prune() of the bundled stories260K on 1 and on 2 threads writes byte-identical models
// (the split sizes shrunk so that its small linears and GEMMs really go to the worker), and the
// report says how many threads ran.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prune, type PruneReport } from '../../src/prune.js';
import { calibrationWindows, HF, tempDir } from '../prune/helpers.js';
import { smallChunks } from '../support/small-chunks.js';

smallChunks();

async function pruneWith(threads: number, refine: 'swaps' | 'dsnot'): Promise<{ report: PruneReport; model: Buffer }> {
  const output = tempDir('dsnot-threads-');
  const report = await prune({
    model: HF, output, calibration: { tokens: calibrationWindows(4, 64) }, sparsity: 0.5, init: 'wanda',
    refine, ...(refine === 'dsnot' ? { dsnot: { guard: false } } : {}), device: 'wasm', threads,
  });
  return { report, model: readFileSync(join(output, 'model.safetensors')) };
}

describe('prune() on threads', () => {
  for (const refine of ['swaps', 'dsnot'] as const) {
    it(`stories260K, Wanda + ${refine}: 1 and 2 threads write the same bytes`, async () => {
      const one = await pruneWith(1, refine);
      const two = await pruneWith(2, refine);
      expect(one.report.threads).toBe(1);
      expect(two.report.threads).toBe(2);
      expect(two.report.threadsNote).toBeNull();
      expect(Buffer.compare(one.model, two.model)).toBe(0);
      const strip = (r: PruneReport) => r.linears.map(({ ms: _ms, ...rest }) => rest);
      expect(strip(two.report)).toEqual(strip(one.report));
      expect(one.report.totals.zeros).toBeGreaterThan(0);
    });
  }
});

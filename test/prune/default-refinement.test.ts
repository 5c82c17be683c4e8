// The package's default (Wanda's mask refined by exact swaps, every linear) against the mask it
// starts from, on the real stories260K with held-out text: never a linear whose true error rises,
// and a lower perplexity than Wanda alone at 50 %, 60 %, 70 % and 2:4 (README, "Defaults").
// Calibration: 32 windows of 128 tokens from the text's first half; evaluation: 2048 tokens of
// its second half (never seen by calibration).
import { describe, expect, it } from 'vitest';
import { prune, type PruneReport } from '../../src/prune.js';
import { calibrationWindows, evaluationIds, HF, tempDir } from './helpers.js';

const SPARSITIES: Array<number | { n: number; m: number }> = [0.5, 0.6, 0.7, { n: 2, m: 4 }];

async function run(sparsity: number | { n: number; m: number }, refine?: 'none'): Promise<PruneReport> {
  return prune({
    model: HF, output: tempDir(), calibration: { tokens: calibrationWindows(32, 128) }, sparsity, device: 'wasm',
    ...(refine ? { refine } : {}), evaluation: { tokens: evaluationIds(2048), seqlen: 128 },
  });
}

describe.each(SPARSITIES)('stories260K at sparsity %o', (sparsity) => {
  it('the default refinement lowers every linear’s true error and the perplexity of Wanda’s mask', async () => {
    const wanda = await run(sparsity, 'none');
    const refined = await run(sparsity);
    expect(refined.method).toBe('wanda+swaps');
    // The same initial masks: the default starts where Wanda alone ends (layer 0 sees the same
    // inputs in both runs; later layers see their own run's pruned activations).
    const first = (r: PruneReport) => r.linears.filter((e) => e.layer === 0);
    expect(first(refined).map((e) => e.reconstructionError.initial)).toEqual(first(wanda).map((e) => e.reconstructionError.final));
    for (const e of refined.linears) expect(e.reconstructionError.final, e.weight).toBeLessThanOrEqual(e.reconstructionError.initial);
    expect(refined.totals.reconstructionError.final).toBeLessThan(0.8 * wanda.totals.reconstructionError.final);
    expect(refined.perplexity!.after).toBeLessThan(wanda.perplexity!.after);
    expect(refined.sparsityCheck).toBe(wanda.sparsityCheck);
  });
});

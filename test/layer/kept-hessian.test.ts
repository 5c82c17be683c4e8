// H kept where it was accumulated (StatsAccumulator.finish({ keepHessian: true })): the same
// values, bit for bit, as the host H of finish(); pruneLayer given it gives pruneLayer's results
// with the host H for every refinement that reads H; misuse is refused by name; and a whole
// prune() gives every kept H back (the wasm backend's live bytes end where they started).
import { describe, expect, it } from 'vitest';
import { acquireBackend } from '../../src/backends/select.js';
import type { WasmBackend } from '../../src/backends/wasm/index.js';
import { pruneLayer, type LayerSettings } from '../../src/layer.js';
import { prune } from '../../src/prune.js';
import { StatsAccumulator, type LayerStats } from '../../src/stats.js';
import { calibrationWindows, HF, tempDir } from '../prune/helpers.js';
import { normal, rng } from '../support/random.js';

const ROWS = 24;
const COLS = 68; // a multiple of 4 for 2:4, not of 8 (the kernels' tails run)

async function twoWays(threads: number): Promise<{ host: LayerStats; kept: LayerStats }> {
  const next = rng(900 + threads);
  const seqs = [40, 33, 51].map((t) => Float32Array.from({ length: t * COLS }, () => normal(next)));
  const made: LayerStats[] = [];
  for (const keepHessian of [false, true]) {
    const acc = await StatsAccumulator.create(COLS, { hessian: true, device: 'wasm', threads });
    for (const x of seqs) acc.add(x);
    made.push(await acc.finish({ keepHessian }));
  }
  return { host: made[0], kept: made[1] };
}

const weight = (() => {
  const next = rng(77);
  return Float32Array.from({ length: ROWS * COLS }, () => normal(next));
})();

const methods: Array<[string, Pick<LayerSettings, 'init' | 'refine' | 'dsnot' | 'sparsity'>]> = [
  ['wanda + exact swaps', { init: 'wanda', refine: 'swaps', sparsity: 0.5 }],
  ['wanda + swaps at 2:4', { init: 'wanda', refine: 'swaps', sparsity: { n: 2, m: 4 } }],
  ['wanda + guarded DSnoT', { init: 'wanda', refine: 'dsnot', dsnot: { guard: true }, sparsity: 0.6 }],
  ['the authors\' DSnoT (true errors only)', { init: 'wanda', refine: 'dsnot', dsnot: { guard: false }, sparsity: 0.5 }],
  ['SparseGPT metric + swaps', { init: 'sparsegpt', refine: 'swaps', sparsity: 0.5 }],
  ['SparseGPT with its weight update', { init: 'sparsegpt', refine: 'none', sparsity: 0.5 }],
];

describe('H kept on the wasm backend', () => {
  for (const threads of [1, 2]) {
    it(`${threads} thread(s): the same H bit for bit, the same statistics, and pruneLayer's results with either`, async () => {
      const { host, kept } = await twoWays(threads);
      expect(kept.hessian).toBeNull();
      const view = kept.hessianOnBackend!.view();
      expect(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).toEqual(new Uint8Array(host.hessian!.buffer as ArrayBuffer));
      expect(kept.scalerRow).toEqual(host.scalerRow);
      expect(kept.var).toEqual(host.var);
      const backend = (await acquireBackend('wasm', { threads })) as WasmBackend;
      for (const [, m] of methods) {
        const a = await pruneLayer({ weight: weight.slice(), rows: ROWS, cols: COLS, stats: host, ...m, device: 'wasm', threads });
        const live = backend.footprint.live;
        const b = await pruneLayer({ weight: weight.slice(), rows: ROWS, cols: COLS, stats: kept, ...m, device: 'wasm', threads });
        expect(backend.footprint.live).toBe(live); // nothing left behind by reading H in place
        expect(b.mask).toEqual(a.mask);
        expect(b.weight).toEqual(a.weight);
        expect(b.trueError).toEqual(a.trueError);
        expect(b.swaps).toBe(a.swaps);
        expect(a.trueError!.final.some((x) => x > 0)).toBe(true);
      }
      const live = backend.footprint.live;
      kept.hessianOnBackend!.free();
      expect(backend.footprint.live).toBe(live - 8 * COLS * COLS);
      kept.hessianOnBackend!.free(); // again: nothing
      expect(backend.footprint.live).toBe(live - 8 * COLS * COLS);
    });
  }

  it('refuses a freed H, H given twice, and an H of another width, by name', async () => {
    const { host, kept } = await twoWays(1);
    const base = { weight, rows: ROWS, cols: COLS, init: 'wanda' as const, sparsity: 0.5, device: 'wasm' as const };
    await expect(pruneLayer({ ...base, stats: { ...kept, hessian: host.hessian } })).rejects.toThrow('stats has both hessian and hessianOnBackend: give one');
    const narrow = { ...kept, hessianOnBackend: { ...kept.hessianOnBackend!, cols: COLS - 1, view: () => kept.hessianOnBackend!.view(), free: () => {} } };
    await expect(pruneLayer({ ...base, stats: narrow })).rejects.toThrow(`stats.hessianOnBackend is ${COLS - 1} × ${COLS - 1}; cols = ${COLS}`);
    kept.hessianOnBackend!.free();
    await expect(pruneLayer({ ...base, stats: kept })).rejects.toThrow('stats.hessianOnBackend was freed (hessianOnBackend.free()) before this pruneLayer');
  });

  it('a whole prune() of stories260K gives back every H it kept', async () => {
    const backend = (await acquireBackend('wasm', { threads: 1 })) as WasmBackend;
    const run = () => prune({
      model: HF, output: tempDir('dsnot-kept-h-'), calibration: { tokens: calibrationWindows(2, 32) }, sparsity: 0.5, device: 'wasm', threads: 1,
    });
    await run(); // the first run may leave the backend's small caches behind (128 bytes)
    const live = backend.footprint.live;
    const report = await run();
    expect(report.linears.every((l) => l.reconstructionError!.final <= l.reconstructionError!.initial)).toBe(true);
    expect(backend.footprint.live).toBe(live);
  });
});

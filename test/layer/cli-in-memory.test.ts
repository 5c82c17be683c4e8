// `dsnot layer` on wasm reads W straight into wasm memory, prunes it there in place with the masks
// beside it (pruneLayerOnBackend, the fused metric + selection where no step needs the whole
// metric) and writes OUT from views of that memory. OUT must hold exactly what the command wrote
// before: pruneLayer's results on a host copy of W through the whole-matrix metric (the backend
// below without metricSelect), bit for bit, for every init × refine × sparsity kind, on 1 and 2
// threads (the chunks shrunk so that small layers really spread over the worker), plus two
// layers at the default chunk sizes. --device webgpu still takes the host copy.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { acquireBackend } from '../../src/backends/select.js';
import { run } from '../../src/cli/layer.js';
import { decodeSafetensors, encodeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { pruneLayer, type InitMethod, type PruneLayerResult, type RefineMethod } from '../../src/layer.js';
import { referenceStats } from '../reference/stats.js';
import { smallChunks } from '../support/small-chunks.js';
import { tempDir } from '../support/temp-dir.js';
import { randomLayer } from './random.js';

interface Case {
  rows: number;
  cols: number;
  init: InitMethod;
  refine: RefineMethod;
  /** DSnoT's guard (refine 'dsnot' only). */
  guard?: boolean;
  sparsity: string;
  /** IN carries H (every method that needs the true error, and some that only report it). */
  withH: boolean;
}

let dir: string;
beforeEach(() => {
  dir = tempDir('dsnot-layer-mem-');
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

/** IN: W and the statistics as F64 (both sides then prune with the very same numbers). */
function inputFile(c: Case, seed: number): { path: string; weight: Float32Array; stats: ReturnType<typeof referenceStats> } {
  const l = randomLayer(seed, c.rows, c.cols, { grid: seed % 2 ? 64 : 0 }); // odd seeds: many exact ties
  const stats = referenceStats(l.x3, l.nseq, l.seqlen, c.cols, c.withH);
  const tensors: TensorToWrite[] = [
    { name: 'W', dtype: 'F32', shape: [c.rows, c.cols], data: l.weight },
    { name: 'scaler_row', dtype: 'F64', shape: [c.cols], data: stats.scalerRow },
    { name: 'sum_metric_row', dtype: 'F64', shape: [c.cols], data: stats.sumMetricRow },
    { name: 'var', dtype: 'F64', shape: [c.cols], data: stats.var },
    ...(c.withH ? [{ name: 'H', dtype: 'F64' as const, shape: [c.cols, c.cols], data: stats.hessian! }] : []),
  ];
  const path = join(dir, `in-${seed}.safetensors`);
  writeFileSync(path, encodeSafetensors(tensors));
  return { path, weight: l.weight, stats };
}

function argv(c: Case, inPath: string, outPath: string, threads: number): string[] {
  const refine = c.refine === 'dsnot' && c.guard === false ? ['--refine', 'dsnot', '--no-guard'] : ['--refine', c.refine];
  return ['--in', inPath, '--out', outPath, '--init', c.init, ...refine, '--sparsity', c.sparsity, '--device', 'wasm', '--threads', String(threads)];
}

/** pruneLayer through the whole-matrix metric: the same wasm backend without its fused kernel. */
async function wholeMetricReference(c: Case, weight: Float32Array, stats: ReturnType<typeof referenceStats>, threads: number): Promise<PruneLayerResult> {
  const wasm = await acquireBackend('wasm', { threads });
  const backend: Backend = { ...wasm, metricSelect: undefined };
  const [n, m] = c.sparsity.split(':').map(Number);
  const sparsity = m ? { n, m } : n;
  const dsnot = c.refine === 'dsnot' ? { guard: c.guard ?? true } : undefined;
  return pruneLayer({
    weight, rows: c.rows, cols: c.cols, sparsity, init: c.init, refine: c.refine, ...(dsnot ? { dsnot } : {}),
    stats: { ...stats, hessian: c.withH ? stats.hessian : null }, backend, threads,
  });
}

function expectSameBytes(got: Uint8Array, want: ArrayBufferView, name: string): void {
  const w = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  expect(got.length, name).toBe(w.length);
  const at = got.findIndex((x, i) => x !== w[i]);
  expect(at, `${name}: first different byte`).toBe(-1);
}

/** Runs the command and checks every tensor of OUT against the reference, byte for byte. */
async function expectSameAsReference(c: Case, seed: number, threads: number): Promise<void> {
  const { path, weight, stats } = inputFile(c, seed);
  const out = join(dir, 'out.safetensors');
  const wasm = await acquireBackend('wasm', { threads });
  const views = vi.spyOn(wasm, 'hostView');
  expect(await run(argv(c, path, out, threads))).toBe(0);
  // The command took the path through wasm memory (W read into it, OUT written from it).
  expect(views).toHaveBeenCalled();
  views.mockRestore();
  const want = await wholeMetricReference(c, weight, stats, threads);
  const file = decodeSafetensors(new Uint8Array(readFileSync(out)));
  const expected: Array<[string, ArrayBufferView]> = [
    ['mask', want.mask], ['init_mask', want.initMask], ['weight', want.weight],
    ['err', want.error], ['init_err', want.initError], ['cycles', Int32Array.of(want.cycles)],
  ];
  if (want.trueError) {
    expected.push(['true_err', want.trueError.final], ['init_true_err', want.trueError.initial], ['swaps', Int32Array.of(want.swaps)]);
  }
  expect(file.header.tensors.map((t) => t.name)).toEqual(expected.map(([name]) => name));
  for (const [name, data] of expected) expectSameBytes(file.tensor(name), data, name);
  expect(file.header.metadata.device).toBe('wasm');
  expect(file.header.metadata.threads).toBe(String(threads));
}

const INITS: InitMethod[] = ['magnitude', 'wanda', 'ria', 'sparsegpt'];
const REFINES: Array<Pick<Case, 'refine' | 'guard'>> = [
  { refine: 'none' }, { refine: 'dsnot', guard: false }, { refine: 'dsnot', guard: true }, { refine: 'swaps' },
];
const TABLE: Case[] = INITS.flatMap((init) => REFINES.flatMap((r) => ['0.5', '2:4'].map((sparsity) => ({
  rows: 70, cols: 132, init, ...r, sparsity,
  // H where a step needs it; the authors' DSnoT and plain masks also without (no true errors).
  withH: init === 'sparsegpt' || r.refine === 'swaps' || r.guard === true || sparsity === '2:4',
}))));

describe('dsnot layer through wasm memory equals pruneLayer with the whole metric', () => {
  smallChunks();

  for (const threads of [1, 2]) {
    it.each(TABLE.map((c, i) => [`${c.init} ${c.refine}${c.guard === false ? ' --no-guard' : ''} ${c.sparsity}`, c, i] as const))(
      `%s, ${threads} thread(s)`, async (_name, c, i) => {
        await expectSameAsReference(c, 100 + i, threads);
      });
  }
});

describe('dsnot layer through wasm memory at the default chunk sizes', () => {
  it.each([1, 2])('Wanda + the authors\' DSnoT (the measured case) and RIA 2:4 alone, 1040 × 1024, %i thread(s)', async (threads) => {
    await expectSameAsReference({ rows: 1040, cols: 1024, init: 'wanda', refine: 'dsnot', guard: false, sparsity: '0.5', withH: false }, 7, threads);
    await expectSameAsReference({ rows: 1040, cols: 1024, init: 'ria', refine: 'none', sparsity: '2:4', withH: false }, 8, threads);
  });
});

describe('dsnot layer --device webgpu', () => {
  it('prunes a host copy on WebGPU as before (SwiftShader in CI): the masks of wasm, the device named', async () => {
    const c: Case = { rows: 24, cols: 64, init: 'wanda', refine: 'dsnot', guard: false, sparsity: '0.5', withH: false };
    const { path, weight, stats } = inputFile(c, 9);
    const out = join(dir, 'gpu.safetensors');
    expect(await run([...argv(c, path, out, 1).slice(0, -4), '--device', 'webgpu'])).toBe(0);
    const file = decodeSafetensors(new Uint8Array(readFileSync(out)));
    expect(file.header.metadata.device).toBe('webgpu');
    const want = await wholeMetricReference(c, weight, stats, 1);
    for (const [name, data] of [['mask', want.mask], ['init_mask', want.initMask], ['weight', want.weight]] as const) {
      expectSameBytes(file.tensor(name), data, name);
    }
  });
});

describe('dsnot layer through wasm memory refuses', () => {
  it('a W with a NaN, named as pruneLayer names it, and writes no OUT', async () => {
    const c: Case = { rows: 8, cols: 16, init: 'wanda', refine: 'dsnot', guard: false, sparsity: '0.5', withH: false };
    const l = randomLayer(3, c.rows, c.cols);
    l.weight[3 * c.cols + 5] = NaN;
    const stats = referenceStats(l.x3, l.nseq, l.seqlen, c.cols, false);
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, encodeSafetensors([
      { name: 'W', dtype: 'F32', shape: [c.rows, c.cols], data: l.weight },
      ...(['scalerRow', 'sumMetricRow', 'var'] as const).map((k, i) => ({ name: ['scaler_row', 'sum_metric_row', 'var'][i], dtype: 'F64' as const, shape: [c.cols], data: stats[k] })),
    ]));
    const out = join(dir, 'nan-out.safetensors');
    await expect(run(argv(c, path, out, 1))).rejects.toThrow(/weight\[3, 5\] is NaN: weights must be finite/);
    expect(existsSync(out)).toBe(false);
  });
});

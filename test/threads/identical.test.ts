// wasm threads give bit-identical results for every thread count: the same random layers through
// GEMM, the attention, the statistics with the Gram matrix, every initial mask, the selections, every refinement
// and SparseGPT's weight update on 1, 2 and 3 threads. The split sizes are shrunk so that these small layers are cut
// into many chunks and really go to the workers (the pool's run is counted).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { ThreadPool, tuning } from '../../src/backends/wasm/threads.js';
import { pruneLayer, type InitMethod, type PruneLayerOptions, type PruneLayerResult } from '../../src/layer.js';
import { StatsAccumulator, type LayerStats } from '../../src/stats.js';
import { rng } from '../support/random.js';
import { randomLayer } from '../layer/random.js';

const COUNTS = [1, 2, 3];
let backends: Backend[] = [];
const saved = { ...tuning };

beforeAll(async () => {
  backends = await Promise.all(COUNTS.map((threads) => createWasmBackend({ threads })));
});

afterAll(() => {
  Object.assign(tuning, saved);
  for (const b of backends) b.dispose();
});

/** Byte-exact equality of typed arrays (NaN payloads and −0 included). */
function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function expectIdentical(a: ArrayBufferView, b: ArrayBufferView, what: string): void {
  const x = bytesOf(a);
  const y = bytesOf(b);
  expect(y.length, what).toBe(x.length);
  const at = x.findIndex((v, i) => v !== y[i]);
  expect(at, `${what}: first differing byte`).toBe(-1);
}

const SMALL = { parallelWork: 0, chunkWeights: 256 };

/**
 * fn first on one thread in one piece (the default split sizes: these layers are one chunk), then
 * on every backend cut into many chunks; the pool must have been used by the multi-thread ones.
 * Comparing all with the first catches a wrong chunk boundary as well as a thread's mistake.
 */
async function onEach<T>(fn: (b: Backend) => Promise<T>): Promise<T[]> {
  Object.assign(tuning, saved);
  const out: T[] = [await fn(backends[0])];
  Object.assign(tuning, SMALL);
  for (const b of backends) {
    const run = vi.spyOn(ThreadPool.prototype, 'run');
    out.push(await fn(b));
    if (b.threads > 1) expect(run, `threads ${b.threads} used the pool`).toHaveBeenCalled();
    run.mockRestore();
  }
  expect(backends.map((b) => b.threads)).toEqual(COUNTS);
  return out;
}

function uniform(seed: number, n: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1 || 0.5); // never exactly 0
}

describe('wasm threads: identical results on 1, 2 and 3 threads', () => {
  it('GEMM (odd sizes, K not a multiple of 4, with and without bias)', async () => {
    const [T, K, N] = [37, 130, 101];
    const x = uniform(1, T * K);
    const w = uniform(2, N * K);
    const bias = uniform(3, N);
    for (const withBias of [false, true]) {
      const ys = await onEach(async (b) => {
        const [X, W, B, Y] = [b.upload('f32', x), b.upload('f32', w), b.upload('f32', bias), b.upload('f32', new Float32Array(T * N).fill(NaN))];
        b.gemm(X, W, withBias ? B : null, Y, T, K, N);
        const y = (await b.read(Y)) as Float32Array;
        for (const t of [X, W, B, Y]) b.release(t);
        return y;
      });
      expect(ys[0].every(Number.isFinite)).toBe(true);
      for (const y of ys.slice(1)) expectIdentical(ys[0], y, `gemm bias=${withBias}`);
    }
  });

  it('attention (grouped-query heads, a sliding window, soft-capping)', async () => {
    const [T, heads, kvHeads, headDim] = [41, 6, 2, 12];
    const q = uniform(4, T * heads * headDim);
    const k = uniform(5, T * kvHeads * headDim);
    const v = uniform(6, T * kvHeads * headDim);
    for (const shape of [{ window: 0 }, { window: 9, softcap: 2.5 }]) {
      const outs = await onEach(async (b) => {
        const [Q, K, V, O] = [b.upload('f32', q), b.upload('f32', k), b.upload('f32', v), b.upload('f32', new Float32Array(T * heads * headDim).fill(NaN))];
        b.attention(Q, K, V, O, { tokens: T, heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim), ...shape });
        const o = (await b.read(O)) as Float32Array;
        for (const t of [Q, K, V, O]) b.release(t);
        return o;
      });
      expect(outs[0].every(Number.isFinite)).toBe(true);
      for (const o of outs.slice(1)) expectIdentical(outs[0], o, `attention ${JSON.stringify(shape)}`);
    }
  });

  it('statistics with the Gram matrix (two token chunks, several tiles)', async () => {
    const cols = 150;
    const l = randomLayer(7, 4, cols, { nseq: 2, seqlen: 300 });
    const stats = await onEach((b) => statsOn(b, l.x3, 2, 300, cols));
    for (const s of stats.slice(1)) {
      for (const key of ['scalerRow', 'sumMetricRow', 'var', 'hessian'] as const) expectIdentical(stats[0][key]!, s[key]!, key);
    }
  });

  const INITS: InitMethod[] = ['magnitude', 'wanda', 'ria', 'sparsegpt'];
  const REFINES: Array<[string, Partial<PruneLayerOptions>]> = [
    ['none', { refine: 'none' }],
    ['DSnoT, guarded', { refine: 'dsnot', dsnot: { guard: true } }],
    ['DSnoT, authors (no guard)', { refine: 'dsnot', dsnot: { guard: false } }],
    ['swaps', { refine: 'swaps' }],
  ];
  const SPARSITIES: Array<number | { n: number; m: number }> = [0.5, { n: 2, m: 4 }];

  for (const init of INITS) {
    for (const [name, refine] of REFINES) {
      for (const sparsity of SPARSITIES) {
        const label = typeof sparsity === 'number' ? sparsity : `${sparsity.n}:${sparsity.m}`;
        it(`pruneLayer ${init} + ${name} at ${label}`, async () => {
          const [rows, cols] = [45, 64];
          const l = randomLayer(11 + cols, rows, cols, { nseq: 2, seqlen: 40 });
          const results = await onEach(async (b) => {
            const stats = await statsOn(b, l.x3, l.nseq, l.seqlen, cols);
            return pruneLayer({ weight: l.weight, rows, cols, stats, sparsity, init, ...refine, backend: b });
          });
          for (const r of results.slice(1)) expectSameLayer(results[0], r);
        });
      }
    }
  }

  for (const sparsity of SPARSITIES) {
    it(`SparseGPT as a method over several column blocks (lazy updates between them) at ${JSON.stringify(sparsity)}`, async () => {
      const [rows, cols] = [37, 300];
      const l = randomLayer(9, rows, cols, { nseq: 2, seqlen: 200 });
      const results = await onEach(async (b) => {
        const stats = await statsOn(b, l.x3, l.nseq, l.seqlen, cols);
        return pruneLayer({ weight: l.weight, rows, cols, stats, sparsity, init: 'sparsegpt', refine: 'none', backend: b });
      });
      for (const r of results.slice(1)) expectSameLayer(results[0], r);
      // Its update moved kept weights (the test compares more than the mask).
      expect(results[0].weight.some((w, i) => w !== 0 && w !== l.weight[i])).toBe(true);
    });
  }

  it("SparseGPT's factor goes over the threads: the Cholesky panels and the inverse's rows", async () => {
    const [rows, cols] = [8, 200];
    const l = randomLayer(10, rows, cols, { nseq: 2, seqlen: 200 });
    const b = backends[COUNTS.indexOf(3)];
    const stats = await statsOn(b, l.x3, l.nseq, l.seqlen, cols);
    Object.assign(tuning, SMALL);
    const run = vi.spyOn(ThreadPool.prototype, 'run');
    try {
      await pruneLayer({ weight: l.weight, rows, cols, stats, sparsity: 0.5, init: 'sparsegpt', refine: 'none', backend: b });
      const kernels = new Set(run.mock.calls.map(([job]) => job.kernel));
      expect(kernels).toContain('sparsegptCholeskyLeft');
      expect(kernels).toContain('sparsegptInverseRows');
    } finally {
      run.mockRestore();
      Object.assign(tuning, saved);
    }
  });

  it('magnitude with one threshold per matrix', async () => {
    const l = randomLayer(5, 40, 64);
    const results = await onEach(async (b) => {
      const stats = await statsOn(b, l.x3, l.nseq, l.seqlen, 64);
      return pruneLayer({ weight: l.weight, rows: 40, cols: 64, stats, sparsity: 0.6, init: 'magnitude', refine: 'none', magnitudeScope: 'matrix', backend: b });
    });
    for (const r of results.slice(1)) expectSameLayer(results[0], r);
  });
});

async function statsOn(b: Backend, x3: Float32Array, nseq: number, seqlen: number, cols: number): Promise<LayerStats> {
  const acc = await StatsAccumulator.create(cols, { hessian: true, device: b });
  for (let s = 0; s < nseq; s++) acc.add(x3.subarray(s * seqlen * cols, (s + 1) * seqlen * cols));
  return acc.finish();
}

function expectSameLayer(a: PruneLayerResult, b: PruneLayerResult): void {
  expectIdentical(a.mask, b.mask, 'mask');
  expectIdentical(a.initMask, b.initMask, 'initMask');
  expectIdentical(a.weight, b.weight, 'weight');
  expectIdentical(a.initError, b.initError, 'initError');
  expectIdentical(a.error, b.error, 'error');
  expect(b.cycles).toBe(a.cycles);
  expect(b.swaps).toBe(a.swaps);
  if (a.trueError) {
    expectIdentical(a.trueError.initial, b.trueError!.initial, 'trueError.initial');
    expectIdentical(a.trueError.final, b.trueError!.final, 'trueError.final');
  }
  // The layer is really pruned (a test of nothing would pass too).
  expect(a.mask.some((m) => m === 1)).toBe(true);
}

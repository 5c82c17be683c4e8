// The pruning kernels on wasm: thin calls into assembly/{stats,metric,select,dsnot,sparsegpt}.ts
// with byte offsets. Scratch space is allocated per call from the context and given back before
// returning; small per-column vectors are copied in with each call.
import type { DeviceTensor } from '../backend.js';
import type {
  ColumnVectors, DsnotArgs, DsnotResult, MetricKind, PruneKernels, RawStats, SparseGptArgs, StatsHandle,
  SwapsArgs, SwapsResult,
} from '../prune-kernels.js';
import { DsnotInputError } from '../../validate.js';
import type { WasmContext, WasmTensor } from './context.js';

const ptr = (t: DeviceTensor): number => (t as WasmTensor).ptr;

/** Largest candidate buffer of the whole-matrix selection (beyond it, it rescans instead). */
const MAX_CANDIDATES = 1 << 22;
/** Rows of SparseGPT's factorisation per kernel call. */
const FACTOR_CHUNK = 16;
/**
 * Weights per kernel call for the row-wise kernels. Engines optimise a wasm function for its
 * next call, not while a call runs: a layer done in one call would run in the baseline tier.
 */
const CHUNK_WEIGHTS = 1 << 18;

/** Calls fn(firstRow, rowCount) over consecutive chunks of about CHUNK_WEIGHTS weights. */
function forRowChunks(rows: number, cols: number, fn: (r0: number, count: number) => void): void {
  const step = Math.max(1, Math.floor(CHUNK_WEIGHTS / cols));
  for (let r0 = 0; r0 < rows; r0 += step) fn(r0, Math.min(step, rows - r0));
}

interface WasmStatsHandle extends StatsHandle {
  /** sum | sumSq | tokenVar, f64 [3·cols]. */
  acc: number;
  gram: number;
  scratch: number;
  gramScratch: number;
  sequences: number;
  tokens: number;
  freed: boolean;
}

export function createWasmPruneKernels(ctx: WasmContext): PruneKernels {
  const e = ctx.exports;

  /** Run `body` with scratch blocks of the given byte sizes, always giving them back. */
  function withScratch<T>(sizes: number[], body: (...ptrs: number[]) => T): T {
    const ptrs = sizes.map((s) => ctx.allocBytes(s));
    try {
      return body(...ptrs);
    } finally {
      for (let i = ptrs.length - 1; i >= 0; i--) ctx.freeBytes(ptrs[i], sizes[i]);
    }
  }

  /** Copy a host vector into fresh wasm memory; returns [ptr, bytes]. */
  function put(data: Float32Array | Float64Array | Uint8Array): [number, number] {
    const bytes = data.byteLength;
    const p = ctx.allocBytes(bytes);
    new Uint8Array(ctx.memory.buffer, p, bytes).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    return [p, bytes];
  }

  function withVectors<T>(vectors: Array<Float32Array | Float64Array | Uint8Array>, body: (...ptrs: number[]) => T): T {
    const placed = vectors.map(put);
    try {
      return body(...placed.map(([p]) => p));
    } finally {
      for (let i = placed.length - 1; i >= 0; i--) ctx.freeBytes(placed[i][0], placed[i][1]);
    }
  }

  const stats: Pick<PruneKernels, 'statsCreate' | 'statsAdd' | 'statsRead' | 'statsFree'> = {
    statsCreate(cols: number, withGram: boolean): StatsHandle {
      const h: WasmStatsHandle = {
        cols, withGram,
        acc: ctx.allocBytes(24 * cols),
        scratch: ctx.allocBytes(8 * cols),
        gram: withGram ? ctx.allocBytes(8 * cols * cols) : 0,
        gramScratch: withGram ? ctx.allocBytes(e.statsGramScratchBytes(cols)) : 0,
        sequences: 0, tokens: 0, freed: false,
      };
      ctx.f64(h.acc, 3 * cols).fill(0);
      if (withGram) ctx.f64(h.gram, cols * cols).fill(0);
      return h;
    },
    statsAdd(handle: StatsHandle, x: DeviceTensor, tokens: number): void {
      const h = handle as WasmStatsHandle;
      if (h.freed) throw new Error('statsAdd: the accumulator was freed');
      if (x.length < tokens * h.cols) throw new RangeError(`statsAdd: ${x.length} values hold fewer than ${tokens} tokens × ${h.cols} columns`);
      const c = h.cols;
      e.statsAddSequence(ptr(x), tokens, c, h.acc, h.acc + 8 * c, h.acc + 16 * c, h.scratch);
      if (h.withGram) e.statsAddGram(ptr(x), tokens, c, h.gram, h.gramScratch);
      h.sequences += 1;
      h.tokens += tokens;
    },
    async statsRead(handle: StatsHandle): Promise<RawStats> {
      const h = handle as WasmStatsHandle;
      const c = h.cols;
      const acc = ctx.f64(h.acc, 3 * c);
      let gram: Float64Array | null = null;
      if (h.withGram) {
        // The kernel fills the upper triangle; mirror it.
        gram = ctx.f64(h.gram, c * c).slice();
        for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) gram[i * c + j] = gram[j * c + i];
      }
      return {
        sum: acc.slice(0, c), sumSq: acc.slice(c, 2 * c), tokenVar: acc.slice(2 * c, 3 * c),
        gram, sequences: h.sequences, tokens: h.tokens,
      };
    },
    statsFree(handle: StatsHandle): void {
      const h = handle as WasmStatsHandle;
      if (h.freed) return;
      h.freed = true;
      const c = h.cols;
      if (h.withGram) {
        ctx.freeBytes(h.gramScratch, e.statsGramScratchBytes(c));
        ctx.freeBytes(h.gram, 8 * c * c);
      }
      ctx.freeBytes(h.scratch, 8 * c);
      ctx.freeBytes(h.acc, 24 * c);
    },
  };

  function metric(weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null, out: DeviceTensor): void {
    const w = ptr(weight);
    const o = ptr(out);
    if (kind === 'magnitude') {
      forRowChunks(rows, cols, (r0, n) => e.metricMagnitude(w + 4 * r0 * cols, n * cols, o + 4 * r0 * cols));
      return;
    }
    if (!colScale || colScale.length !== cols) throw new RangeError(`metric ${kind}: needs a column scale of length ${cols}`);
    if (kind === 'ria') return metricRia(w, rows, cols, colScale, o);
    const run = kind === 'wanda' ? e.metricWanda : e.metricObs;
    withVectors([colScale], (scale) => {
      forRowChunks(rows, cols, (r0, n) => run(w + 4 * r0 * cols, n, cols, scale, o + 4 * r0 * cols));
    });
  }

  /** RIA: the column sums need every row, so all chunks' sums come first, then the scores. */
  function metricRia(w: number, rows: number, cols: number, scale: Float32Array, o: number): void {
    withVectors([scale, new Float32Array(cols), new Float32Array(rows)], (s, colSums, rowSums) => {
      forRowChunks(rows, cols, (r0, n) => e.metricRiaSums(w + 4 * r0 * cols, n, cols, colSums, rowSums + 4 * r0));
      forRowChunks(rows, cols, (r0, n) => e.metricRia(w + 4 * r0 * cols, n, cols, rowSums + 4 * r0, colSums, s, o + 4 * r0 * cols));
    });
  }

  function selectRows(m: DeviceTensor, rows: number, cols: number, k: number, mask: DeviceTensor): void {
    withScratch([e.selectHistBytes(), 4 * (2 * cols + 8)], (hist, cand) => {
      forRowChunks(rows, cols, (r0, n) => e.selectRowsSmallest(ptr(m) + 4 * r0 * cols, n, cols, k, ptr(mask) + r0 * cols, hist, cand));
    });
  }

  function selectNM(m: DeviceTensor, rows: number, cols: number, n: number, mm: number, mask: DeviceTensor): void {
    forRowChunks(rows, cols, (r0, count) => e.selectNM(ptr(m) + 4 * r0 * cols, count, cols, n, mm, ptr(mask) + r0 * cols));
  }

  function selectThreshold(m: DeviceTensor, length: number, rank: number, mask: DeviceTensor): void {
    const cap = Math.min(length, MAX_CANDIDATES);
    withScratch([e.selectHistBytes(), 4 * cap], (hist, cand) => e.selectAtOrBelowRank(ptr(m), length, rank, ptr(mask), hist, cand, cap));
  }

  /** Rows per chunk of the true-error kernels: their c = H·v is f64 [rows, cols] scratch. */
  const chunkRows = (cols: number): number => Math.max(1, Math.floor(CHUNK_WEIGHTS / cols));

  async function dsnot(a: DsnotArgs): Promise<DsnotResult> {
    const c: ColumnVectors = a.columns;
    const scratchBytes = e.dsnotScratchBytes(a.maxCycles, a.cols);
    const cols = a.cols;
    const h = a.hessian ?? null;
    const step = chunkRows(cols);
    // Without H the true-error buffers are empty blocks and the kernel is told so (h = 0).
    const trueBytes = h ? [8 * step * cols, e.swapsProductScratchBytes(step, cols), 8 * a.rows, 8 * a.rows] : [0, 0, 0, 0];
    return withVectors([c.sqrtScaler, c.sum32, c.sum64, c.varPow, h ?? new Float64Array(0)], (sqrtScaler, sum32, sum64, varPow, hp) =>
      withScratch([8 * a.rows, 8 * a.rows, scratchBytes, ...trueBytes], (initErr, err, scratch, cBuf, prodScratch, qInit, qFinal) => {
        let cycles = 0;
        forRowChunks(a.rows, cols, (r0, n) => {
          const w = ptr(a.weight) + 4 * r0 * cols;
          const m = ptr(a.mask) + r0 * cols;
          if (h) e.swapsProduct(w, m, n, cols, hp, cBuf, prodScratch);
          const got = e.dsnotRefine(
            w, m, n, cols,
            sqrtScaler, sum32, sum64, varPow,
            a.initialMetric ? ptr(a.initialMetric) + 4 * r0 * cols : 0, a.nm ? a.nm.m : 0,
            a.maxCycles, a.updateThreshold, a.nm ? 1 : a.sameSign ? 1 : 0,
            initErr + 8 * r0, err + 8 * r0, scratch, r0 === 0 ? 1 : 0,
            h ? hp : 0, cBuf, a.guard ? 1 : 0, qInit + 8 * r0, qFinal + 8 * r0,
          );
          cycles = Math.max(cycles, got);
        });
        return {
          initError: ctx.f64(initErr, a.rows).slice(), error: ctx.f64(err, a.rows).slice(), cycles,
          trueInit: h ? halved(ctx.f64(qInit, a.rows)) : null,
          trueFinal: h ? halved(ctx.f64(qFinal, a.rows)) : null,
        };
      }));
  }

  async function swaps(a: SwapsArgs): Promise<SwapsResult> {
    const cols = a.cols;
    const step = chunkRows(cols);
    const width = Math.max(1, Math.min(a.width, cols));
    return withVectors([a.hessian], (hp) =>
      withScratch(
        [8 * step * cols, e.swapsProductScratchBytes(step, cols), e.swapsScratchBytes(cols, width), 8 * a.rows, 8 * a.rows, 4 * a.rows],
        (cBuf, prodScratch, scratch, qInit, qFinal, done) => {
          forRowChunks(a.rows, cols, (r0, n) => {
            const w = ptr(a.weight) + 4 * r0 * cols;
            const m = ptr(a.mask) + r0 * cols;
            e.swapsProduct(w, m, n, cols, hp, cBuf, prodScratch);
            e.swapsRefine(w, m, n, cols, hp, cBuf, a.nm ? a.nm.m : 0, a.maxSwaps, width, qInit + 8 * r0, qFinal + 8 * r0, done + 4 * r0, scratch);
          });
          return { trueInit: halved(ctx.f64(qInit, a.rows)), trueFinal: halved(ctx.f64(qFinal, a.rows)), swaps: ctx.i32(done, a.rows).slice() };
        }));
  }

  async function trueErrors(weight: DeviceTensor, mask: DeviceTensor | null, rows: number, cols: number, hessian: Float64Array): Promise<Float64Array> {
    const step = chunkRows(cols);
    return withVectors([hessian], (hp) =>
      withScratch([8 * step * cols, e.swapsProductScratchBytes(step, cols), 8 * rows], (cBuf, prodScratch, q) => {
        forRowChunks(rows, cols, (r0, n) => {
          const w = ptr(weight) + 4 * r0 * cols;
          const m = mask ? ptr(mask) + r0 * cols : 0;
          e.swapsProduct(w, m, n, cols, hp, cBuf, prodScratch);
          e.swapsErrors(w, m, n, cols, cBuf, q + 8 * r0);
        });
        return halved(ctx.f64(q, rows));
      }));
  }

  function applyMask(weight: DeviceTensor, mask: DeviceTensor, length: number): void {
    for (let i = 0; i < length; i += CHUNK_WEIGHTS) {
      e.dsnotApplyMask(ptr(weight) + 4 * i, ptr(mask) + i, Math.min(CHUNK_WEIGHTS, length - i));
    }
  }

  function notPositiveDefinite(column: number): DsnotInputError {
    return new DsnotInputError(`hessian: not positive definite after damping (pivot at column ${column}); give more calibration data or a valid H`);
  }

  /**
   * SparseGPT's factor of H (wasm copy at h, destroyed): the Cholesky rows of the reversed, damped
   * matrix, then (withInverse) U in place of h. Called in row chunks so that the engine optimises
   * the loops after the first chunks (one long call would stay in its baseline tier).
   */
  function factorize(h: number, n: number, percDamp: number, dead: number, diag: number, withInverse: boolean): void {
    e.sparsegptFactorBegin(h, n, percDamp, dead);
    for (let i0 = 0; i0 < n; i0 += FACTOR_CHUNK) {
      const code = e.sparsegptCholeskyRows(h, n, i0, Math.min(n, i0 + FACTOR_CHUNK));
      // The rows are reversed: pivot p of JHJ is column n−1−p of H.
      if (code !== 0) throw notPositiveDefinite(n - code);
    }
    if (!withInverse) return;
    e.sparsegptSaveDiagonal(h, n, diag);
    for (let j0 = 0; j0 < n; j0 += FACTOR_CHUNK) e.sparsegptInverseRows(h, n, diag, j0, Math.min(n, j0 + FACTOR_CHUNK));
    e.sparsegptFactorEnd(h, n);
  }

  async function sparseGpt(a: SparseGptArgs): Promise<void> {
    const n = a.cols;
    const block = a.blockSize;
    withVectors([a.hessian], (u) =>
      withScratch([n, 8 * n, 8 * a.rows * n, 8 * a.rows * block, 8 * a.rows * block], (dead, diag, work, err, sel) => {
        factorize(u, n, a.percDamp, dead, diag, true);
        e.sparsegptLoad(ptr(a.weight), a.rows, n, dead, work);
        for (let i1 = 0; i1 < n; i1 += block) {
          e.sparsegptBlock(work, a.rows, n, u, ptr(a.mask), a.sparsity, a.nm ? a.nm.n : 0, a.nm ? a.nm.m : 0, i1, block, err, sel);
        }
        e.sparsegptStore(work, a.rows, n, ptr(a.weight));
      }));
  }

  function obsDiagonal(hessian: Float64Array, cols: number, percDamp: number): Float64Array {
    return withVectors([hessian], (h) =>
      withScratch([cols, 8 * cols], (dead, diag) => {
        factorize(h, cols, percDamp, dead, diag, false);
        e.sparsegptObsDiagonal(h, cols, dead, diag);
        return ctx.f64(diag, cols).slice();
      }));
  }

  return {
    ...stats,
    metric, selectRows, selectNM, selectThreshold,
    dsnot, applyMask,
    hasSwaps: true, swaps, trueErrors,
    hasSparseGpt: true, sparseGpt, obsDiagonal,
  };
}

/** Q → Q/2: vᵀHv with H = (2/N)ΣXᵀX is twice the error per calibration sequence. */
function halved(q: Float64Array): Float64Array {
  return Float64Array.from(q, (x) => x / 2);
}

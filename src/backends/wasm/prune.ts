// The pruning kernels on wasm: thin calls into assembly/{stats,metric,select,dsnot,sparsegpt}.ts
// with byte offsets. Scratch space is allocated per call from the context and given back before
// returning; small per-column vectors are copied in with each call. The large kernels run as
// chunked jobs (rows, or tiles of the Gram matrix) on the context's runner, over every thread;
// scratch that a kernel writes is one block per thread.
import type { DeviceTensor } from '../backend.js';
import {
  isBackendHessian,
  type BackendHessian, type ColumnVectors, type DsnotArgs, type DsnotResult, type Hessian, type MetricKind, type PruneKernels,
  type RawStats, type SparseGptArgs, type SparseGptResult, type StatsHandle, type SwapsArgs, type SwapsResult,
} from '../prune-kernels.js';
import { DsnotInputError } from '../../validate.js';
import type { ChunkJob } from './chunks.js';
import type { WasmContext, WasmTensor } from './context.js';
import { tuning } from './threads.js';

const ptr = (t: DeviceTensor): number => (t as WasmTensor).ptr;

/** Largest candidate buffer of the whole-matrix selection (beyond it, it rescans instead). */
const MAX_CANDIDATES = 1 << 22;
/** Rows of SparseGPT's factorisation per kernel call (even: the kernels take rows in pairs). */
const FACTOR_CHUNK = 16;
/** Rows per panel of SparseGPT's Cholesky (a multiple of FACTOR_CHUNK): one threaded job each. */
const FACTOR_PANEL = 64;

/**
 * Rows per chunk: about tuning.chunkWeights weights, a multiple of 4. The kernels take rows in
 * pairs and fours (register blocks whose sums differ in their last bits from a lone row's), so
 * chunks that start at multiples of 4 give every row the sums of the layer done in one piece.
 */
const rowStep = (cols: number): number => Math.max(4, Math.floor(tuning.chunkWeights / cols / 4) * 4);

/** Calls fn(firstRow, rowCount) over consecutive chunks of rowStep rows (on this thread). */
function forRowChunks(rows: number, cols: number, fn: (r0: number, count: number) => void): void {
  const step = rowStep(cols);
  for (let r0 = 0; r0 < rows; r0 += step) fn(r0, Math.min(step, rows - r0));
}

/** A job over the rows of a [rows, cols] matrix: pointer args (index, bytes per row) move to each chunk's rows. */
function rowJob(kernel: string, args: number[], rows: number, cols: number, count: number, advance: Array<[number, number]>): ChunkJob {
  return { kernel, args, units: rows, step: rowStep(cols), count, advance, work: rows * cols };
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** H kept in a context's memory (statsKeepHessian): that context's kernels read it where it is. */
class WasmHessian implements BackendHessian {
  freed = false;
  constructor(readonly ctx: WasmContext, readonly ptr: number, readonly cols: number) {}

  view(): Float64Array {
    if (this.freed) throw new Error('internal: the Hessian was freed before its last use');
    return this.ctx.f64(this.ptr, this.cols * this.cols);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.ctx.freeBytes(this.ptr, 8 * this.cols * this.cols);
  }
}

interface WasmStatsHandle extends StatsHandle {
  /** sum | sumSq | tokenVar, f64 [3·cols]. */
  acc: number;
  gram: number;
  /** The Gram block was handed over as H (statsKeepHessian): not this handle's to read or free. */
  gramKept: boolean;
  scratch: number;
  gramScratch: number;
  sequences: number;
  tokens: number;
  freed: boolean;
}

export function createWasmPruneKernels(ctx: WasmContext): PruneKernels {
  const e = ctx.exports;
  const runner = ctx.runner;
  /** One scratch block of `bytes` per thread: [first block, bytes between blocks]. */
  const perThread = (bytes: number): [number, number] => [align64(bytes) * runner.participants, align64(bytes)];

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

  /** H's offset for a kernel that only reads it: where it lies when it is this context's, else a copy. */
  function withHessian<T>(h: Hessian, body: (p: number) => T): T {
    if (h instanceof WasmHessian && h.ctx === ctx) {
      h.view(); // throws if freed
      return body(h.ptr);
    }
    return withHessianCopy(h, body);
  }

  /** A fresh copy of H (SparseGPT's factorisation overwrites it), given back after body. */
  function withHessianCopy<T>(h: Hessian, body: (p: number) => T): T {
    const bytes = 8 * (isBackendHessian(h) ? h.cols * h.cols : h.length);
    return withScratch([bytes], (p) => {
      // The source view is taken after the allocation, which may have grown (and moved) this memory.
      const src = isBackendHessian(h) ? h.view() : h;
      new Uint8Array(ctx.memory.buffer, p, bytes).set(new Uint8Array(src.buffer, src.byteOffset, bytes));
      return body(p);
    });
  }

  function withVectors<T>(vectors: Array<Float32Array | Float64Array | Uint8Array>, body: (...ptrs: number[]) => T): T {
    const placed = vectors.map(put);
    try {
      return body(...placed.map(([p]) => p));
    } finally {
      for (let i = placed.length - 1; i >= 0; i--) ctx.freeBytes(placed[i][0], placed[i][1]);
    }
  }

  /** The Gram update, a chunk of tokens at a time: transposed here, then its column tiles over the threads. */
  function addGram(h: WasmStatsHandle, x: number, tokens: number): void {
    const c = h.cols;
    for (let t0 = 0; t0 < tokens; t0 += e.statsGramTokenChunk()) {
      const len = e.statsGramTranspose(x, tokens, c, t0, h.gramScratch);
      runner.run({ kernel: 'statsGramTiles', args: [h.gram, c, len, h.gramScratch, 0, 0], units: e.statsGramTileCount(c), step: 1, range: 4, work: (len * c * c) / 2 });
    }
  }

  const stats: Pick<PruneKernels, 'statsCreate' | 'statsAdd' | 'statsRead' | 'statsKeepHessian' | 'statsFree'> = {
    statsCreate(cols: number, withGram: boolean): StatsHandle {
      const h: WasmStatsHandle = {
        cols, withGram,
        acc: ctx.allocBytes(24 * cols),
        scratch: ctx.allocBytes(8 * cols),
        gram: withGram ? ctx.allocBytes(8 * cols * cols) : 0,
        gramScratch: withGram ? ctx.allocBytes(e.statsGramScratchBytes(cols)) : 0,
        gramKept: false, sequences: 0, tokens: 0, freed: false,
      };
      ctx.f64(h.acc, 3 * cols).fill(0);
      if (withGram) ctx.f64(h.gram, cols * cols).fill(0);
      return h;
    },
    statsAdd(handle: StatsHandle, x: DeviceTensor, tokens: number): void {
      const h = handle as WasmStatsHandle;
      if (h.freed || h.gramKept) throw new Error('statsAdd: the accumulator was freed or its H handed over');
      if (x.length < tokens * h.cols) throw new RangeError(`statsAdd: ${x.length} values hold fewer than ${tokens} tokens × ${h.cols} columns`);
      const c = h.cols;
      e.statsAddSequence(ptr(x), tokens, c, h.acc, h.acc + 8 * c, h.acc + 16 * c, h.scratch);
      if (h.withGram) addGram(h, ptr(x), tokens);
      h.sequences += 1;
      h.tokens += tokens;
    },
    async statsRead(handle: StatsHandle): Promise<RawStats> {
      const h = handle as WasmStatsHandle;
      const c = h.cols;
      const acc = ctx.f64(h.acc, 3 * c);
      let gram: Float64Array | null = null;
      if (h.withGram && !h.gramKept) {
        gram = mirrorUpper(ctx.f64(h.gram, c * c).slice(), c);
      }
      return {
        sum: acc.slice(0, c), sumSq: acc.slice(c, 2 * c), tokenVar: acc.slice(2 * c, 3 * c),
        gram, sequences: h.sequences, tokens: h.tokens,
      };
    },
    statsKeepHessian(handle: StatsHandle, scale: number): BackendHessian {
      const h = handle as WasmStatsHandle;
      if (h.freed || h.gramKept || !h.withGram) throw new Error('internal: statsKeepHessian needs a live accumulator with its Gram matrix');
      const c = h.cols;
      // Mirrored, then scaled, as statsRead + the host's normalisation would.
      const g = mirrorUpper(ctx.f64(h.gram, c * c), c);
      for (let i = 0; i < g.length; i++) g[i] = g[i] * scale;
      h.gramKept = true;
      return new WasmHessian(ctx, h.gram, c);
    },
    statsFree(handle: StatsHandle): void {
      const h = handle as WasmStatsHandle;
      if (h.freed) return;
      h.freed = true;
      const c = h.cols;
      if (h.withGram) {
        ctx.freeBytes(h.gramScratch, e.statsGramScratchBytes(c));
        if (!h.gramKept) ctx.freeBytes(h.gram, 8 * c * c);
      }
      ctx.freeBytes(h.scratch, 8 * c);
      ctx.freeBytes(h.acc, 24 * c);
    },
  };

  function metric(weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null, out: DeviceTensor): void {
    const w = ptr(weight);
    const o = ptr(out);
    withMetricVectors(w, rows, cols, kind, colScale, (scale, rowSums, colSums) => {
      // Magnitude takes elements as units (the kernel takes a length); the others rows.
      if (kind === 'magnitude') {
        runner.run({ kernel: 'metricMagnitude', args: [w, 0, o], units: rows * cols, step: rowStep(cols) * cols, count: 1, advance: [[0, 4], [2, 4]], work: rows * cols });
      } else if (kind === 'ria') {
        runner.run(rowJob('metricRia', [w, 0, cols, rowSums, colSums, scale, o], rows, cols, 1, [[0, 4 * cols], [3, 4], [6, 4 * cols]]));
      } else {
        runner.run(rowJob(kind === 'wanda' ? 'metricWanda' : 'metricObs', [w, 0, cols, scale, o], rows, cols, 1, [[0, 4 * cols], [4, 4 * cols]]));
      }
    });
  }

  /**
   * What the metric kernels of `kind` read besides W, in wasm memory for `body`: the column scale
   * (0 for magnitude) and RIA's row and column sums of |W| (0 otherwise). RIA's sums need every
   * row, in order, on this thread, before any score.
   */
  function withMetricVectors<T>(
    w: number, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null,
    body: (scale: number, rowSums: number, colSums: number) => T,
  ): T {
    if (kind === 'magnitude') return body(0, 0, 0);
    if (!colScale || colScale.length !== cols) throw new RangeError(`metric ${kind}: needs a column scale of length ${cols}`);
    if (kind !== 'ria') return withVectors([colScale], (scale) => body(scale, 0, 0));
    return withVectors([colScale, new Float32Array(cols), new Float32Array(rows)], (scale, colSums, rowSums) => {
      forRowChunks(rows, cols, (r0, n) => e.metricRiaSums(w + 4 * r0 * cols, n, cols, colSums, rowSums + 4 * r0));
      return body(scale, rowSums, colSums);
    });
  }

  /** Kind codes of assembly/select.ts's metricSelectRows. */
  const METRIC_KIND: Record<MetricKind, number> = { magnitude: 0, wanda: 1, obs: 2, ria: 3 };

  function metricSelect(
    weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null,
    select: { k: number } | { n: number; m: number }, mask: DeviceTensor,
  ): void {
    const w = ptr(weight);
    const [k, n, m] = 'k' in select ? [select.k, 0, 0] : [0, select.n, select.m];
    const [histAll, hist] = perThread(e.selectHistBytes());
    const [candAll, cand] = perThread(4 * (2 * cols + 8));
    // Each thread's metric is one chunk's rows: scratch of rowStep × cols, not rows × cols.
    const [metricAll, metricBytes] = perThread(4 * rowStep(cols) * cols);
    withMetricVectors(w, rows, cols, kind, colScale, (scale, rowSums, colSums) =>
      withScratch([histAll, candAll, metricAll], (hp, cp, mp) => {
        runner.run({
          ...rowJob('metricSelectRows', [METRIC_KIND[kind], w, 0, cols, scale, rowSums, colSums, k, n, m, ptr(mask), hp, cp, mp], rows, cols, 2, [[1, 4 * cols], [5, 4], [10, cols]]),
          perThread: [[11, hist], [12, cand], [13, metricBytes]],
        });
      }));
  }

  function selectRows(m: DeviceTensor, rows: number, cols: number, k: number, mask: DeviceTensor): void {
    const [histAll, hist] = perThread(e.selectHistBytes());
    const [candAll, cand] = perThread(4 * (2 * cols + 8));
    withScratch([histAll, candAll], (h, c) => {
      runner.run({
        ...rowJob('selectRowsSmallest', [ptr(m), 0, cols, k, ptr(mask), h, c], rows, cols, 1, [[0, 4 * cols], [4, cols]]),
        perThread: [[5, hist], [6, cand]],
      });
    });
  }

  function selectNM(m: DeviceTensor, rows: number, cols: number, n: number, mm: number, mask: DeviceTensor): void {
    runner.run(rowJob('selectNM', [ptr(m), 0, cols, n, mm, ptr(mask)], rows, cols, 1, [[0, 4 * cols], [5, cols]]));
  }

  function selectThreshold(m: DeviceTensor, length: number, rank: number, mask: DeviceTensor): void {
    const cap = Math.min(length, MAX_CANDIDATES);
    withScratch([e.selectHistBytes(), 4 * cap], (hist, cand) => e.selectAtOrBelowRank(ptr(m), length, rank, ptr(mask), hist, cand, cap));
  }

  async function dsnot(a: DsnotArgs): Promise<DsnotResult> {
    const c: ColumnVectors = a.columns;
    const cols = a.cols;
    const h = a.hessian ?? null;
    const step = rowStep(cols);
    const [scratchAll, scratch] = perThread(e.dsnotChunkScratchBytes(a.maxCycles, cols, step, h ? 1 : 0));
    // Without H the true-error outputs are empty blocks and the kernel is told so (h = 0).
    const qBytes = h ? 8 * a.rows : 0;
    const withH = <T>(body: (hp: number) => T): T => (h ? withHessian(h, body) : body(0));
    return withH((hp) => withVectors([c.sqrtScaler, c.sum32, c.sum64, c.varPow], (sqrtScaler, sum32, sum64, varPow) =>
      withScratch([8 * a.rows, 8 * a.rows, scratchAll, qBytes, qBytes], (initErr, err, sp, qInit, qFinal) => {
        const cycles = runner.run({
          kernel: 'dsnotRefineChunk',
          args: [
            ptr(a.weight), ptr(a.mask), cols, sqrtScaler, sum32, sum64, varPow,
            a.initialMetric ? ptr(a.initialMetric) : 0, a.nm ? a.nm.m : 0,
            a.maxCycles, a.updateThreshold, a.nm ? 1 : a.sameSign ? 1 : 0,
            initErr, err, hp, a.guard ? 1 : 0, qInit, qFinal, sp, step, 0, 0,
          ],
          units: a.rows, step, range: 20, perThread: [[18, scratch]], work: a.rows * cols,
        });
        return {
          initError: ctx.f64(initErr, a.rows).slice(), error: ctx.f64(err, a.rows).slice(), cycles,
          trueInit: h ? halved(ctx.f64(qInit, a.rows)) : null,
          trueFinal: h ? halved(ctx.f64(qFinal, a.rows)) : null,
        };
      })));
  }

  async function swaps(a: SwapsArgs): Promise<SwapsResult> {
    const cols = a.cols;
    const step = rowStep(cols);
    const width = Math.max(1, Math.min(a.width, cols));
    const [scratchAll, scratch] = perThread(e.swapsRefineChunkScratchBytes(cols, step, width));
    return withHessian(a.hessian, (hp) =>
      withScratch([scratchAll, 8 * a.rows, 8 * a.rows, 4 * a.rows], (sp, qInit, qFinal, done) => {
        runner.run({
          kernel: 'swapsRefineChunk',
          args: [ptr(a.weight), ptr(a.mask), cols, hp, a.nm ? a.nm.m : 0, a.maxSwaps, width, qInit, qFinal, done, sp, step, 0, 0],
          units: a.rows, step, range: 12, perThread: [[10, scratch]], work: a.rows * cols,
        });
        return { trueInit: halved(ctx.f64(qInit, a.rows)), trueFinal: halved(ctx.f64(qFinal, a.rows)), swaps: ctx.i32(done, a.rows).slice() };
      }));
  }

  async function trueErrors(weight: DeviceTensor, mask: DeviceTensor | null, rows: number, cols: number, hessian: Hessian): Promise<Float64Array> {
    const step = rowStep(cols);
    const [scratchAll, scratch] = perThread(e.swapsErrorsChunkScratchBytes(cols, step));
    return withHessian(hessian, (hp) =>
      withScratch([scratchAll, 8 * rows], (sp, q) => {
        runner.run({
          kernel: 'swapsErrorsChunk',
          args: [ptr(weight), mask ? ptr(mask) : 0, cols, hp, q, sp, step, 0, 0],
          units: rows, step, range: 7, perThread: [[5, scratch]], work: rows * cols,
        });
        return halved(ctx.f64(q, rows));
      }));
  }

  function applyMask(weight: DeviceTensor, mask: DeviceTensor, length: number): void {
    runner.run({ kernel: 'dsnotApplyMask', args: [ptr(weight), ptr(mask), 0], units: length, step: tuning.chunkWeights, count: 2, advance: [[0, 4], [1, 1]], work: length });
  }

  function anyNonFinite(t: DeviceTensor, length: number): boolean {
    return runner.run({ kernel: 'nonFiniteRange', args: [ptr(t), 0, 0], units: length, step: tuning.chunkWeights, range: 1, work: length }) > 0;
  }

  function notPositiveDefinite(column: number): DsnotInputError {
    return new DsnotInputError(`hessian: not positive definite after damping (pivot at column ${column}); give more calibration data or a valid H`);
  }

  /**
   * SparseGPT's factor of H (wasm copy at h, destroyed): the Cholesky rows of the reversed, damped
   * matrix, a panel at a time (its columns left of the panel over the threads, then its own
   * triangle on this thread), then (withInverse) U in place of h, rows of the inverse over the
   * threads. Many calls, not one: the engine optimises the loops after the first chunks.
   */
  function factorize(h: number, n: number, percDamp: number, dead: number, diag: number, withInverse: boolean): number {
    const damp = e.sparsegptFactorBegin(h, n, percDamp, dead);
    for (let p0 = 0; p0 < n; p0 += FACTOR_PANEL) {
      const rows = Math.min(FACTOR_PANEL, n - p0);
      if (p0 > 0) {
        runner.run({ kernel: 'sparsegptCholeskyLeft', args: [h, n, p0, 0, 0], units: rows, step: FACTOR_CHUNK, range: 3, work: rows * p0 * p0 });
      }
      for (let i0 = p0; i0 < p0 + rows; i0 += FACTOR_CHUNK) {
        const code = e.sparsegptCholeskyRows(h, n, p0, i0, Math.min(p0 + rows, i0 + FACTOR_CHUNK));
        // The rows are reversed: pivot p of JHJ is column n−1−p of H.
        if (code !== 0) throw notPositiveDefinite(n - code);
      }
    }
    if (!withInverse) return damp;
    e.sparsegptSaveDiagonal(h, n, diag);
    // Row j of the inverse costs ~(n − j)²/2: chunks are taken first-row-first, the largest first.
    runner.run({ kernel: 'sparsegptInverseRows', args: [h, n, diag, 0, 0], units: n, step: FACTOR_CHUNK, range: 3, work: n * n * n / 6 });
    e.sparsegptFactorEnd(h, n);
    return damp;
  }

  async function sparseGpt(a: SparseGptArgs): Promise<SparseGptResult> {
    const n = a.cols;
    const block = a.blockSize;
    return withHessianCopy(a.hessian, (u) =>
      withScratch([n, 8 * n, 8 * a.rows * n, 8 * a.rows * block, 8 * a.rows * block, 8 * a.rows], (dead, diag, work, err, sel, errSq) => {
        // Read before the copy is factored: whether the true error may come from the OBS steps.
        const deadRowsZero = deadRowsAreZero(ctx.f64(u, n * n), n);
        const damp = factorize(u, n, a.percDamp, dead, diag, true);
        e.sparsegptLoad(ptr(a.weight), a.rows, n, dead, work);
        ctx.f64(errSq, a.rows).fill(0);
        // Per block: the unstructured mask needs every row (one threshold), then the rows' OBS and
        // lazy updates go over the threads.
        const step = rowStep(n);
        for (let i1 = 0; i1 < n; i1 += block) {
          if (!a.nm) e.sparsegptBlockMask(work, a.rows, n, u, ptr(a.mask), a.sparsity, i1, block, sel);
          runner.run({
            kernel: 'sparsegptBlockRows', args: [work, a.rows, n, u, ptr(a.mask), a.nm ? a.nm.n : 0, a.nm ? a.nm.m : 0, i1, block, err, errSq, 0, 0],
            units: a.rows, step, range: 11, work: a.rows * block * (n - i1),
          });
        }
        e.sparsegptStore(work, a.rows, n, ptr(a.weight), dead, errSq, damp);
        return { trueError: deadRowsZero ? halved(ctx.f64(errSq, a.rows)) : null };
      }));
  }

  function obsDiagonal(hessian: Hessian, cols: number, percDamp: number): Float64Array {
    return withHessianCopy(hessian, (h) =>
      withScratch([cols, 8 * cols], (dead, diag) => {
        factorize(h, cols, percDamp, dead, diag, false);
        e.sparsegptObsDiagonal(h, cols, dead, diag);
        return ctx.f64(diag, cols).slice();
      }));
  }

  return {
    ...stats,
    anyNonFinite,
    metric, metricSelect, selectRows, selectNM, selectThreshold,
    dsnot, applyMask,
    hasSwaps: true, swaps, trueErrors,
    hasSparseGpt: true, sparseGpt, obsDiagonal,
  };
}

/** The Gram kernel fills the upper triangle of g ([c, c]): copies it into the lower one; returns g. */
function mirrorUpper(g: Float64Array, c: number): Float64Array {
  for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) g[i * c + j] = g[j * c + i];
  return g;
}

/**
 * Whether every row of H whose diagonal is 0 is all 0 (so a dead column's weight adds nothing to
 * vᵀHv). A Gram matrix's are; a given H need not be, and then SparseGPT's OBS steps do not give
 * the true error (see assembly/sparsegpt.ts): it is computed as a dense vᵀHv instead.
 */
function deadRowsAreZero(h: Float64Array, n: number): boolean {
  for (let c = 0; c < n; c++) {
    if (h[c * n + c] !== 0) continue;
    for (let j = 0; j < n; j++) if (h[c * n + j] !== 0 || h[j * n + c] !== 0) return false;
  }
  return true;
}

/** Q → Q/2: vᵀHv with H = (2/N)ΣXᵀX is twice the error per calibration sequence. */
function halved(q: Float64Array): Float64Array {
  return Float64Array.from(q, (x) => x / 2);
}

// Kernels of the per-linear pruning mathematics (ALGORITHM.md §2-§5, §7, §13), grouped by
// family as in assembly/ and gpu/: stats, metric, select, dsnot, sparsegpt.
// Weights are row-major [rows, cols] f32; masks are u8 with 1 = pruned.
import type { DeviceTensor } from './backend.js';

/** Sums of one linear's inputs over the calibration sequences (host f64, exact definitions in ALGORITHM.md §2). */
export interface RawStats {
  /** Σ_n Σ_t x² per column. */
  sumSq: Float64Array;
  /** Σ_n Σ_t x per column. */
  sum: Float64Array;
  /** Σ_n T_n · Var_t(x_n) per column (population variance inside each sequence). */
  tokenVar: Float64Array;
  /** Σ_n X_nᵀ X_n, [cols, cols] row-major, only when asked for (SparseGPT). */
  gram: Float64Array | null;
  /** Number of sequences (forward calls) N. */
  sequences: number;
  /** Σ_n T_n. */
  tokens: number;
}

/**
 * H = (2/N)·Σ XᵀX, f64 [cols, cols] with both triangles: a host array, or H left in the memory of
 * the backend that accumulated it (statsKeepHessian), which that backend's kernels read in place.
 * H is the largest array of a layer (8·cols² bytes: 254 MB at 5632 columns, 970 MB at 11008),
 * so the pipeline keeps one copy of it, not one on the host and another in the kernels' memory.
 */
export type Hessian = Float64Array | BackendHessian;

/** H in a backend's memory. */
export interface BackendHessian {
  readonly cols: number;
  readonly freed: boolean;
  /** The values as a view of the backend's memory: valid until that memory next grows (read it at once). */
  view(): Float64Array;
  /** Give the memory back (again: nothing); a kernel given a freed H throws. */
  free(): void;
}

export function isBackendHessian(h: unknown): h is BackendHessian {
  return typeof h === 'object' && h !== null && !ArrayBuffer.isView(h) && typeof (h as BackendHessian).view === 'function';
}

/** Opaque accumulator of RawStats living on the backend. */
export interface StatsHandle {
  readonly cols: number;
  readonly withGram: boolean;
  /** Sequences added so far (N). */
  readonly sequences: number;
}

/** Per-column f32 vectors the host derives once per linear, shared by both backends. */
export interface ColumnVectors {
  /** Wanda column scale: fround(sqrt(fround(scaler_row))). */
  sqrtScaler: Float32Array;
  /** fround(sum_metric_row): D32 = fround(W · sum32) is the f32 DSnoT metric (sign tests, G). */
  sum32: Float32Array;
  /** sum_metric_row in f64: the error e accumulates W · sum64 in f64. */
  sum64: Float64Array;
  /** fround(var^p) (1 when p = 0): G = fround(D32 / varPow), 0/0 taken as 0. */
  varPow: Float32Array;
}

/**
 * Which initial metric: magnitude |W|; wanda |W|·c_j; obs W²/c_j (c_j = fround(d_j²), d = diag(U);
 * c_j = +inf → 0); ria (|W|/Σ_r|W_rj| + |W|/Σ_c|W_ic|)·c_j with c_j = scaler_row_j^¼, the sums of
 * |W| made on the backend in the fixed order assembly/metric.ts states.
 */
export type MetricKind = 'magnitude' | 'wanda' | 'obs' | 'ria';

export interface DsnotArgs {
  weight: DeviceTensor;
  rows: number;
  cols: number;
  /** In: the initial mask. Out: the refined mask. */
  mask: DeviceTensor;
  /** N:M only: the initial metric (the pruning candidate is the group's smallest kept one). */
  initialMetric: DeviceTensor | null;
  columns: ColumnVectors;
  /** Pruned weights per row (unstructured). */
  k: number;
  nm: { n: number; m: number } | null;
  maxCycles: number;
  updateThreshold: number;
  /** Sign test (always on for N:M). */
  sameSign: boolean;
  /** H = (2/N) Σ XᵀX [cols, cols] (both triangles): with it the result carries the true errors. */
  hessian?: Hessian | null;
  /** Apply a candidate pair only if it lowers the true error, else stop the row (needs hessian). */
  guard?: boolean;
}

export interface DsnotResult {
  /** Per-row error e before and after refinement (f64 sums of W·sum_metric_row over pruned weights). */
  initError: Float64Array;
  error: Float64Array;
  /** Loop iterations the authors' loop would run: min(maxCycles, max over rows of swaps+1). */
  cycles: number;
  /** Per row, the true error ½·vᵀHv = ‖X·v‖² per calibration sequence, before and after (with hessian). */
  trueInit: Float64Array | null;
  trueFinal: Float64Array | null;
}

export interface SwapsArgs {
  weight: DeviceTensor;
  rows: number;
  cols: number;
  /** In: the initial mask. Out: the refined mask (same count per row, or per N:M group). */
  mask: DeviceTensor;
  /** H = (2/N) Σ XᵀX [cols, cols], both triangles. */
  hessian: Hessian;
  nm: { n: number; m: number } | null;
  /** Most swaps per row. */
  maxSwaps: number;
  /** Candidates per side of the search (assembly/swaps.ts): exact when ≥ min(#pruned, #kept). */
  width: number;
}

export interface SwapsResult {
  /** Per row, ½·vᵀHv before and after. */
  trueInit: Float64Array;
  trueFinal: Float64Array;
  /** Swaps applied per row. */
  swaps: Int32Array;
}

export interface SparseGptArgs {
  /** Updated in place (OBS updates, pruned entries zeroed). */
  weight: DeviceTensor;
  rows: number;
  cols: number;
  /** Out: 1 = pruned. */
  mask: DeviceTensor;
  /** H = (2/N) Σ XᵀX, [cols, cols] (not changed: the kernel factors a copy). */
  hessian: Hessian;
  sparsity: number;
  nm: { n: number; m: number } | null;
  blockSize: number;
  percDamp: number;
}

export interface SparseGptResult {
  /**
   * Per row ½·vᵀHv, v = the weight before minus after, from the OBS steps themselves (f64), or
   * null where the kernel cannot vouch for it (the caller then computes it with trueErrors).
   */
  trueError: Float64Array | null;
}

export interface PruneKernels {
  // --- stats ---
  statsCreate(cols: number, withGram: boolean): StatsHandle;
  /** Add one sequence x: [tokens, cols] f32. */
  statsAdd(h: StatsHandle, x: DeviceTensor, tokens: number): void;
  statsRead(h: StatsHandle): Promise<RawStats>;
  /**
   * Optional: H = scale·Σ XᵀX made in place, in the accumulator's own memory, and handed over
   * (statsFree no longer frees it; statsRead then gives gram null). Without it, H is read to the host.
   */
  statsKeepHessian?(h: StatsHandle, scale: number): BackendHessian;
  statsFree(h: StatsHandle): void;

  /** Optional: whether an f32 tensor holds NaN or ±inf (without it, callers check their host copy). */
  anyNonFinite?(t: DeviceTensor, length: number): boolean;

  // --- metric ---
  /** out[r,c] = the initial metric (f32). colScale: wanda sqrtScaler, obs c_j, ria scaler_row^¼; null for magnitude. */
  metric(weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null, out: DeviceTensor): void;

  // --- select ---
  /** mask[r,·] = 1 for the k smallest metrics of each row (ties: lower column). */
  selectRows(metric: DeviceTensor, rows: number, cols: number, k: number, mask: DeviceTensor): void;
  /** mask = 1 for the n smallest of every m consecutive columns of each row (ties: lower column). */
  selectNM(metric: DeviceTensor, rows: number, cols: number, n: number, m: number, mask: DeviceTensor): void;
  /** Magnitude baseline: t = sorted(metric)[rank]; mask = metric ≤ t over the whole matrix. */
  selectThreshold(metric: DeviceTensor, length: number, rank: number, mask: DeviceTensor): void;
  /**
   * Optional (wasm): metric() then selectRows (k) or selectNM (n:m), fused per chunk of rows, so
   * that no metric of the whole matrix is made: the same mask (both steps are per row), in a
   * fraction of the memory. Without it, callers make the whole metric and select from it.
   */
  metricSelect?(
    weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null,
    select: { k: number } | { n: number; m: number }, mask: DeviceTensor,
  ): void;

  // --- dsnot ---
  dsnot(args: DsnotArgs): Promise<DsnotResult>;
  /** weight[mask] = 0. */
  applyMask(weight: DeviceTensor, mask: DeviceTensor, length: number): void;

  // --- swaps --- (a backend without them says so: pruneLayer then runs them on wasm and reports that)
  readonly hasSwaps: boolean;
  swaps(args: SwapsArgs): Promise<SwapsResult>;
  /** Per row ½·vᵀHv with v = weight ⊙ mask (mask null: v = weight, e.g. a dense W − Ŵ). */
  trueErrors(weight: DeviceTensor, mask: DeviceTensor | null, rows: number, cols: number, hessian: Hessian): Promise<Float64Array>;

  // --- sparsegpt --- (a backend without it says so: pruneLayer then runs it on wasm and reports that)
  readonly hasSparseGpt: boolean;
  sparseGpt(args: SparseGptArgs): Promise<SparseGptResult>;
  /**
   * d = diag(U), U = upper Cholesky factor of (H + λI)⁻¹ with SparseGPT's dead-column and damping
   * rules; d = +inf for a dead column (diag(H) == 0: its weights are zeroed, so its saliency is 0,
   * which c = fround(d)² = +inf gives the 'obs' metric). Throws DsnotInputError when H + λI is
   * not positive definite.
   */
  obsDiagonal(hessian: Hessian, cols: number, percDamp: number): Float64Array;
}

// pruneLayer(): one linear layer, any backend (DESIGN.md). The steps, each a backend kernel:
//   initial metric (magnitude |W| / Wanda / SparseGPT's OBS saliency) → initial mask
//   (per row k smallest, per-matrix threshold, or N:M) → DSnoT refinement → W[mask] = 0.
// SparseGPT without DSnoT is a method of its own: its kernel makes the mask and updates W.
import type { Backend, DeviceKind, DeviceOption, DeviceTensor } from './backends/backend.js';
import type { MetricKind } from './backends/prune-kernels.js';
import { acquireBackend } from './backends/select.js';
import { columnVectors, type LayerStats } from './stats.js';
import { SPARSEGPT_BLOCK, validateLayerOptions, type LayerPlan } from './validate.js';

export type InitMethod = 'magnitude' | 'wanda' | 'sparsegpt';

export interface DsnotOptions {
  /** Most swap cycles per row (the authors' max_cycle_time). Default 50. */
  maxCycles?: number;
  /** A row stops once |e| ≤ this (the authors' update_threshold). Default 0.1. */
  updateThreshold?: number;
  /** Exponent p of var^p in the growing score (0: no division). Default 1. */
  powOfVarRegrowing?: number;
  /** Stop a row when a swap would flip the sign of its error (always on for N:M). Default false. */
  sameSign?: boolean;
}

export interface PruneLayerOptions {
  /** Row-major [rows, cols] (PyTorch nn.Linear layout). Never modified. */
  weight: Float32Array;
  rows: number;
  cols: number;
  stats: LayerStats;
  /** Unstructured ratio in [0, 1), or N:M (n pruned in every m consecutive columns of a row). */
  sparsity: number | { n: number; m: number };
  init: InitMethod;
  /** DSnoT refinement: options, or false for the initial method alone. Default: on, authors' defaults. */
  dsnot?: false | DsnotOptions;
  device?: DeviceOption;
  /**
   * Magnitude only: one threshold for the whole matrix (the authors' magnitude baseline) or the k
   * smallest per row (DSnoT's magnitude initial mask). Default: 'matrix' without DSnoT, 'row' with it.
   */
  magnitudeScope?: 'matrix' | 'row';
  /** Run on this backend instead of acquiring one for `device` (the pipeline's own). */
  backend?: Backend;
}

export interface PruneLayerResult {
  /** 1 = pruned, [rows, cols]. */
  mask: Uint8Array;
  /** The pruned weight (SparseGPT: also updated). */
  weight: Float32Array;
  /** The initial method's mask, before DSnoT. */
  initMask: Uint8Array;
  /** Per row, the surrogate error e = Σ_j (W_j − Ŵ_j)·sum_metric_row_j of the initial mask / of the result. */
  initError: Float32Array;
  error: Float32Array;
  /** DSnoT loop iterations (the authors' cycle count); 0 without DSnoT. */
  cycles: number;
  device: DeviceKind;
  /**
   * Milliseconds: initMs = initial metric and mask (read back included), dsnotMs = the DSnoT
   * kernel (or, without DSnoT, the error of the initial mask), totalMs = the whole call
   * (validation and copies in and out included).
   */
  timings: { initMs: number; dsnotMs: number; totalMs: number };
}

const SPARSEGPT_PERCDAMP = 0.01;

export async function pruneLayer(options: PruneLayerOptions): Promise<PruneLayerResult> {
  const t0 = performance.now();
  const plan = validateLayerOptions(options);
  const backend = options.backend ?? (await acquireBackend(plan.device));
  if (plan.init === 'sparsegpt' && !plan.dsnot) return sparseGptMethod(plan, backend, t0);

  const n = plan.rows * plan.cols;
  const tensors: DeviceTensor[] = [];
  const keep = <T extends DeviceTensor>(t: T) => (tensors.push(t), t);
  try {
    const weight = keep(backend.upload('f32', plan.weight));
    const metric = keep(backend.alloc('f32', n));
    const mask = keep(backend.alloc('u8', n));
    const tInit = performance.now();
    const columns = columnVectors(plan.stats, plan.dsnot ? plan.dsnot.powOfVarRegrowing : 1);

    const kind: MetricKind = plan.init === 'sparsegpt' ? 'obs' : plan.init;
    let colScale: Float32Array | null = null;
    if (kind === 'wanda') colScale = columns.sqrtScaler;
    if (kind === 'obs') colScale = obsColumnScale(await sparseGptHost(backend), plan.hessian!, plan.cols);
    backend.metric(weight, plan.rows, plan.cols, kind, colScale, metric);
    if (plan.nm) backend.selectNM(metric, plan.rows, plan.cols, plan.nm.n, plan.nm.m, mask);
    else if (plan.init === 'magnitude' && plan.magnitudeScope === 'matrix') {
      backend.selectThreshold(metric, n, Math.floor(n * plan.ratio), mask);
    } else backend.selectRows(metric, plan.rows, plan.cols, plan.k, mask);
    const initMask = (await backend.read(mask)) as Uint8Array;
    const tDsnot = performance.now();

    // Without DSnoT the same kernel with zero cycles measures the initial mask's error.
    const refined = await backend.dsnot({
      weight, rows: plan.rows, cols: plan.cols, mask,
      initialMetric: plan.nm ? metric : null, columns, k: plan.k, nm: plan.nm,
      maxCycles: plan.dsnot ? plan.dsnot.maxCycles : 0,
      updateThreshold: plan.dsnot ? plan.dsnot.updateThreshold : 0,
      sameSign: plan.dsnot ? plan.dsnot.sameSign : false,
    });
    const tDone = performance.now();
    backend.applyMask(weight, mask, n);
    const out = {
      mask: (await backend.read(mask)) as Uint8Array,
      weight: (await backend.read(weight)) as Float32Array,
    };
    return {
      ...out, initMask,
      initError: Float32Array.from(refined.initError),
      error: Float32Array.from(refined.error),
      cycles: refined.cycles,
      device: backend.kind,
      timings: { initMs: tDsnot - tInit, dsnotMs: tDone - tDsnot, totalMs: performance.now() - t0 },
    };
  } finally {
    for (const t of tensors.reverse()) backend.release(t);
  }
}

/** A backend that has the SparseGPT kernels: this one, or wasm (and the result says so). */
async function sparseGptHost(backend: Backend): Promise<Backend> {
  return backend.hasSparseGpt ? backend : acquireBackend('wasm');
}

/** c_j = fround(fround(d_j)²) with d = diag(U); d = +inf (a dead column) gives c = +inf → metric 0. */
function obsColumnScale(host: Backend, hessian: Float64Array, cols: number): Float32Array {
  const d = host.obsDiagonal(hessian, cols, SPARSEGPT_PERCDAMP);
  const c = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    const d32 = Math.fround(d[j]);
    c[j] = d32 * d32;
  }
  return c;
}

async function sparseGptMethod(plan: LayerPlan, requested: Backend, t0: number): Promise<PruneLayerResult> {
  const backend = await sparseGptHost(requested);
  const n = plan.rows * plan.cols;
  const weight = backend.upload('f32', plan.weight);
  const mask = backend.alloc('u8', n);
  try {
    const tInit = performance.now();
    await backend.sparseGpt({
      weight, rows: plan.rows, cols: plan.cols, mask, hessian: plan.hessian!,
      sparsity: plan.ratio, nm: plan.nm, blockSize: SPARSEGPT_BLOCK, percDamp: SPARSEGPT_PERCDAMP,
    });
    const t1 = performance.now();
    const out = { mask: (await backend.read(mask)) as Uint8Array, weight: (await backend.read(weight)) as Float32Array };
    // SparseGPT changes the kept weights too: its error is Σ_j (W_j − Ŵ_j)·sum_metric_row_j.
    const error = new Float32Array(plan.rows);
    const sum = plan.stats.sumMetricRow;
    for (let r = 0; r < plan.rows; r++) {
      let e = 0;
      for (let c = 0; c < plan.cols; c++) e += (plan.weight[r * plan.cols + c] - out.weight[r * plan.cols + c]) * sum[c];
      error[r] = e;
    }
    return {
      ...out, initMask: out.mask.slice(), initError: error.slice(), error, cycles: 0,
      device: backend.kind, timings: { initMs: t1 - tInit, dsnotMs: 0, totalMs: performance.now() - t0 },
    };
  } finally {
    backend.release(mask);
    backend.release(weight);
  }
}

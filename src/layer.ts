// pruneLayer(): one linear layer, any backend (DESIGN.md). The steps, each a backend kernel:
//   initial metric (magnitude |W| / Wanda / SparseGPT's OBS saliency / RIA) → initial mask
//   (per row k smallest, per-matrix threshold, or N:M) → DSnoT refinement → W[mask] = 0.
// SparseGPT without DSnoT is a method of its own: its kernel makes the mask and updates W.
// pruneLayerOnBackend does it all on a weight already on a backend, in place; pruneLayer runs it
// on an uploaded copy of its host weight.
import type { Backend, DeviceKind, DeviceOption, DeviceTensor } from './backends/backend.js';
import type { MetricKind } from './backends/prune-kernels.js';
import { acquireBackend } from './backends/select.js';
import { columnVectors, type LayerStats } from './stats.js';
import { Workspace } from './models/decoder.js';
import { SPARSEGPT_BLOCK, validateLayerOptions, validateOnBackendOptions, type LayerSettingsPlan } from './validate.js';

export type InitMethod = 'magnitude' | 'wanda' | 'sparsegpt' | 'ria';

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

/** What pruneLayer and pruneLayerOnBackend share: the shape, the statistics and the method. */
export interface LayerSettings {
  rows: number;
  cols: number;
  stats: LayerStats;
  /** Unstructured ratio in [0, 1), or N:M (n pruned in every m consecutive columns of a row). */
  sparsity: number | { n: number; m: number };
  init: InitMethod;
  /** DSnoT refinement: options, or false for the initial method alone. Default: on, authors' defaults. */
  dsnot?: false | DsnotOptions;
  /**
   * Magnitude only: one threshold for the whole matrix (the authors' magnitude baseline) or the k
   * smallest per row (DSnoT's magnitude initial mask). Default: 'matrix' without DSnoT, 'row' with it.
   */
  magnitudeScope?: 'matrix' | 'row';
}

export interface PruneLayerOptions extends LayerSettings {
  /** Row-major [rows, cols] (PyTorch nn.Linear layout). Never modified. */
  weight: Float32Array;
  device?: DeviceOption;
  /** Run on this backend instead of acquiring one for `device`. */
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

/**
 * Advanced: pruneLayer on a weight that is already on a backend (the pipeline's decoder layer),
 * pruned there in place, so that no copy of it is uploaded. pruneLayer is this function on an
 * uploaded copy: one implementation, the same masks.
 */
export interface PruneOnBackendOptions extends LayerSettings {
  /**
   * f32 [rows, cols] on `backend`, pruned IN PLACE (pruned entries zeroed; SparseGPT as a method
   * also updates the kept ones). Its values must be finite: they are not checked here, since that
   * would take the host copy this function exists to avoid.
   */
  weight: DeviceTensor;
  backend: Backend;
  /**
   * Device buffers kept between calls (the metric and the mask): linears of one shape reuse them
   * instead of allocating their own. The caller disposes it. Default: this call's own buffers.
   */
  scratch?: Workspace;
  /**
   * What comes back to the host: false for nothing, true for a new array, or an array of exactly
   * rows × cols elements to fill (a buffer reused across calls saves a full-size allocation per
   * linear). Defaults: mask true, weight false, initMask false. SparseGPT as a method reads the
   * updated weight in any case (its error needs it) and returns it.
   */
  readBack?: { mask?: boolean | Uint8Array; weight?: boolean | Float32Array; initMask?: boolean };
}

export interface PruneOnBackendResult extends Omit<PruneLayerResult, 'mask' | 'weight' | 'initMask'> {
  /** As readBack asked; null where it did not. */
  mask: Uint8Array | null;
  weight: Float32Array | null;
  initMask: Uint8Array | null;
}

type ReadBack = Required<NonNullable<PruneOnBackendOptions['readBack']>>;

const SPARSEGPT_PERCDAMP = 0.01;
/** pruneLayerOnBackend's buffers in a caller's scratch Workspace. */
const SCRATCH_METRIC = 'pruneLayer.metric';
const SCRATCH_MASK = 'pruneLayer.mask';

export async function pruneLayer(options: PruneLayerOptions): Promise<PruneLayerResult> {
  const t0 = performance.now();
  const plan = validateLayerOptions(options);
  const requested = options.backend ?? (await acquireBackend(plan.device));
  // SparseGPT as a method runs where its kernels are: the copy goes straight there.
  const backend = plan.init === 'sparsegpt' && !plan.dsnot ? await sparseGptHost(requested) : requested;
  const weight = backend.upload('f32', plan.weight);
  try {
    const r = await pruneInPlace(plan, backend, weight, { mask: true, weight: true, initMask: true }, undefined, plan.weight);
    return { ...r, mask: r.mask!, weight: r.weight!, initMask: r.initMask!, timings: { ...r.timings, totalMs: performance.now() - t0 } };
  } finally {
    backend.release(weight);
  }
}

export async function pruneLayerOnBackend(options: PruneOnBackendOptions): Promise<PruneOnBackendResult> {
  const t0 = performance.now();
  const plan = validateOnBackendOptions(options);
  const rb = options.readBack ?? {};
  const readBack: ReadBack = { mask: rb.mask ?? true, weight: rb.weight ?? false, initMask: rb.initMask ?? false };
  const r = await pruneInPlace(plan, options.backend, options.weight, readBack, options.scratch, null);
  return { ...r, timings: { ...r.timings, totalMs: performance.now() - t0 } };
}

/**
 * The one implementation. `original`: the weight's values before pruning when the caller has
 * them on the host (SparseGPT's error needs them; otherwise they are read back first).
 */
async function pruneInPlace(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, readBack: ReadBack,
  scratch: Workspace | undefined, original: Float32Array | null,
): Promise<PruneOnBackendResult> {
  if (plan.init === 'sparsegpt' && !plan.dsnot) return sparseGptMethod(plan, backend, weight, readBack, scratch, original);

  const n = plan.rows * plan.cols;
  const own = scratch ?? new Workspace(backend);
  try {
    const metric = own.get(SCRATCH_METRIC, n, 'f32');
    const mask = own.get(SCRATCH_MASK, n, 'u8');
    const tInit = performance.now();
    const columns = columnVectors(plan.stats, plan.dsnot ? plan.dsnot.powOfVarRegrowing : 1);

    const kind: MetricKind = plan.init === 'sparsegpt' ? 'obs' : plan.init;
    let colScale: Float32Array | null = null;
    if (kind === 'wanda') colScale = columns.sqrtScaler;
    if (kind === 'ria') colScale = riaColumnScale(columns.sqrtScaler);
    if (kind === 'obs') colScale = obsColumnScale(await sparseGptHost(backend), plan.hessian!, plan.cols);
    backend.metric(weight, plan.rows, plan.cols, kind, colScale, metric);
    if (plan.nm) backend.selectNM(metric, plan.rows, plan.cols, plan.nm.n, plan.nm.m, mask);
    else if (plan.init === 'magnitude' && plan.magnitudeScope === 'matrix') {
      backend.selectThreshold(metric, n, Math.floor(n * plan.ratio), mask);
    } else backend.selectRows(metric, plan.rows, plan.cols, plan.k, mask);
    const initMask = readBack.initMask ? ((await backend.read(mask)) as Uint8Array) : null;
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
    return {
      mask: await readInto(backend, mask, readBack.mask),
      weight: await readInto(backend, weight, readBack.weight),
      initMask,
      initError: Float32Array.from(refined.initError),
      error: Float32Array.from(refined.error),
      cycles: refined.cycles,
      device: backend.kind,
      timings: { initMs: tDsnot - tInit, dsnotMs: tDone - tDsnot, totalMs: performance.now() - tInit },
    };
  } finally {
    if (!scratch) own.dispose();
  }
}

/** A tensor back on the host as readBack asks: not at all, into a new array, or into the given one. */
async function readInto<T extends Float32Array | Uint8Array>(backend: Backend, t: DeviceTensor, want: boolean | T): Promise<T | null> {
  if (want === false) return null;
  return (want === true ? await backend.read(t) : await backend.read(t, want)) as T;
}

/** A backend that has the SparseGPT kernels: this one, or wasm (and the result says so). */
async function sparseGptHost(backend: Backend): Promise<Backend> {
  return backend.hasSparseGpt ? backend : acquireBackend('wasm');
}

/**
 * RIA's activation factor ‖x_j‖^a with a = 0.5 and ‖x_j‖ = √scaler_row_j, as the authors write it:
 * (torch.sqrt(scaler_row))**args.a (biomedical-cybernetics/Relative-importance-and-activation-pruning,
 * lib/prune.py, prune_ria; main.py's --a defaults to 0.5). So s_j = fround(√fround(√scaler_row_j)):
 * f64 square roots are correctly rounded, so every engine gives the same f32 column scale.
 */
function riaColumnScale(sqrtScaler: Float32Array): Float32Array {
  return sqrtScaler.map(Math.sqrt);
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

async function sparseGptMethod(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, readBack: ReadBack,
  scratch: Workspace | undefined, known: Float32Array | null,
): Promise<PruneOnBackendResult> {
  const host = await sparseGptHost(backend);
  const n = plan.rows * plan.cols;
  // Its error compares the kept weights before and after the update: keep the values before.
  const original = known ?? ((await backend.read(weight)) as Float32Array);
  // A backend without the kernels (WebGPU) lends the weight to wasm and takes the result back.
  const onHost = host === backend ? weight : host.upload('f32', original);
  const sharedMask = host === backend && scratch !== undefined;
  const mask = sharedMask ? scratch.get(SCRATCH_MASK, n, 'u8') : host.alloc('u8', n);
  try {
    const tInit = performance.now();
    await host.sparseGpt({
      weight: onHost, rows: plan.rows, cols: plan.cols, mask, hessian: plan.hessian!,
      sparsity: plan.ratio, nm: plan.nm, blockSize: SPARSEGPT_BLOCK, percDamp: SPARSEGPT_PERCDAMP,
    });
    const t1 = performance.now();
    const wantMask = readBack.mask !== false || readBack.initMask;
    const outMask = wantMask ? await readInto(host, mask, readBack.mask === false ? true : readBack.mask) : null;
    const updated = (await readInto(host, onHost, readBack.weight === false ? true : readBack.weight))!;
    if (onHost !== weight) backend.write(weight, updated);
    // SparseGPT changes the kept weights too: its error is Σ_j (W_j − Ŵ_j)·sum_metric_row_j.
    const error = new Float32Array(plan.rows);
    const sum = plan.stats.sumMetricRow;
    for (let r = 0; r < plan.rows; r++) {
      let e = 0;
      for (let c = 0; c < plan.cols; c++) e += (original[r * plan.cols + c] - updated[r * plan.cols + c]) * sum[c];
      error[r] = e;
    }
    return {
      mask: readBack.mask === false ? null : outMask, weight: updated,
      initMask: readBack.initMask ? outMask!.slice() : null, initError: error.slice(), error, cycles: 0,
      device: host.kind, timings: { initMs: t1 - tInit, dsnotMs: 0, totalMs: performance.now() - tInit },
    };
  } finally {
    if (!sharedMask) host.release(mask);
    if (onHost !== weight) host.release(onHost);
  }
}

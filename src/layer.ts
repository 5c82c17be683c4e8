// pruneLayer(): one linear layer, any backend (DESIGN.md). The steps, each a backend kernel:
//   initial metric (magnitude |W| / Wanda / SparseGPT's OBS saliency / RIA) → initial mask
//   (per row k smallest, per-matrix threshold, or N:M) → refinement → W[mask] = 0
// where the refinement is DSnoT (the authors', optionally guarded by the true error), exact
// swaps (ALGORITHM.md §14.3), or none. With stats.hessian the true error ‖X(W − Ŵ)‖² of the
// initial and the final mask comes along. SparseGPT without a refinement is a method of its own:
// its kernel makes the mask and updates W. Swaps, the guard and the true error run where their
// kernels are (wasm; a backend without them lends the layer to wasm and the result says so).
// pruneLayerOnBackend does it all on a weight already on a backend, in place; pruneLayer runs it
// on an uploaded copy of its host weight.
import type { Backend, DeviceKind, DeviceOption, DeviceTensor } from './backends/backend.js';
import type { ColumnVectors, Hessian, MetricKind } from './backends/prune-kernels.js';
import type { ThreadsOption } from './backends/wasm/threads.js';
import { acquireBackend } from './backends/select.js';
import { columnVectors, type LayerStats } from './stats.js';
import { Workspace } from './models/decoder.js';
import { SPARSEGPT_BLOCK, checkWeightValues, validateLayerOptions, validateOnBackendOptions, type LayerSettingsPlan } from './validate.js';

export type InitMethod = 'magnitude' | 'wanda' | 'sparsegpt' | 'ria';
export type RefineMethod = 'none' | 'dsnot' | 'swaps';

export interface DsnotOptions {
  /** Most swap cycles per row (the authors' max_cycle_time). Default 50. */
  maxCycles?: number;
  /** A row stops once |e| ≤ this (the authors' update_threshold). Default 0.1. */
  updateThreshold?: number;
  /** Exponent p of var^p in the growing score (0: no division). Default 1. */
  powOfVarRegrowing?: number;
  /** Stop a row when a swap would flip the sign of its error (always on for N:M). Default false. */
  sameSign?: boolean;
  /**
   * Apply each of the authors' candidate pairs only if it lowers the row's true error, else stop
   * the row (needs stats.hessian). false: the authors' DSnoT bit for bit. Default true.
   */
  guard?: boolean;
}

export interface SwapsOptions {
  /** Most swaps per row. Default 50. */
  maxSwaps?: number;
  /** Candidates per side of the best-pair search (exact when ≥ min(#pruned, #kept) of a row). Default 16. */
  width?: number;
}

/** Per row, the true error ‖X·(w − ŵ)‖² per calibration sequence (= ½·vᵀHv), before and after. */
export interface TrueErrors {
  initial: Float64Array;
  final: Float64Array;
}

/** What pruneLayer and pruneLayerOnBackend share: the shape, the statistics and the method. */
export interface LayerSettings {
  rows: number;
  cols: number;
  stats: LayerStats;
  /** Unstructured ratio in [0, 1), or N:M (n pruned in every m consecutive columns of a row). */
  sparsity: number | { n: number; m: number };
  init: InitMethod;
  /**
   * The refinement of the initial mask. Default 'swaps' (needs stats.hessian); without `refine`,
   * `dsnot: false` means 'none' and `dsnot: {…}` means 'dsnot'.
   */
  refine?: RefineMethod;
  /** DSnoT options (refine 'dsnot'), or false for the initial method alone. */
  dsnot?: false | DsnotOptions;
  /** Exact-swap options (refine 'swaps'). */
  swaps?: SwapsOptions;
  /**
   * Magnitude only: one threshold for the whole matrix (the authors' magnitude baseline) or the k
   * smallest per row (DSnoT's magnitude initial mask). Default: 'matrix' without DSnoT, 'row' with it.
   */
  magnitudeScope?: 'matrix' | 'row';
  /**
   * Threads of the wasm kernels (here, or where a WebGPU backend lends work to wasm): 'auto'
   * (default: every core, at most 16) or a count. Results are bit-identical for every count.
   */
  threads?: ThreadsOption;
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
  /** Exact swaps applied, summed over the rows (refine 'swaps'; 0 otherwise). */
  swaps: number;
  /** The true layer error per row before and after refinement; null without stats.hessian. */
  trueError: TrueErrors | null;
  /** Where the refinement ran (the initial metric may have run on the requested backend). */
  device: DeviceKind;
  /** CPU threads of the wasm kernels that ran the refinement (1 when it ran on WebGPU). */
  threads: number;
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
  /**
   * u8 [rows, cols] tensors on `backend` that receive the final and the initial mask and keep
   * them there, for a caller that writes them out from device memory (`dsnot layer` on wasm):
   * no host copy, and the final one is the working mask itself. Default: neither.
   */
  masksOnBackend?: MasksOnBackend;
  /**
   * Check that the weight's values are finite first, on the backend (a bad one is then named
   * from a host copy), as pruneLayer does. Default false: the caller vouches for them.
   */
  checkValues?: boolean;
}

export interface MasksOnBackend {
  mask?: DeviceTensor;
  initMask?: DeviceTensor;
}

export interface PruneOnBackendResult extends Omit<PruneLayerResult, 'mask' | 'weight' | 'initMask'> {
  /** As readBack asked; null where it did not. */
  mask: Uint8Array | null;
  weight: Float32Array | null;
  initMask: Uint8Array | null;
}

type ReadBack = (Required<NonNullable<PruneOnBackendOptions['readBack']>> | { mask: Uint8Array; weight: Float32Array; initMask: Uint8Array }) & {
  keep: MasksOnBackend;
};

const SPARSEGPT_PERCDAMP = 0.01;
/** pruneLayerOnBackend's buffers in a caller's scratch Workspace. */
const SCRATCH_METRIC = 'pruneLayer.metric';
const SCRATCH_MASK = 'pruneLayer.mask';

export async function pruneLayer(options: PruneLayerOptions): Promise<PruneLayerResult> {
  const t0 = performance.now();
  const plan = validateLayerOptions(options, false);
  // SparseGPT as a method, swaps and the guard run where their kernels are: the copy goes straight there.
  const backend = await hostFor(plan, options.backend ?? (await acquireBackend(plan.device, { threads: plan.threads })));
  const weight = backend.upload('f32', plan.weight);
  // The results' arrays are made first, so that their pages are touched while threads compute.
  const n = plan.rows * plan.cols;
  const out = { mask: new Uint8Array(n), weight: new Float32Array(n), initMask: new Uint8Array(n), keep: {} };
  const stops = [out.initMask, out.mask, out.weight].map((a) => prefaulting(backend, a));
  try {
    await checkValuesOn(backend, weight, plan, plan.weight);
    const r = await pruneInPlace(plan, backend, weight, out, undefined, plan.weight);
    return { ...r, mask: r.mask!, weight: r.weight!, initMask: r.initMask!, timings: { ...r.timings, totalMs: performance.now() - t0 } };
  } finally {
    for (const stop of stops) stop();
    backend.release(weight);
  }
}

/** Arrays being prefaulted by a backend, and how to stop that before they are written. */
const prefaulted = new WeakMap<ArrayBufferView, () => void>();

function prefaulting(backend: Backend, a: Float32Array | Uint8Array): () => void {
  const stop = backend.prefault?.(a) ?? (() => {});
  prefaulted.set(a, stop);
  return stop;
}

export async function pruneLayerOnBackend(options: PruneOnBackendOptions): Promise<PruneOnBackendResult> {
  const t0 = performance.now();
  const plan = validateOnBackendOptions(options);
  const rb = options.readBack ?? {};
  const readBack: ReadBack = { mask: rb.mask ?? true, weight: rb.weight ?? false, initMask: rb.initMask ?? false, keep: options.masksOnBackend ?? {} };
  if (options.checkValues) await checkValuesOn(options.backend, options.weight, plan, null);
  const r = await pruneInPlace(plan, options.backend, options.weight, readBack, options.scratch, null);
  return { ...r, timings: { ...r.timings, totalMs: performance.now() - t0 } };
}

/** What decides the backend a layer runs on: the method and the wasm threads (a plan's fields). */
export type LayerMethod = Pick<LayerSettingsPlan, 'init' | 'refine' | 'dsnot' | 'threads'>;

const needsSparseGpt = (plan: LayerMethod): boolean => plan.init === 'sparsegpt' && plan.refine === 'none';
const needsSwaps = (plan: LayerMethod): boolean => plan.refine === 'swaps' || (plan.dsnot?.guard ?? false);

/**
 * The backend pruneLayer runs `method` on for `device`: the requested one, or wasm where the
 * method's kernels are (SparseGPT as a method, exact swaps, the guard). A caller that fills the
 * weight itself (`dsnot layer` reading it from a file) allocates it there.
 */
export async function layerBackend(method: LayerMethod, device: DeviceOption): Promise<Backend> {
  return hostFor(method, await acquireBackend(device, { threads: method.threads }));
}

async function hostFor(method: LayerMethod, requested: Backend): Promise<Backend> {
  if (needsSparseGpt(method)) return sparseGptHost(requested, method);
  return needsSwaps(method) ? swapsHost(requested, method) : requested;
}

/**
 * Fails naming the first NaN or ±inf of the weight: checked on the backend (over its threads),
 * then located on the host copy (`host`, or one read back: only when a value is bad).
 */
async function checkValuesOn(backend: Backend, weight: DeviceTensor, plan: LayerSettingsPlan, host: Float32Array | null): Promise<void> {
  if (backend.anyNonFinite && !backend.anyNonFinite(weight, plan.rows * plan.cols)) return;
  checkWeightValues(host ?? ((await backend.read(weight)) as Float32Array), plan.cols);
}

/**
 * The one implementation. `original`: the weight's values before pruning when the caller has
 * them on the host (SparseGPT's error needs them; otherwise they are read back first).
 */
async function pruneInPlace(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, readBack: ReadBack,
  scratch: Workspace | undefined, original: Float32Array | null,
): Promise<PruneOnBackendResult> {
  if (needsSparseGpt(plan)) return sparseGptMethod(plan, backend, weight, readBack, scratch, original);

  const n = plan.rows * plan.cols;
  const own = scratch ?? new Workspace(backend);
  try {
    const metric = needsWholeMetric(plan, backend) ? own.get(SCRATCH_METRIC, n, 'f32') : null;
    const mask = readBack.keep.mask ?? own.get(SCRATCH_MASK, n, 'u8');
    const tInit = performance.now();
    const columns = columnVectors(plan.stats, plan.dsnot ? plan.dsnot.powOfVarRegrowing : 1);
    await initialMask(plan, backend, weight, metric, mask, columns.sqrtScaler);
    if (readBack.keep.initMask) await copyMask(backend, mask, backend, readBack.keep.initMask);
    const initMask = readBack.initMask ? await readInto(backend, mask, readBack.initMask) : null;
    const tRefine = performance.now();
    const refined = await refine(plan, backend, weight, mask, metric, columns);
    const tDone = performance.now();
    backend.applyMask(weight, mask, n);
    return {
      mask: await readInto(backend, mask, readBack.mask),
      weight: await readInto(backend, weight, readBack.weight),
      initMask,
      ...refined,
      threads: await threadsOf(refined.device, backend, plan),
      timings: { initMs: tRefine - tInit, dsnotMs: tDone - tRefine, totalMs: performance.now() - tInit },
    };
  } finally {
    if (!scratch) own.dispose();
  }
}

/**
 * Whether the initial metric must exist for the whole matrix at once: on a backend without the
 * fused metric + selection, for the whole-matrix threshold (the magnitude baseline), and for N:M
 * refinements, whose pruning candidates come from it. Elsewhere one chunk's at a time suffices.
 */
function needsWholeMetric(plan: LayerSettingsPlan, backend: Backend): boolean {
  const threshold = !plan.nm && plan.init === 'magnitude' && plan.magnitudeScope === 'matrix';
  return !backend.metricSelect || threshold || (plan.nm !== null && plan.refine !== 'none');
}

/** dst = src, a mask on `from` into one on `to` (the same backend: a copy on it where it has one). */
async function copyMask(from: Backend, src: DeviceTensor, to: Backend, dst: DeviceTensor): Promise<void> {
  if (from === to && to.copy) to.copy(src, dst);
  else to.write(dst, (await from.read(src)) as Uint8Array);
}

/**
 * The initial method's mask into `mask` (metric: scratch of rows × cols, or null where
 * needsWholeMetric says the fused kernel may go a chunk at a time; sqrtScaler: columnVectors').
 */
async function initialMask(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, metric: DeviceTensor | null, mask: DeviceTensor, sqrtScaler: Float32Array,
): Promise<void> {
  const n = plan.rows * plan.cols;
  const kind: MetricKind = plan.init === 'sparsegpt' ? 'obs' : plan.init;
  let colScale: Float32Array | null = null;
  if (kind === 'wanda') colScale = sqrtScaler;
  if (kind === 'ria') colScale = riaColumnScale(sqrtScaler);
  if (kind === 'obs') colScale = obsColumnScale(await sparseGptHost(backend, plan), plan.hessian!, plan.cols);
  if (!metric) return backend.metricSelect!(weight, plan.rows, plan.cols, kind, colScale, plan.nm ?? { k: plan.k }, mask);
  backend.metric(weight, plan.rows, plan.cols, kind, colScale, metric);
  if (plan.nm) backend.selectNM(metric, plan.rows, plan.cols, plan.nm.n, plan.nm.m, mask);
  else if (plan.init === 'magnitude' && plan.magnitudeScope === 'matrix') {
    backend.selectThreshold(metric, n, Math.floor(n * plan.ratio), mask);
  } else backend.selectRows(metric, plan.rows, plan.cols, plan.k, mask);
}

type Refined = Pick<PruneOnBackendResult, 'initError' | 'error' | 'cycles' | 'swaps' | 'trueError' | 'device'>;

/**
 * The refinement of `mask` in place, with the surrogate errors (DSnoT's e) and, when there is a
 * Hessian, the true errors of the initial and the final mask.
 */
async function refine(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, mask: DeviceTensor, metric: DeviceTensor | null, columns: ColumnVectors,
): Promise<Refined> {
  const h = plan.hessian;
  // The authors' kernel: DSnoT's cycles, or zero cycles to measure a mask's surrogate error.
  const dsnotOn = (b: Backend, w: DeviceTensor, m: DeviceTensor, cycles: number, withH: boolean, initialMetric = metric) => b.dsnot({
    weight: w, rows: plan.rows, cols: plan.cols, mask: m,
    initialMetric: plan.nm ? initialMetric : null, columns, k: plan.k, nm: plan.nm,
    maxCycles: cycles, updateThreshold: plan.dsnot?.updateThreshold ?? 0, sameSign: plan.dsnot?.sameSign ?? false,
    hessian: withH ? h : null, guard: plan.dsnot?.guard ?? false,
  });
  const f32 = (x: Float64Array): Float32Array => Float32Array.from(x);

  if (plan.refine === 'swaps') {
    const before = await dsnotOn(backend, weight, mask, 0, false);
    const r = await onSwapsHost(plan, backend, weight, mask, (b, w, m) => b.swaps({
      weight: w, rows: plan.rows, cols: plan.cols, mask: m, hessian: h!, nm: plan.nm,
      maxSwaps: plan.swaps!.maxSwaps, width: plan.swaps!.width,
    }));
    const after = await dsnotOn(backend, weight, mask, 0, false);
    return {
      initError: f32(before.initError), error: f32(after.error), cycles: 0,
      swaps: r.value.swaps.reduce((a, x) => a + x, 0),
      trueError: { initial: r.value.trueInit, final: r.value.trueFinal }, device: r.device,
    };
  }
  const cycles = plan.dsnot ? plan.dsnot.maxCycles : 0;
  if (plan.dsnot?.guard || (h && backend.hasSwaps)) {
    // One kernel gives the mask and both true errors (on a backend with the true-error kernels;
    // lent there, N:M's initial metric goes along).
    const r = await onSwapsHost(plan, backend, weight, mask, async (b, w, m) => {
      const im = plan.nm && b !== backend ? b.upload('f32', (await backend.read(metric!)) as Float32Array) : metric;
      try {
        return await dsnotOn(b, w, m, cycles, h !== null, im);
      } finally {
        if (im && im !== metric) b.release(im);
      }
    });
    const trueError = r.value.trueInit && r.value.trueFinal ? { initial: r.value.trueInit, final: r.value.trueFinal } : null;
    return { initError: f32(r.value.initError), error: f32(r.value.error), cycles: r.value.cycles, swaps: 0, trueError, device: r.device };
  }
  // The authors' DSnoT (or none) where the layer is; the true errors, if wanted, from wasm.
  const initial = h ? await trueErrorsOf(backend, weight, mask, plan) : null;
  const r = await dsnotOn(backend, weight, mask, cycles, false);
  const trueError = h ? { initial: initial!, final: cycles > 0 ? await trueErrorsOf(backend, weight, mask, plan) : initial! } : null;
  return { initError: f32(r.initError), error: f32(r.error), cycles: r.cycles, swaps: 0, trueError, device: backend.kind };
}

async function trueErrorsOf(backend: Backend, weight: DeviceTensor, mask: DeviceTensor | null, plan: LayerSettingsPlan): Promise<Float64Array> {
  const r = await onSwapsHost(plan, backend, weight, mask, (b, w, m) => b.trueErrors(w, m, plan.rows, plan.cols, plan.hessian!), false);
  return r.value;
}

/**
 * Runs fn on a backend with the swap kernels: this one, or wasm with copies of the weight and
 * the mask (the mask, which fn may change, is copied back unless `writesMask` is false).
 */
async function onSwapsHost<T>(
  plan: LayerSettingsPlan, backend: Backend, weight: DeviceTensor, mask: DeviceTensor | null,
  fn: (b: Backend, w: DeviceTensor, m: DeviceTensor) => Promise<T>, writesMask = true,
): Promise<{ value: T; device: DeviceKind }> {
  if (backend.hasSwaps) return { value: await fn(backend, weight, mask as DeviceTensor), device: backend.kind };
  const host = await swapsHost(backend, plan);
  const w = host.upload('f32', (await backend.read(weight)) as Float32Array);
  const m = mask ? host.upload('u8', (await backend.read(mask)) as Uint8Array) : null;
  try {
    const value = await fn(host, w, m as DeviceTensor);
    if (m && writesMask) backend.write(mask!, (await host.read(m)) as Uint8Array);
    return { value, device: host.kind };
  } finally {
    host.release(w);
    if (m) host.release(m);
  }
}

/** The thread count of the wasm kernels that ran on `device` (this backend, or the wasm one it lends to). */
async function threadsOf(device: DeviceKind, backend: Backend, plan: LayerSettingsPlan): Promise<number> {
  if (device !== 'wasm') return 1;
  return backend.kind === 'wasm' ? backend.threads : (await acquireBackend('wasm', { threads: plan.threads })).threads;
}

/** A backend that has the exact-swap and true-error kernels: this one, or wasm. */
async function swapsHost(backend: Backend, plan: Pick<LayerSettingsPlan, 'threads'>): Promise<Backend> {
  return backend.hasSwaps ? backend : acquireBackend('wasm', { threads: plan.threads });
}

/** A tensor back on the host as readBack asks: not at all, into a new array, or into the given one. */
async function readInto<T extends Float32Array | Uint8Array>(backend: Backend, t: DeviceTensor, want: boolean | T): Promise<T | null> {
  if (want === false) return null;
  if (want !== true) prefaulted.get(want)?.();
  return (want === true ? await backend.read(t) : await backend.read(t, want)) as T;
}

/** A backend that has the SparseGPT kernels: this one, or wasm (and the result says so). */
async function sparseGptHost(backend: Backend, plan: Pick<LayerSettingsPlan, 'threads'>): Promise<Backend> {
  return backend.hasSparseGpt ? backend : acquireBackend('wasm', { threads: plan.threads });
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
function obsColumnScale(host: Backend, hessian: Hessian, cols: number): Float32Array {
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
  const host = await sparseGptHost(backend, plan);
  const n = plan.rows * plan.cols;
  const keep = readBack.keep;
  // Its error compares the kept weights before and after the update: keep the values before.
  const original = known ?? ((await backend.read(weight)) as Float32Array);
  // A backend without the kernels (WebGPU) lends the weight to wasm and takes the result back.
  const onHost = host === backend ? weight : host.upload('f32', original);
  const sharedMask = host === backend && scratch !== undefined;
  const mask = host === backend && keep.mask ? keep.mask : sharedMask ? scratch.get(SCRATCH_MASK, n, 'u8') : host.alloc('u8', n);
  try {
    const tInit = performance.now();
    const { trueError: obsTrueError } = await host.sparseGpt({
      weight: onHost, rows: plan.rows, cols: plan.cols, mask, hessian: plan.hessian!,
      sparsity: plan.ratio, nm: plan.nm, blockSize: SPARSEGPT_BLOCK, percDamp: SPARSEGPT_PERCDAMP,
    });
    const t1 = performance.now();
    // Its initial mask is its final one.
    for (const into of [keep.mask, keep.initMask]) if (into && into !== mask) await copyMask(host, mask, backend, into);
    const wantMask = readBack.mask !== false || readBack.initMask;
    const outMask = wantMask ? await readInto(host, mask, readBack.mask === false ? true : readBack.mask) : null;
    const updated = (await readInto(host, onHost, readBack.weight === false ? true : readBack.weight))!;
    if (onHost !== weight) backend.write(weight, updated);
    const { error, trueError } = await sparseGptErrors(plan, host, original, updated, obsTrueError);
    return {
      mask: readBack.mask === false ? null : outMask, weight: updated,
      initMask: readBack.initMask ? outMask!.slice() : null, initError: error.slice(), error, cycles: 0, swaps: 0, trueError,
      device: host.kind, threads: host.threads, timings: { initMs: t1 - tInit, dsnotMs: 0, totalMs: performance.now() - tInit },
    };
  } finally {
    if (!sharedMask && mask !== keep.mask) host.release(mask);
    if (onHost !== weight) host.release(onHost);
  }
}

/**
 * SparseGPT's errors, before = after: it changes the kept weights too, so v = W − Ŵ is dense. The
 * true error comes from the kernel's OBS steps where it could vouch for it (fromSteps), else from
 * a dense vᵀHv (rows·cols², as long as SparseGPT itself).
 */
async function sparseGptErrors(
  plan: LayerSettingsPlan, host: Backend, original: Float32Array, updated: Float32Array, fromSteps: Float64Array | null,
): Promise<{ error: Float32Array; trueError: TrueErrors }> {
  // The surrogate error: Σ_j (W_j − Ŵ_j)·sum_metric_row_j.
  const error = new Float32Array(plan.rows);
  const sum = plan.stats.sumMetricRow;
  for (let r = 0; r < plan.rows; r++) {
    let e = 0;
    for (let c = 0; c < plan.cols; c++) e += (original[r * plan.cols + c] - updated[r * plan.cols + c]) * sum[c];
    error[r] = e;
  }
  if (fromSteps) return { error, trueError: { initial: fromSteps, final: fromSteps } };
  const diff = host.upload('f32', Float32Array.from(original, (x, i) => x - updated[i]));
  try {
    const te = await host.trueErrors(diff, null, plan.rows, plan.cols, plan.hessian!);
    return { error, trueError: { initial: te, final: te } };
  } finally {
    host.release(diff);
  }
}

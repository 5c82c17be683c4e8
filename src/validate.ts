// Input checks of the per-layer API. Everything pruneLayer() is given is checked here before
// any kernel runs, so bad input ends in one DsnotInputError naming the problem, never in a crash
// or a silently wrong mask.
import type { Backend, DeviceOption, DeviceTensor } from './backends/backend.js';
import { isBackendHessian, type BackendHessian, type Hessian } from './backends/prune-kernels.js';
import type { DsnotOptions, InitMethod, LayerSettings, PruneLayerOptions, PruneOnBackendOptions, RefineMethod, SwapsOptions } from './layer.js';
import type { LayerStats } from './stats.js';

export class DsnotInputError extends Error {
  override name = 'DsnotInputError';
}

export type FloatVector = Float32Array | Float64Array;

export function fail(message: string): never {
  throw new DsnotInputError(message);
}

export function checkPositiveInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${name} must be a positive integer (got ${String(v)})`);
  return v;
}

export function checkNonNegativeInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`${name} must be a non-negative integer (got ${String(v)})`);
  return v;
}

export function checkFiniteNumber(name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    fail(`${name} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ''} (got ${String(v)})`);
  }
  return v;
}

/** Index of the first NaN/±Infinity, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    // x - x is 0 for finite x and NaN for NaN and ±Infinity: one test for both.
    if (x - x !== 0) return i;
  }
  return -1;
}

/**
 * A per-column statistics vector: Float32Array or Float64Array of `cols` values, every value
 * finite and representable as a finite f32 (the kernels derive f32 columns from it),
 * non-negative where `nonNegative`.
 */
export function checkColumnVector(name: string, v: unknown, cols: number, nonNegative: boolean): FloatVector {
  if (!(v instanceof Float32Array) && !(v instanceof Float64Array)) fail(`stats.${name} must be a Float32Array or Float64Array`);
  if (v.length !== cols) fail(`stats.${name} has ${v.length} values; the weight has ${cols} columns`);
  for (let j = 0; j < v.length; j++) {
    const x = v[j];
    if (!Number.isFinite(x) || !Number.isFinite(Math.fround(x))) fail(`stats.${name}[${j}] is ${x}: statistics must be finite f32 values`);
    if (nonNegative && x < 0) fail(`stats.${name}[${j}] is ${x}: must not be negative`);
  }
  return v;
}

export function checkDevice(v: unknown): DeviceOption {
  if (v === undefined) return 'auto';
  if (v !== 'auto' && v !== 'wasm' && v !== 'webgpu') fail(`device must be 'auto', 'wasm' or 'webgpu' (got ${String(v)})`);
  return v;
}

/** Most threads a `threads` option may ask for (the chunk runner's result slots). */
export const MAX_THREADS = 64;

/** 'auto' or a whole number of threads from 1 to MAX_THREADS. */
export function checkThreads(v: unknown): 'auto' | number {
  if (v === undefined || v === 'auto') return 'auto';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_THREADS) {
    fail(`threads must be 'auto' or an integer from 1 to ${MAX_THREADS} (got ${String(v)})`);
  }
  return v;
}

export type Sparsity = number | { n: number; m: number };

/** Unstructured ratio in [0, 1), or N:M with 1 ≤ n < m and m dividing cols. */
export function checkSparsity(s: unknown, cols: number): { ratio: number; nm: { n: number; m: number } | null } {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0 || s >= 1) fail(`sparsity must be in [0, 1) (got ${s})`);
    return { ratio: s, nm: null };
  }
  if (s === null || typeof s !== 'object') fail(`sparsity must be a number in [0, 1) or { n, m } (got ${String(s)})`);
  const { n, m } = s as { n: unknown; m: unknown };
  checkPositiveInteger('sparsity.n', n);
  checkPositiveInteger('sparsity.m', m);
  const nn = n as number;
  const mm = m as number;
  if (nn >= mm) fail(`N:M sparsity needs n < m (got ${nn}:${mm})`);
  if (cols % mm !== 0) fail(`N:M sparsity: m = ${mm} does not divide the ${cols} columns`);
  return { ratio: nn / mm, nm: { n: nn, m: mm } };
}

/** Parse the CLI's --sparsity: '0.6' or '2:4'. */
export function parseSparsity(text: string): Sparsity {
  const nm = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (nm) return { n: Number(nm[1]), m: Number(nm[2]) };
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x)) fail(`--sparsity must be a number such as 0.5 or N:M such as 2:4 (got '${text}')`);
  return x;
}

// --- pruneLayer's options ---------------------------------------------------------------------

export interface LayerPlan extends LayerSettingsPlan {
  weight: Float32Array;
}

/** Everything of a plan but the weight's values (pruneLayerOnBackend's weight is on a backend). */
export interface LayerSettingsPlan {
  rows: number;
  cols: number;
  stats: LayerStats;
  /**
   * H as f64 (the caller's array when it already is one, or stats.hessianOnBackend; never
   * modified), whenever stats has it.
   */
  hessian: Hessian | null;
  ratio: number;
  nm: { n: number; m: number } | null;
  /** Pruned weights per row, int(cols · ratio) as Python computes it. */
  k: number;
  init: InitMethod;
  refine: RefineMethod;
  /** Set when refine is 'dsnot'. */
  dsnot: Required<DsnotOptions> | null;
  /** Set when refine is 'swaps'. */
  swaps: Required<SwapsOptions> | null;
  magnitudeScope: 'matrix' | 'row';
  device: DeviceOption;
  threads: 'auto' | number;
}

const INITS: readonly InitMethod[] = ['magnitude', 'wanda', 'sparsegpt', 'ria'];
const DSNOT_KEYS = new Set(['maxCycles', 'updateThreshold', 'powOfVarRegrowing', 'sameSign', 'guard']);
const SWAPS_KEYS = new Set(['maxSwaps', 'width']);
const REFINES: readonly RefineMethod[] = ['none', 'dsnot', 'swaps'];
/**
 * The package's defaults (README, "Defaults"; chosen by measurement on stories260K): exact swaps,
 * up to 50 per row, 16 candidates a side; the guard on whenever DSnoT runs.
 */
export const DEFAULT_REFINE: RefineMethod = 'swaps';
export const DEFAULT_GUARD = true;
export const DEFAULT_MAX_SWAPS = 50;
export const DEFAULT_SWAP_WIDTH = 16;
/** SparseGPT's column block (ALGORITHM.md §7): an N:M group must not straddle two blocks. */
export const SPARSEGPT_BLOCK = 128;

/**
 * pruneLayer's options. `checkValues` false leaves the weight's values to the caller (pruneLayer
 * checks them on the backend after the upload, over its threads, then calls checkWeightValues
 * only to name the first bad one).
 */
export function validateLayerOptions(o: PruneLayerOptions, checkValues = true): LayerPlan {
  if (o === null || typeof o !== 'object') fail('pruneLayer needs an options object');
  const rows = checkPositiveInteger('rows', o.rows);
  const cols = checkPositiveInteger('cols', o.cols);
  if (!(o.weight instanceof Float32Array)) fail('weight must be a Float32Array [rows, cols]');
  if (o.weight.length !== rows * cols) fail(`weight has ${o.weight.length} values; rows × cols = ${rows} × ${cols} = ${rows * cols}`);
  if (checkValues) checkWeightValues(o.weight, cols);
  return { weight: o.weight, ...validateLayerSettings(o, rows, cols) };
}

/** Fails naming the first NaN or ±inf of a [rows, cols] weight. */
export function checkWeightValues(weight: Float32Array, cols: number): void {
  const bad = firstNonFinite(weight);
  if (bad >= 0) fail(`weight[${Math.floor(bad / cols)}, ${bad % cols}] is ${weight[bad]}: weights must be finite`);
}

/**
 * pruneLayerOnBackend's options: the weight is an f32 tensor of rows × cols on `backend` (its
 * values cannot be checked here without a copy: the caller vouches that they are finite).
 */
export function validateOnBackendOptions(o: PruneOnBackendOptions): LayerSettingsPlan {
  if (o === null || typeof o !== 'object') fail('pruneLayerOnBackend needs an options object');
  const rows = checkPositiveInteger('rows', o.rows);
  const cols = checkPositiveInteger('cols', o.cols);
  const b = o.backend as Partial<Backend> | undefined;
  if (!b || typeof b !== 'object' || typeof b.read !== 'function' || typeof b.dsnot !== 'function') fail('pruneLayerOnBackend needs the backend that holds the weight');
  const w = o.weight as DeviceTensor | undefined;
  if (!w || typeof w !== 'object' || w.dtype !== 'f32') fail('weight must be an f32 tensor [rows, cols] on the backend');
  if (w.length !== rows * cols) fail(`weight has ${w.length} values; rows × cols = ${rows} × ${cols} = ${rows * cols}`);
  for (const [name, t] of Object.entries(o.masksOnBackend ?? {}) as Array<[string, DeviceTensor | undefined]>) {
    if (t !== undefined && (t === null || typeof t !== 'object' || t.dtype !== 'u8' || t.length !== rows * cols)) {
      fail(`masksOnBackend.${name} must be a u8 tensor of rows × cols = ${rows * cols} on the backend`);
    }
  }
  return validateLayerSettings(o, rows, cols);
}

function validateLayerSettings(o: LayerSettings & { device?: unknown; threads?: unknown }, rows: number, cols: number): LayerSettingsPlan {
  const { ratio, nm } = checkSparsity(o.sparsity, cols);
  if (!INITS.includes(o.init)) fail(`init must be 'magnitude', 'wanda', 'sparsegpt' or 'ria' (got ${String(o.init)})`);
  const refine = resolveRefine(o.refine, o.dsnot);
  const dsnot = refine === 'dsnot' ? checkDsnotOptions(o.dsnot ?? {}) : null;
  const swaps = refine === 'swaps' ? checkSwapsOptions(o.swaps) : null;
  if (refine !== 'swaps' && o.swaps !== undefined) fail(`swaps options apply to refine 'swaps' only (refine is '${refine}')`);
  const device = checkDevice(o.device);
  if (o.magnitudeScope !== undefined && o.magnitudeScope !== 'matrix' && o.magnitudeScope !== 'row') {
    fail(`magnitudeScope must be 'matrix' or 'row' (got ${String(o.magnitudeScope)})`);
  }
  if (o.magnitudeScope !== undefined && o.init !== 'magnitude') fail(`magnitudeScope applies to init 'magnitude' only (init is '${o.init}')`);

  const s = o.stats;
  if (s === null || typeof s !== 'object') fail('stats must be an object { scalerRow, sumMetricRow, var, hessian? }');
  checkColumnVector('scalerRow', s.scalerRow, cols, true);
  checkColumnVector('sumMetricRow', s.sumMetricRow, cols, false);
  checkColumnVector('var', s.var, cols, true);
  if (s.nsamples !== undefined) checkPositiveInteger('stats.nsamples', s.nsamples);
  const needsH = o.init === 'sparsegpt' ? "init 'sparsegpt'" : refine === 'swaps' ? "refine 'swaps'" : dsnot?.guard ? 'the DSnoT guard' : null;
  if (s.hessian && s.hessianOnBackend) fail('stats has both hessian and hessianOnBackend: give one');
  if (needsH && !s.hessian && !s.hessianOnBackend) {
    fail(`${needsH} needs stats.hessian (H = (2/N)·ΣXᵀX, [cols, cols]): accumulate it with StatsAccumulator.create(cols, { hessian: true })` +
      (needsH === "init 'sparsegpt'" ? '' : ", or choose refine 'dsnot' with dsnot.guard false, or refine 'none'"));
  }
  const hessian = s.hessianOnBackend ? checkBackendHessian(s.hessianOnBackend, cols) : s.hessian ? checkHessian(s.hessian, cols) : null;
  if (o.init === 'sparsegpt' && nm && refine === 'none' && SPARSEGPT_BLOCK % nm.m !== 0) fail(`SparseGPT N:M needs m to divide its ${SPARSEGPT_BLOCK}-column block (m = ${nm.m})`);
  return {
    rows, cols, stats: s, hessian, ratio, nm,
    k: nm ? 0 : Math.floor(cols * ratio),
    init: o.init, refine, dsnot, swaps,
    magnitudeScope: o.magnitudeScope ?? (refine === 'none' ? 'matrix' : 'row'),
    device, threads: checkThreads(o.threads),
  };
}

/**
 * The refinement: `refine` when given; otherwise the older spelling (`dsnot: false` → none,
 * `dsnot: {…}` → dsnot) and, with neither, the package's default.
 */
export function resolveRefine(refine: unknown, dsnot: unknown): RefineMethod {
  if (refine !== undefined) {
    if (!REFINES.includes(refine as RefineMethod)) fail(`refine must be 'none', 'dsnot' or 'swaps' (got ${String(refine)})`);
    if (refine === 'dsnot' && dsnot === false) fail("refine 'dsnot' contradicts dsnot: false");
    if (refine !== 'dsnot' && dsnot !== undefined && dsnot !== false) fail(`dsnot options apply to refine 'dsnot' only (refine is '${String(refine)}')`);
    return refine as RefineMethod;
  }
  if (dsnot === false) return 'none';
  if (dsnot !== undefined) return 'dsnot';
  return DEFAULT_REFINE;
}

function checkHessian(h: unknown, cols: number): Float64Array {
  if (!(h instanceof Float32Array) && !(h instanceof Float64Array)) fail('stats.hessian must be a Float32Array or Float64Array');
  if (h.length !== cols * cols) fail(`stats.hessian has ${h.length} values; cols × cols = ${cols * cols}`);
  const badH = firstNonFinite(h);
  if (badH >= 0) fail(`stats.hessian[${Math.floor(badH / cols)}, ${badH % cols}] is ${h[badH]}: must be finite`);
  return h instanceof Float64Array ? h : Float64Array.from(h);
}

function checkBackendHessian(h: unknown, cols: number): BackendHessian {
  if (!isBackendHessian(h)) fail('stats.hessianOnBackend must be the H of StatsAccumulator.finish({ keepHessian: true })');
  if (h.freed) fail('stats.hessianOnBackend was freed (hessianOnBackend.free()) before this pruneLayer');
  if (h.cols !== cols) fail(`stats.hessianOnBackend is ${h.cols} × ${h.cols}; cols = ${cols}`);
  const v = h.view();
  const bad = firstNonFinite(v);
  if (bad >= 0) fail(`stats.hessianOnBackend[${Math.floor(bad / cols)}, ${bad % cols}] is ${v[bad]}: must be finite`);
  return h;
}

/** Exact-swap options with the defaults filled in. */
export function checkSwapsOptions(d: unknown): Required<SwapsOptions> {
  if (d === undefined) d = {};
  if (d === null || typeof d !== 'object') fail(`swaps must be an options object (got ${String(d)})`);
  for (const key of Object.keys(d)) if (!SWAPS_KEYS.has(key)) fail(`swaps: unknown option '${key}'`);
  const o = d as SwapsOptions;
  return {
    maxSwaps: checkNonNegativeInteger('swaps.maxSwaps', o.maxSwaps ?? DEFAULT_MAX_SWAPS),
    width: checkPositiveInteger('swaps.width', o.width ?? DEFAULT_SWAP_WIDTH),
  };
}

/** DSnoT options with the authors' defaults filled in; null for `false`. */
export function checkDsnotOptions(d: unknown): Required<DsnotOptions> | null {
  if (d === false) return null;
  if (d === undefined || d === true) d = {};
  if (d === null || typeof d !== 'object') fail(`dsnot must be false or an options object (got ${String(d)})`);
  for (const key of Object.keys(d)) if (!DSNOT_KEYS.has(key)) fail(`dsnot: unknown option '${key}'`);
  const o = d as DsnotOptions;
  const sameSign = o.sameSign ?? false;
  if (typeof sameSign !== 'boolean') fail(`dsnot.sameSign must be a boolean (got ${String(sameSign)})`);
  const guard = o.guard ?? DEFAULT_GUARD;
  if (typeof guard !== 'boolean') fail(`dsnot.guard must be a boolean (got ${String(guard)})`);
  return {
    guard,
    maxCycles: checkNonNegativeInteger('dsnot.maxCycles', o.maxCycles ?? 50),
    updateThreshold: checkFiniteNumber('dsnot.updateThreshold', o.updateThreshold ?? 0.1, 0),
    powOfVarRegrowing: checkFiniteNumber('dsnot.powOfVarRegrowing', o.powOfVarRegrowing ?? 1),
    sameSign,
  };
}

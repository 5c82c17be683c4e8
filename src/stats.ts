// Calibration statistics of one linear layer's input (ALGORITHM.md §2), and the per-column f32
// vectors both backends derive from them.
//
// Fed one forward call (one sequence) at a time, the accumulator keeps f64 sums on the backend;
// finish() turns them into the authors' quantities, all normalised by the number of sequences N:
//   scalerRow    = Σ x² / N                  (Wanda: ‖X_j‖² / N)
//   sumMetricRow = Σ x / N                   (DSnoT: grows with the sequence length)
//   var          = Σ_n T_n·Var_n / Σ_n T_n   (mean of the per-sequence population variances)
//   hessian      = (2/N) Σ_n X_nᵀX_n         (when asked for: swaps, the guard, SparseGPT, true errors)
import type { Backend, DeviceOption, DeviceTensor } from './backends/backend.js';
import type { BackendHessian, ColumnVectors, RawStats, StatsHandle } from './backends/prune-kernels.js';
import { acquireBackend } from './backends/select.js';
import type { ThreadsOption } from './backends/wasm/threads.js';
import { checkPositiveInteger, DsnotInputError, firstNonFinite, type FloatVector } from './validate.js';

/** Statistics of one linear's input: from a StatsAccumulator, or given (F32 or F64 [cols]). */
export interface LayerStats {
  scalerRow: FloatVector;
  sumMetricRow: FloatVector;
  var: FloatVector;
  /**
   * H = (2/N) Σ XᵀX, [cols, cols] row-major: for init 'sparsegpt', refine 'swaps', the DSnoT guard
   * and the true errors.
   */
  hessian?: FloatVector | null;
  /**
   * H left in the memory of the backend that accumulated it (finish({ keepHessian: true })), in
   * place of `hessian`; its free() gives it back. pruneLayer on that backend reads it in place.
   */
  hessianOnBackend?: BackendHessian | null;
  /** N, the number of calibration sequences (informational). */
  nsamples?: number;
}

export interface StatsAccumulatorOptions {
  /** Also accumulate SparseGPT's Hessian (O(tokens·cols²) per sequence). Default false. */
  hessian?: boolean;
  /** Where the sums live: a device option, or a backend the caller already holds. Default 'auto'. */
  device?: DeviceOption | Backend;
  /** Threads of the wasm kernels (the Hessian's update runs over them): 'auto' (default) or a count. */
  threads?: ThreadsOption;
}

export class StatsAccumulator {
  private finished = false;

  private constructor(
    readonly cols: number,
    readonly backend: Backend,
    private readonly handle: StatsHandle,
  ) {}

  static async create(cols: number, options: StatsAccumulatorOptions = {}): Promise<StatsAccumulator> {
    checkPositiveInteger('cols', cols);
    const device = options.device ?? 'auto';
    const backend = typeof device === 'string' ? await acquireBackend(device, { threads: options.threads }) : device;
    return new StatsAccumulator(cols, backend, backend.statsCreate(cols, options.hessian ?? false));
  }

  /** Add one sequence: x is [tokens, cols] row-major f32 (one forward call). */
  add(x: Float32Array): void {
    if (!(x instanceof Float32Array)) throw new DsnotInputError('StatsAccumulator.add: x must be a Float32Array [tokens, cols]');
    if (x.length === 0 || x.length % this.cols !== 0) {
      throw new DsnotInputError(`StatsAccumulator.add: ${x.length} values are not a whole number of ${this.cols}-column tokens`);
    }
    const bad = firstNonFinite(x);
    if (bad >= 0) throw new DsnotInputError(`StatsAccumulator.add: x[${bad}] is ${x[bad]}: activations must be finite`);
    const t = this.backend.upload('f32', x);
    try {
      this.addTensor(t, x.length / this.cols);
    } finally {
      this.backend.release(t);
    }
  }

  /** Add one sequence already on this accumulator's backend (the pipeline's taps). */
  addTensor(x: DeviceTensor, tokens: number): void {
    if (this.finished) throw new Error('StatsAccumulator: add after finish()');
    checkPositiveInteger('tokens', tokens);
    this.backend.statsAdd(this.handle, x, tokens);
  }

  /**
   * The statistics; the accumulator's memory is given back and it takes no more input.
   * keepHessian: H stays where it was accumulated, in the backend's memory (on a backend that
   * can keep it: wasm; elsewhere it comes to the host as usual), as stats.hessianOnBackend, and
   * the caller frees it after its last pruneLayer. At 8·cols² bytes (254 MB at 5632 columns) it
   * is the largest array of a layer: kept, it is never copied to the host and back.
   */
  async finish(options: { keepHessian?: boolean } = {}): Promise<LayerStats> {
    if (this.finished) throw new Error('StatsAccumulator: finish() called twice');
    this.finished = true;
    try {
      const n = this.handle.sequences;
      const keep = options.keepHessian && this.handle.withGram && this.backend.statsKeepHessian && n > 0;
      const kept = keep ? this.backend.statsKeepHessian!(this.handle, 2 / n) : null;
      // The raw sums are this accumulator's own fresh arrays: H is scaled where it lies (at
      // 8·cols² bytes, a second copy would be the largest allocation of a layer: 254 MB at 5632).
      const stats = normalize(await this.backend.statsRead(this.handle), true);
      return kept ? { ...stats, hessianOnBackend: kept } : stats;
    } finally {
      this.backend.statsFree(this.handle);
    }
  }

  /** Give the memory back without reading (e.g. on abort). */
  dispose(): void {
    if (!this.finished) {
      this.finished = true;
      this.backend.statsFree(this.handle);
    }
  }
}

/** The authors' normalisation of the raw sums (`raw` is left as it is). */
export function statsFromRaw(raw: RawStats): LayerStats {
  return normalize(raw, false);
}

/** statsFromRaw; with `ownsGram`, the Gram matrix is scaled in place and becomes the Hessian. */
function normalize(raw: RawStats, ownsGram: boolean): LayerStats {
  if (raw.sequences === 0) throw new DsnotInputError('statistics: no sequence was added');
  const n = raw.sequences;
  const scalerRow = raw.sumSq.map((x) => x / n);
  const sumMetricRow = raw.sum.map((x) => x / n);
  const variance = raw.tokenVar.map((x) => x / raw.tokens);
  let hessian: Float64Array | null = null;
  if (raw.gram) {
    hessian = ownsGram ? raw.gram : new Float64Array(raw.gram.length);
    const scale = 2 / n;
    for (let i = 0; i < hessian.length; i++) hessian[i] = raw.gram[i] * scale;
  }
  return { scalerRow, sumMetricRow, var: variance, hessian, nsamples: n };
}

/**
 * The per-column f32 vectors of the numerics contract, derived once per linear on the host so
 * that both backends start from the same bits:
 *   sqrtScaler = fround(sqrt(fround(scaler)))   sum32 = fround(sum_metric)   sum64 = sum_metric
 *   varPow     = p == 0 ? 1 : fround(fround(var)^p)
 */
export function columnVectors(stats: LayerStats, powOfVar: number): ColumnVectors {
  const cols = stats.scalerRow.length;
  const out: ColumnVectors = {
    sqrtScaler: new Float32Array(cols),
    sum32: new Float32Array(cols),
    sum64: new Float64Array(cols),
    varPow: new Float32Array(cols),
  };
  for (let j = 0; j < cols; j++) {
    out.sqrtScaler[j] = Math.sqrt(Math.fround(stats.scalerRow[j]));
    out.sum32[j] = stats.sumMetricRow[j];
    out.sum64[j] = stats.sumMetricRow[j];
    out.varPow[j] = powOfVar === 0 ? 1 : Math.pow(Math.fround(stats.var[j]), powOfVar);
  }
  return out;
}

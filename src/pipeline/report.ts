// What prune() returns (and writes as dsnot-report.json): per linear what was done and how well,
// plus the authors' sparsity check over the whole model.
import type { DeviceKind } from '../backends/backend.js';
import type { EvalProtocol } from '../eval/perplexity.js';
import type { InitMethod, PruneLayerResult, RefineMethod, SwapsOptions } from '../layer.js';
import type { Sparsity } from '../validate.js';
import type { ResolvedDsnot } from './options.js';
import type { SparsityProfileReport } from './owl.js';
import type { Integrity } from './integrity.js';

/**
 * The true layer error ‖X(W − Ŵ)‖² on the calibration activations, summed over the rows and
 * divided by the number of calibration sequences (as the authors' statistics are), of the
 * initial and of the final mask.
 */
export interface ReconstructionError {
  initial: number;
  final: number;
}

/** Per-row surrogate error e (ALGORITHM.md §4.1) summarised: mean |e| over rows, Σ|e|. */
export interface ErrorSummary {
  meanAbs: number;
  totalAbs: number;
}

export interface LinearReport {
  layer: number;
  /** Inside the layer, as the authors name it: 'self_attn.q_proj', 'fc1'. */
  linear: string;
  /** Full weight tensor name. */
  weight: string;
  rows: number;
  cols: number;
  /** The sparsity asked of this linear (its layer's under OWL; n/m for N:M). */
  targetSparsity: number;
  /** Exact zeros in the written weight, and their fraction (the authors' check, per linear). */
  zeros: number;
  sparsity: number;
  /** Weights the mask prunes. */
  pruned: number;
  /** The refinement ran on this linear (false: initial mask only, e.g. skipped by `skip`). */
  refined: boolean;
  /** The DSnoT surrogate error e (ALGORITHM.md §4.1) of the initial and the final mask. */
  initError: ErrorSummary;
  error: ErrorSummary;
  reconstructionError: ReconstructionError;
  cycles: number;
  /** Exact swaps applied (refine 'swaps'). */
  swaps: number;
  ms: number;
  /** The device that ran the pruning kernels (SparseGPT runs on wasm, also in a WebGPU run). */
  device: DeviceKind;
}

export interface PerplexityReport {
  /** The dense input model. */
  before: number;
  /** The pruned model, as written (weights rounded to their stored dtype). */
  after: number;
  tokens: number;
  windows: number;
  seqlen: number;
  protocol: EvalProtocol;
}

export interface PruneReport {
  model: string;
  output: string;
  format: 'safetensors' | 'llama2c';
  modelType: string;
  layers: number;
  method: string;
  sparsity: Sparsity;
  /** OWL's outlier ratios and layer sparsities (null: uniform). */
  sparsityProfile: SparsityProfileReport | null;
  init: InitMethod;
  refine: RefineMethod;
  dsnot: ResolvedDsnot | null;
  swaps: Required<SwapsOptions> | null;
  skip: string[];
  calibration: { kind: 'text' | 'documents' | 'tokens'; windows: number; tokens: number; seqlen: number; nsamples: number; seed: number };
  /** The backend of the forward passes and statistics. */
  device: DeviceKind;
  adapter: string;
  /** Why 'auto' did not take WebGPU, when it did not. */
  deviceNote: string | null;
  /** CPU threads of the wasm kernels (1 on WebGPU; its lent wasm work runs with the `threads` option). */
  threads: number;
  /** Why fewer threads ran than were asked for (e.g. no SharedArrayBuffer in the page); null when all did. */
  threadsNote: string | null;
  linears: LinearReport[];
  totals: {
    linears: number; weights: number; zeros: number; pruned: number; cycles: number; swaps: number; pruneMs: number;
    /** Summed over the linears. */
    reconstructionError: ReconstructionError;
  };
  /** Exact zeros over all decoder-layer linears / their size (the authors' check_sparsity). */
  sparsityCheck: number;
  /** Wall time of this session, split by stage (a resumed run counts only its own work). */
  timings: { loadMs: number; forwardMs: number; pruneMs: number; writeMs: number; evalMs: number; totalMs: number };
  perplexity: PerplexityReport | null;
  /** Layers taken over from an interrupted run (null: started from the first layer). */
  resumedFromLayer: number | null;
  /** Why a partial run found in the output was discarded, if one was. */
  restarted: string | null;
  /** Files written into the output, in commit order. */
  files: string[];
  fingerprint: string;
  /**
   * SHA-256 of every tensor, shard header and side file as written, and a content hash over them
   * (pipeline/integrity.ts); checked before the commit and by `dsnot verify`.
   */
  integrity: Integrity;
}

function summarize(e: Float32Array): ErrorSummary {
  let total = 0;
  for (const v of e) total += Math.abs(v);
  return { meanAbs: e.length ? total / e.length : 0, totalAbs: total };
}

function countZeros(w: Float32Array): number {
  let z = 0;
  for (const v of w) if (v === 0) z++;
  return z;
}

function countOnes(m: Uint8Array): number {
  let n = 0;
  for (const v of m) n += v;
  return n;
}

export function linearReport(
  at: { layer: number; linear: string; weight: string; rows: number; cols: number; refined: boolean; targetSparsity: number },
  result: Pick<PruneLayerResult, 'mask' | 'initError' | 'error' | 'cycles' | 'swaps' | 'trueError' | 'timings' | 'device'>,
  stored: Float32Array,
): LinearReport {
  const zeros = countZeros(stored);
  if (!result.trueError) throw new Error(`internal: no true error for ${at.weight} (the pipeline always has H)`);
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  return {
    ...at,
    zeros,
    sparsity: zeros / stored.length,
    pruned: countOnes(result.mask),
    initError: summarize(result.initError),
    error: summarize(result.error),
    reconstructionError: { initial: sum(result.trueError.initial), final: sum(result.trueError.final) },
    cycles: result.cycles,
    swaps: result.swaps,
    ms: result.timings.totalMs,
    device: result.device,
  };
}

export function totalsOf(entries: readonly LinearReport[]): PruneReport['totals'] {
  let weights = 0;
  let zeros = 0;
  let pruned = 0;
  let cycles = 0;
  let swaps = 0;
  let pruneMs = 0;
  const reconstructionError = { initial: 0, final: 0 };
  for (const e of entries) {
    const n = e.rows * e.cols;
    weights += n;
    zeros += e.zeros;
    pruned += e.pruned;
    cycles += e.cycles;
    swaps += e.swaps;
    pruneMs += e.ms;
    reconstructionError.initial += e.reconstructionError.initial;
    reconstructionError.final += e.reconstructionError.final;
  }
  return { linears: entries.length, weights, zeros, pruned, cycles, swaps, pruneMs, reconstructionError };
}

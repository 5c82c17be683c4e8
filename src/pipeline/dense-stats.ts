// The dense pass of one decoder layer over the calibration windows, with the decoder's taps
// feeding one StatsAccumulator per distinct linear input (q/k/v share one, gate/up share one):
//
//   hidden[w] ──layer.forward (dense)──► output (discarded, or kept in place: keepOutput)
//                    │ taps
//                    ▼
//   StatsAccumulator per input group ──finish──► LayerStats of every linear weight
//                                                (H kept in the backend's memory: releaseHessians)
//
// Used by the pruning loop (with H, outputs discarded: the pruned pass recomputes them; the
// evaluation's dense chain rides along) and by the OWL profile pass (no H, outputs kept: the
// next layer's dense inputs).
import type { Backend } from '../backends/backend.js';
import type { LayerSpec } from '../models/config.js';
import type { DecoderLayer, TapInput } from '../models/decoder.js';
import { StatsAccumulator, type LayerStats } from '../stats.js';
import type { HostBuffers } from './weights.js';

export interface DenseStatsOptions {
  backend: Backend;
  /** Accumulate XᵀX too (the pruning loop: true errors, swaps, SparseGPT). */
  hessian: boolean;
  /** hidden[0, nCal) are calibration windows; hidden[nCal, nCal + nEval) the evaluation's dense chain. */
  nCal: number;
  nEval: number;
  /** Token rows of window w. */
  rows: (w: number) => number;
  buffers: HostBuffers;
  signal?: AbortSignal;
  onWindow?: (w: number) => void;
  /** Write each calibration window's dense output over its input (default: discarded). */
  keepOutput?: boolean;
}

/**
 * The dense pass over every calibration window, then the evaluation's dense chain without taps
 * (in place). Returns the statistics of every linear weight of the layer.
 */
export async function denseStats(layer: DecoderLayer, layerSpec: LayerSpec, hidden: Float32Array[], o: DenseStatsOptions): Promise<Map<string, LayerStats>> {
  const accumulators = new Map<string, StatsAccumulator>();
  const groupOf = new Map<string, string>();
  const tap = async (input: TapInput): Promise<void> => {
    const key = input.linears[0].weight;
    for (const l of input.linears) groupOf.set(l.weight, key);
    let acc = accumulators.get(key);
    if (!acc) {
      acc = await StatsAccumulator.create(input.cols, { hessian: o.hessian, device: o.backend });
      accumulators.set(key, acc);
    }
    acc.addTensor(input.x, input.rows);
  };
  try {
    for (let w = 0; w < o.nCal; w++) {
      o.signal?.throwIfAborted();
      o.onWindow?.(w);
      // In place is fine: the layer's input was copied to the backend before the output comes back.
      const into = o.keepOutput ? hidden[w] : o.buffers.layerOutput(hidden[w].length);
      await layer.forward(hidden[w], o.rows(w), { tap, into });
    }
    for (let w = o.nCal; w < o.nCal + o.nEval; w++) {
      o.signal?.throwIfAborted();
      await layer.forward(hidden[w], o.rows(w), { into: hidden[w] });
    }
    const finished = new Map<string, LayerStats>();
    try {
      for (const [key, acc] of accumulators) finished.set(key, await acc.finish({ keepHessian: true }));
    } catch (e) {
      releaseHessians(finished.values());
      throw e;
    }
    const out = new Map<string, LayerStats>();
    for (const l of layerSpec.linears) {
      const s = finished.get(groupOf.get(l.weight) ?? '');
      if (!s) throw new Error(`internal: no statistics were tapped for ${l.weight}`);
      out.set(l.weight, s);
    }
    return out;
  } finally {
    for (const acc of accumulators.values()) acc.dispose();
  }
}

/** Give back the Hessians that denseStats left on the backend (each once; again: nothing). */
export function releaseHessians(stats: Iterable<LayerStats>): void {
  for (const s of stats) s.hessianOnBackend?.free();
}

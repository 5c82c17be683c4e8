// OWL layerwise sparsity (Outlier Weighed Layerwise sparsity, Yin et al. 2023; luuyin/OWL
// `prune_wanda_outlier`; ALGORITHM.md §14.4, docs/pipeline.md "OWL"). Before the pruning loop:
//
//   calibration windows ──embed──► h[w] (a fresh chain, dropped after the pass)
//   for each decoder layer ℓ (read through the run's LayerReader, one layer at a time):
//     dense pass of every window (h[w] ← layer(h[w])), taps → scaler_row of each linear input
//     A = |W|·√scaler_row over ALL the layer's linears together (OWL concatenates them):
//     D_ℓ = #{A > m·mean(A)} / #A
//   r = (D − min D)/(max D − min D)·2λ          (all D equal → r = 0: uniform)
//   density_ℓ = r_ℓ − mean_w(r) + (1 − S)       mean_w weighted by each layer's prunable weights
//   sparsity_ℓ = 1 − density_ℓ                  (more outliers → less pruned)
//
// Deviation from OWL: their mean is unweighted, which keeps the total at S only when every layer
// has the same number of weights (true of their models); the weighted mean keeps it for any model
// and equals theirs for equal layers. With N:M sparsity the profile is computed and reported, but
// every layer keeps the same N:M (`applied: false`).
import type { Backend } from '../backends/backend.js';
import type { LayerSpec, LinearSpec, ModelSpec } from '../models/config.js';
import type { DecoderModel } from '../models/decoder.js';
import type { LayerStats } from '../stats.js';
import { fail, type Sparsity } from '../validate.js';
import { denseStats } from './dense-stats.js';
import { finiteLinearWeights, type HostBuffers, type LayerReader } from './weights.js';

/** prune()'s `sparsityProfile` option: OWL (defaults m = 5, lambda = 0.08); absent: uniform. */
export interface SparsityProfileOption {
  kind: 'owl';
  /** Outlier threshold: A > m·mean(A) is an outlier (OWL's Hyper_m; 5 in their LLaMA runs). */
  m?: number;
  /** Half the spread of the layer densities (OWL's Lamda). */
  lambda?: number;
}

export interface ResolvedSparsityProfile {
  kind: 'owl';
  m: number;
  lambda: number;
}

/** What the report (and the resume journal) keeps of the profile. */
export interface SparsityProfileReport extends ResolvedSparsityProfile {
  /** D_ℓ per decoder layer, a fraction in [0, 1]. */
  outlierRatios: number[];
  /** sparsity_ℓ per decoder layer, from the mapping above. */
  layerSparsity: number[];
  /** false with N:M sparsity: every layer keeps the N:M pattern (the profile is only reported). */
  applied: boolean;
}

export const OWL_DEFAULTS = { m: 5, lambda: 0.08 } as const;

export function resolveSparsityProfile(p: unknown): ResolvedSparsityProfile | null {
  if (p === undefined || p === null || p === 'uniform') return null;
  if (typeof p !== 'object' || (p as { kind?: unknown }).kind !== 'owl') fail(`sparsityProfile must be { kind: 'owl', m?, lambda? } or absent (got ${JSON.stringify(p)})`);
  const { m = OWL_DEFAULTS.m, lambda = OWL_DEFAULTS.lambda } = p as SparsityProfileOption;
  if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0) fail(`sparsityProfile.m must be a number > 0 (got ${String(m)})`);
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) fail(`sparsityProfile.lambda must be a number ≥ 0 (got ${String(lambda)})`);
  return { kind: 'owl', m, lambda };
}

/**
 * OWL's mapping from outlier ratios to layer sparsities, with the mean of r weighted by
 * `sizes` (each layer's prunable weights), so that Σ sizes·sparsity / Σ sizes = S exactly.
 */
export function owlLayerSparsity(ratios: readonly number[], sizes: readonly number[], S: number, lambda: number): number[] {
  if (ratios.length !== sizes.length || ratios.length === 0) throw new Error('internal: one ratio and one size per layer');
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  const r = ratios.map((d) => (hi > lo ? ((d - lo) / (hi - lo)) * 2 * lambda : 0));
  const total = sizes.reduce((a, b) => a + b, 0);
  const mean = r.reduce((a, x, i) => a + x * sizes[i], 0) / total;
  return r.map((x) => 1 - (x - mean + (1 - S)));
}

/** The profile of a run from its outlier ratios; every applied layer sparsity must be in [0, 1). */
export function owlProfile(p: ResolvedSparsityProfile, ratios: readonly number[], spec: ModelSpec, sparsity: Sparsity): SparsityProfileReport {
  const applied = typeof sparsity === 'number';
  const S = typeof sparsity === 'number' ? sparsity : sparsity.n / sparsity.m;
  const sizes = spec.layers.map((l) => l.linears.reduce((n, x) => n + x.out * x.in, 0));
  const layerSparsity = owlLayerSparsity(ratios, sizes, S, p.lambda);
  if (applied) {
    const bad = layerSparsity.findIndex((s) => !(s >= 0 && s < 1));
    if (bad >= 0) {
      fail(`OWL gives layer ${bad} a sparsity of ${layerSparsity[bad].toFixed(4)}, outside [0, 1): `
        + `lower sparsityProfile.lambda (${p.lambda}) or move the sparsity (${S}) away from 0 and 1`);
    }
  }
  return { ...p, outlierRatios: [...ratios], layerSparsity, applied };
}

/** The sparsity asked of every linear of layer `i`. */
export function layerTarget(sparsity: Sparsity, profile: SparsityProfileReport | null, i: number): Sparsity {
  return profile?.applied ? profile.layerSparsity[i] : sparsity;
}

/**
 * D = #{A > m·mean(A)} / #A over all the given linears together, A = |W|·√scaler_row. Two
 * passes over the weights (mean, then count), each read on demand: `read`'s array may be a
 * reused buffer, so no two weights are held at once.
 */
export async function outlierRatio(
  linears: readonly LinearSpec[], read: (weight: string) => Promise<Float32Array>, stats: Map<string, LayerStats>, m: number,
): Promise<number> {
  const sqrtScaler = new Map(linears.map((l) => [l.weight, Float64Array.from(stats.get(l.weight)!.scalerRow, Math.sqrt)]));
  const each = async (f: (a: number) => void): Promise<void> => {
    for (const l of linears) {
      const w = await read(l.weight);
      const s = sqrtScaler.get(l.weight)!;
      for (let r = 0, k = 0; r < l.out; r++) for (let c = 0; c < l.in; c++, k++) f(Math.abs(w[k]) * s[c]);
    }
  };
  let sum = 0;
  let n = 0;
  await each((a) => { sum += a; n++; });
  const threshold = m * (sum / n);
  let outliers = 0;
  await each((a) => { if (a > threshold) outliers++; });
  return outliers / n;
}

export interface ProfilePass {
  spec: ModelSpec;
  decoder: DecoderModel;
  reader: LayerReader;
  /** Every tensor name of layer i, as the main loop reads them. */
  names: (i: number) => string[];
  backend: Backend;
  buffers: HostBuffers;
  /** The calibration windows' embeddings; updated in place, layer after layer (dense). */
  hidden: Float32Array[];
  m: number;
  signal?: AbortSignal;
  onLayer?: (i: number) => void;
}

/** The dense pass over every decoder layer: D_ℓ per layer. */
export async function outlierRatios(p: ProfilePass): Promise<number[]> {
  const ratios: number[] = [];
  for (let i = 0; i < p.spec.numLayers; i++) {
    p.signal?.throwIfAborted();
    p.onLayer?.(i);
    const raw = await p.reader.prefetch(i, p.names(i));
    const layerSpec: LayerSpec = p.spec.layers[i];
    const layer = await p.decoder.loadLayer(i, finiteLinearWeights(raw.source, layerSpec.linears));
    try {
      const stats = await denseStats(layer, layerSpec, p.hidden, {
        backend: p.backend, hessian: false, nCal: p.hidden.length, nEval: 0,
        rows: (w) => p.hidden[w].length / p.spec.hiddenSize, buffers: p.buffers, signal: p.signal, keepOutput: true,
      });
      ratios.push(await outlierRatio(layerSpec.linears, (name) => raw.source.readFloat32(name), stats, p.m));
    } finally {
      layer.dispose();
      for (const { bytes } of raw.tensors.values()) p.reader.recycle(bytes);
    }
  }
  return ratios;
}

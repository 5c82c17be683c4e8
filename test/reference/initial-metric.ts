// The reference initial metric of each method (ALGORITHM.md §3): |W|·√scaler (Wanda), |W|
// (magnitude), SparseGPT's OBS saliency W²/diag(U)² from the factor of the Hessian, or RIA.
import { magnitudeMetric, obsMetric, wandaMetric } from './masks.js';
import { riaMetric } from './ria.js';
import { referenceObsFactor } from './sparsegpt.js';

export function referenceInitialMetric(
  init: 'wanda' | 'magnitude' | 'sparsegpt' | 'ria', w: Float32Array, rows: number, cols: number,
  sqrtScaler: Float32Array, hessian: Float64Array, percDamp = 0.01,
): Float32Array {
  if (init === 'wanda') return wandaMetric(w, rows, cols, sqrtScaler);
  if (init === 'magnitude') return magnitudeMetric(w);
  if (init === 'ria') return riaMetric(w, rows, cols, sqrtScaler);
  const { u, dead } = referenceObsFactor(hessian, cols, percDamp);
  return obsMetric(w, rows, cols, Float64Array.from({ length: cols }, (_, j) => u[j * cols + j]), dead);
}

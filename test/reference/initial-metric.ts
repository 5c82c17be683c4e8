// The reference initial metric of each method (ALGORITHM.md §3): |W|·√scaler (Wanda), |W|
// (magnitude), or SparseGPT's OBS saliency W²/diag(U)² from the factor of the Hessian.
import { magnitudeMetric, obsMetric, wandaMetric } from './masks.js';
import { referenceObsFactor } from './sparsegpt.js';

export function referenceInitialMetric(
  init: 'wanda' | 'magnitude' | 'sparsegpt', w: Float32Array, rows: number, cols: number,
  sqrtScaler: Float32Array, hessian: Float64Array, percDamp = 0.01,
): Float32Array {
  if (init === 'wanda') return wandaMetric(w, rows, cols, sqrtScaler);
  if (init === 'magnitude') return magnitudeMetric(w);
  const { u, dead } = referenceObsFactor(hessian, cols, percDamp);
  return obsMetric(w, rows, cols, Float64Array.from({ length: cols }, (_, j) => u[j * cols + j]), dead);
}

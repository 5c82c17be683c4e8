// Reference initial metrics and masks (ALGORITHM.md §3), the authors' way: full stable sorts.
// Sort keys are f32 values made by single correctly rounded operations (Math.fround of an
// f64 operation on f32 inputs is exactly that), as the numerics contract says.
const f = Math.fround;

export interface ReferenceColumns {
  sqrtScaler: Float32Array;
  sum32: Float32Array;
  sum64: Float64Array;
  varPow: Float32Array;
}

export function referenceColumns(
  scalerRow: ArrayLike<number>, sumMetricRow: ArrayLike<number>, variance: ArrayLike<number>, pow: number,
): ReferenceColumns {
  const n = scalerRow.length;
  const out: ReferenceColumns = {
    sqrtScaler: new Float32Array(n), sum32: new Float32Array(n), sum64: new Float64Array(n), varPow: new Float32Array(n),
  };
  for (let j = 0; j < n; j++) {
    out.sqrtScaler[j] = f(Math.sqrt(f(scalerRow[j])));
    out.sum32[j] = f(sumMetricRow[j]);
    out.sum64[j] = sumMetricRow[j];
    out.varPow[j] = pow === 0 ? 1 : f(Math.pow(f(variance[j]), pow));
  }
  return out;
}

export function wandaMetric(w: Float32Array, rows: number, cols: number, sqrtScaler: Float32Array): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = f(Math.abs(w[r * cols + c]) * sqrtScaler[c]);
  return out;
}

export function magnitudeMetric(w: Float32Array): Float32Array {
  return w.map(Math.abs);
}

/** OBS saliency W²/d², d = diag(U) (f32 as the contract says); dead columns (W zeroed there) give 0. */
export function obsMetric(w: Float32Array, rows: number, cols: number, diagU: Float64Array, dead: boolean[]): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const d = f(diagU[c]);
    const denom = f(d * d);
    for (let r = 0; r < rows; r++) {
      const x = w[r * cols + c];
      out[r * cols + c] = dead[c] ? 0 : f(f(x * x) / denom);
    }
  }
  return out;
}

/** Stable ascending argsort (ties: lower index first), like torch.sort(stable=True). */
export function stableArgsort(values: ArrayLike<number>, from = 0, to = values.length): number[] {
  const idx = Array.from({ length: to - from }, (_, i) => from + i);
  // Array.prototype.sort is stable; -0 and +0 compare equal as in torch.
  return idx.sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : 0));
}

/** Per row, the k smallest metrics pruned (1 = pruned). */
export function rowMask(metric: Float32Array, rows: number, cols: number, k: number): Uint8Array {
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const order = stableArgsort(metric, r * cols, (r + 1) * cols);
    for (let t = 0; t < k; t++) mask[order[t]] = 1;
  }
  return mask;
}

/** Per row and group of m columns, the n smallest pruned (stable sort of the group). */
export function nmMask(metric: Float32Array, rows: number, cols: number, n: number, m: number): Uint8Array {
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += m) {
      const order = stableArgsort(metric, r * cols + g, r * cols + g + m);
      for (let t = 0; t < n; t++) mask[order[t]] = 1;
    }
  }
  return mask;
}

/** The magnitude baseline: t = sort(metric)[rank]; every metric ≤ t pruned. */
export function thresholdMask(metric: Float32Array, rank: number): Uint8Array {
  const sorted = Float64Array.from(metric).sort();
  const t = sorted[rank];
  return Uint8Array.from(metric, (v) => (v <= t ? 1 : 0));
}

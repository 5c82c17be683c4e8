// RIA's score (Zhang et al., ICLR 2024; the authors' lib/prune.py, prune_ria):
//   S_ij = (|W_ij| / Σ_r |W_rj| + |W_ij| / Σ_c |W_ic|) · (√scaler_row_j)^0.5
// written from the formula, with the package's numerics contract for the f32 sort keys: each sum
// is a chain of f32 additions in a fixed order (columns: rows in order; rows: four interleaved
// partial sums over c ≡ l mod 4, then (p0 + p1) + (p2 + p3)), each ratio, the sum of the two
// ratios and the product one rounding each; a zero sum (a zero column or row) gives the ratio 0.
const f = Math.fround;

function columnSums(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s = f(s + Math.abs(w[r * cols + c]));
    out[c] = s;
  }
  return out;
}

function rowSums(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const p = [0, 0, 0, 0];
    for (let c = 0; c < cols; c++) p[c % 4] = f(p[c % 4] + Math.abs(w[r * cols + c]));
    out[r] = f(f(p[0] + p[1]) + f(p[2] + p[3]));
  }
  return out;
}

const ratio = (a: number, sum: number): number => (sum === 0 ? 0 : f(a / sum));

/** The f32 RIA metric; sqrtScaler_j = fround(√fround(scaler_row_j)) as for Wanda. */
export function riaMetric(w: Float32Array, rows: number, cols: number, sqrtScaler: Float32Array): Float32Array {
  const cs = columnSums(w, rows, cols);
  const rs = rowSums(w, rows, cols);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[r * cols + c]);
      out[r * cols + c] = f(f(ratio(a, cs[c]) + ratio(a, rs[r])) * f(Math.sqrt(sqrtScaler[c])));
    }
  }
  return out;
}

/** The same score in f64 throughout (exact sums up to f64 rounding, scaler_row^0.25 by Math.pow). */
export function riaMetric64(w: Float32Array, rows: number, cols: number, scalerRow: ArrayLike<number>): Float64Array {
  const cs = new Float64Array(cols);
  const rs = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[r * cols + c]);
      cs[c] += a;
      rs[r] += a;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[r * cols + c]);
      out[r * cols + c] = ((cs[c] ? a / cs[c] : 0) + (rs[r] ? a / rs[r] : 0)) * Math.pow(scalerRow[c], 0.25);
    }
  }
  return out;
}

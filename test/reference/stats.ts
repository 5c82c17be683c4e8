// Reference calibration statistics (ALGORITHM.md §2), straight from the definitions in f64.
// X3: [nseq, seqlen, cols], one sequence per forward call.

export interface ReferenceStats {
  scalerRow: Float64Array;
  sumMetricRow: Float64Array;
  var: Float64Array;
  /** H = (2/N) Σ_n X_nᵀ X_n, [cols, cols] (absent when not asked for). */
  hessian?: Float64Array;
  nsamples: number;
}

export function referenceStats(x3: Float32Array, nseq: number, seqlen: number, cols: number, withHessian = true): ReferenceStats {
  const scalerRow = new Float64Array(cols);
  const sumMetricRow = new Float64Array(cols);
  const varOut = new Float64Array(cols);
  const hessian = new Float64Array(withHessian ? cols * cols : 0);
  let tokens = 0;
  for (let n = 0; n < nseq; n++) {
    const base = n * seqlen * cols;
    for (let c = 0; c < cols; c++) {
      let s = 0;
      let sq = 0;
      for (let t = 0; t < seqlen; t++) {
        const x = x3[base + t * cols + c];
        s += x;
        sq += x * x;
      }
      const mean = s / seqlen;
      let dev = 0;
      for (let t = 0; t < seqlen; t++) {
        const d = x3[base + t * cols + c] - mean;
        dev += d * d;
      }
      scalerRow[c] += sq;
      sumMetricRow[c] += s;
      // T_n · Var_n with the population variance of this sequence.
      varOut[c] += seqlen * (dev / seqlen);
    }
    for (let t = 0; t < seqlen && withHessian; t++) {
      const row = base + t * cols;
      for (let i = 0; i < cols; i++) {
        const xi = x3[row + i];
        for (let j = 0; j < cols; j++) hessian[i * cols + j] += xi * x3[row + j];
      }
    }
    tokens += seqlen;
  }
  for (let c = 0; c < cols; c++) {
    scalerRow[c] /= nseq;
    sumMetricRow[c] /= nseq;
    varOut[c] /= tokens;
  }
  for (let i = 0; i < hessian.length; i++) hessian[i] *= 2 / nseq;
  return { scalerRow, sumMetricRow, var: varOut, ...(withHessian ? { hessian } : {}), nsamples: nseq };
}

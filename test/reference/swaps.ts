// Reference exact swaps (ALGORITHM.md §14.3), written from the definition: at every step each
// row's c = H·v is computed afresh, every pair (pruned j, kept k) — inside one group of M for
// N:M — is scored by ΔQ = Q(v') − Q(v), and the most negative is applied (ties: lower j, then
// lower k) while it lowers Q by more than 1e-12·Q. No candidate lists: the package's search is
// exact whenever its width reaches min(#pruned, #kept), which is where the two must agree.

export interface ReferenceSwapsResult {
  mask: Uint8Array;
  /** Per row ½·vᵀHv before and after. */
  initial: Float64Array;
  final: Float64Array;
  swaps: Int32Array;
}

export function referenceSwaps(
  w: Float32Array, rows: number, cols: number, initMask: Uint8Array, h: Float64Array,
  nm: { n: number; m: number } | null, maxSwaps: number,
): ReferenceSwapsResult {
  const mask = initMask.slice();
  const initial = new Float64Array(rows);
  const final = new Float64Array(rows);
  const swaps = new Int32Array(rows);
  const group = (j: number) => (nm ? Math.floor(j / nm.m) : 0);
  for (let r = 0; r < rows; r++) {
    const wr = Array.from(w.subarray(r * cols, (r + 1) * cols));
    const mr = mask.subarray(r * cols, (r + 1) * cols);
    initial[r] = quadratic(wr, mr, h, cols) / 2;
    while (swaps[r] < maxSwaps) {
      const q = quadratic(wr, mr, h, cols);
      const c = product(wr, mr, h, cols);
      let best = Infinity;
      let bj = -1;
      let bk = -1;
      for (let j = 0; j < cols; j++) {
        if (!mr[j]) continue;
        for (let k = 0; k < cols; k++) {
          if (mr[k] || group(j) !== group(k)) continue;
          // v' = v + w_k e_k − w_j e_j: ΔQ = 2w_k c_k + w_k²H_kk − 2w_j c_j + w_j²H_jj − 2w_j w_k H_jk.
          const d = 2 * wr[k] * c[k] + wr[k] * wr[k] * h[k * cols + k] - 2 * wr[j] * c[j] + wr[j] * wr[j] * h[j * cols + j]
            - 2 * wr[j] * wr[k] * h[j * cols + k];
          if (d < best) {
            best = d;
            bj = j;
            bk = k;
          }
        }
      }
      if (bj < 0 || !(best < -1e-12 * q)) break;
      mr[bk] = 1;
      mr[bj] = 0;
      swaps[r]++;
    }
    final[r] = quadratic(wr, mr, h, cols) / 2;
  }
  return { mask, initial, final, swaps };
}

function product(w: number[], m: Uint8Array, h: Float64Array, cols: number): Float64Array {
  const c = new Float64Array(cols);
  for (let i = 0; i < cols; i++) {
    let t = 0;
    for (let j = 0; j < cols; j++) if (m[j]) t += h[i * cols + j] * w[j];
    c[i] = t;
  }
  return c;
}

function quadratic(w: number[], m: Uint8Array, h: Float64Array, cols: number): number {
  const c = product(w, m, h, cols);
  let q = 0;
  for (let i = 0; i < cols; i++) if (m[i]) q += w[i] * c[i];
  return q;
}

// Reference SparseGPT (ALGORITHM.md §7, IST-DASLab sparsegpt.py::fasterprune) in f64, with the
// authors' chain: H[dead,dead] = 1, W[:,dead] = 0, damping, L = cholesky(H),
// Hinv = cholesky_inverse(L), U = cholesky(Hinv, upper=True); blocks of B columns.
import { stableArgsort } from './masks.js';

/** Lower Cholesky factor of a symmetric positive definite matrix (n×n row-major). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
    if (!(s > 0)) throw new Error(`reference cholesky: not positive definite at ${j}`);
    const d = Math.sqrt(s);
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j];
      for (let k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = t / d;
    }
  }
  return l;
}

/** (L Lᵀ)⁻¹ from the lower factor L, like torch.cholesky_inverse: solve L Y = I, then Lᵀ X = Y. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  const x = new Float64Array(n * n);
  const y = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    for (let i = 0; i < n; i++) {
      let s = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
      y[i] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k * n + col];
      x[i * n + col] = s / l[i * n + i];
    }
  }
  return x;
}

/** U = upper Cholesky factor of (H + λI)⁻¹ after the dead-column rule; also the dead columns. */
export function referenceObsFactor(hessian: Float64Array, n: number, percDamp: number): { u: Float64Array; dead: boolean[] } {
  const h = hessian.slice();
  const dead: boolean[] = [];
  for (let i = 0; i < n; i++) {
    dead.push(h[i * n + i] === 0);
    if (dead[i]) h[i * n + i] = 1;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += h[i * n + i];
  const damp = (percDamp * mean) / n;
  for (let i = 0; i < n; i++) h[i * n + i] += damp;
  const hinv = choleskyInverse(cholesky(h, n), n);
  const lower = cholesky(hinv, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = lower[j * n + i];
  return { u, dead };
}

export interface ReferenceSparseGptResult {
  weight: Float64Array;
  mask: Uint8Array;
}

export function referenceSparseGpt(
  w32: Float32Array, rows: number, cols: number, hessian: Float64Array,
  sparsity: number, nm: { n: number; m: number } | null, blockSize = 128, percDamp = 0.01,
): ReferenceSparseGptResult {
  const { u, dead } = referenceObsFactor(hessian, cols, percDamp);
  const w = Float64Array.from(w32);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (dead[c]) w[r * cols + c] = 0;
  const mask = new Uint8Array(rows * cols);
  for (let i1 = 0; i1 < cols; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, cols);
    const count = i2 - i1;
    const err = new Float64Array(rows * count);
    const mask1 = new Uint8Array(rows * count);
    const d2 = (c: number) => u[c * cols + c] * u[c * cols + c];
    if (!nm) {
      const tmp = new Float64Array(rows * count);
      for (let r = 0; r < rows; r++) for (let i = 0; i < count; i++) tmp[r * count + i] = w[r * cols + i1 + i] ** 2 / d2(i1 + i);
      const thr = Float64Array.from(tmp).sort()[Math.floor(tmp.length * sparsity)];
      for (let t = 0; t < tmp.length; t++) mask1[t] = tmp[t] <= thr ? 1 : 0;
    }
    for (let i = 0; i < count; i++) {
      const c = i1 + i;
      if (nm && i % nm.m === 0) {
        for (let r = 0; r < rows; r++) {
          const tmp = Array.from({ length: nm.m }, (_, t) => w[r * cols + c + t] ** 2 / d2(c + t));
          for (const t of stableArgsort(tmp).slice(0, nm.n)) mask1[r * count + i + t] = 1;
        }
      }
      for (let r = 0; r < rows; r++) {
        const x = w[r * cols + c];
        const q = mask1[r * count + i] ? 0 : x;
        const e = (x - q) / u[c * cols + c];
        for (let j = c; j < i2; j++) w[r * cols + j] -= e * u[c * cols + j];
        w[r * cols + c] = q;
        err[r * count + i] = e;
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let j = i2; j < cols; j++) {
        let s = 0;
        for (let i = 0; i < count; i++) s += err[r * count + i] * u[(i1 + i) * cols + j];
        w[r * cols + j] -= s;
      }
      for (let i = 0; i < count; i++) mask[r * cols + i1 + i] = mask1[r * count + i];
    }
  }
  return { weight: w, mask };
}

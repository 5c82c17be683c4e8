// Reference DSnoT refinement, structured like the authors' lib/prune.py::prune_DSnoT
// (ALGORITHM.md §4.2 unstructured, §5 N:M): whole-row stable sorts build growL and pruneL,
// two pointers per list, all rows stepped in lock-step by one cycle counter; the §13.1 stop
// rule replaces the authors' walk past the end of a same-sign part of a list.
import { stableArgsort, type ReferenceColumns } from './masks.js';

const f = Math.fround;

export interface ReferenceDsnotArgs {
  w: Float32Array;
  rows: number;
  cols: number;
  initMask: Uint8Array;
  columns: ReferenceColumns;
  nm: { n: number; m: number } | null;
  /** N:M: the initial metric (the pruning candidate is the group's smallest kept one). */
  initialMetric: Float32Array | null;
  maxCycles: number;
  threshold: number;
  sameSign: boolean;
  /** The guard (ALGORITHM.md §14.2): H [cols, cols]; a swap that does not lower vᵀHv stops the row. */
  guard?: Float64Array;
}

export interface ReferenceDsnotResult {
  mask: Uint8Array;
  initError: Float64Array;
  error: Float64Array;
  cycles: number;
}

/** torch.sign: -1, 0 or 1. */
const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * The authors' return_reorder_indice applied to the kept list: positions with D < 0 in
 * ascending order, then position 0 repeated for D == 0 (quirk Q4), then positions with D > 0
 * in DEscending order (so the right pointer meets them in ascending Wanda order).
 */
function reorder(dOfKept: number[]): number[] {
  const neg: number[] = [];
  const pos: number[] = [];
  dOfKept.forEach((d, i) => (d < 0 ? neg.push(i) : d > 0 ? pos.push(i) : 0));
  const zeros = dOfKept.length - neg.length - pos.length;
  return [...neg, ...new Array<number>(zeros).fill(0), ...pos.reverse()];
}

/** vᵀHv of row r with v = w ⊙ mask, straight from the definition. */
export function quadraticError(w: Float32Array, mask: Uint8Array, r: number, cols: number, h: Float64Array): number {
  let q = 0;
  for (let i = 0; i < cols; i++) {
    if (!mask[r * cols + i]) continue;
    let t = 0;
    for (let j = 0; j < cols; j++) if (mask[r * cols + j]) t += h[i * cols + j] * w[r * cols + j];
    q += w[r * cols + i] * t;
  }
  return q;
}

/** The guard's test, from two whole quadratic forms (not the package's O(1) update). */
function guardAccepts(a: ReferenceDsnotArgs, mask: Uint8Array, r: number, q: number, g: number): boolean {
  if (!a.guard) return true;
  const before = quadraticError(a.w, mask, r, a.cols, a.guard);
  const next = mask.slice(r * a.cols, (r + 1) * a.cols);
  next[q] = 1;
  next[g] = 0;
  const after = quadraticError(a.w.subarray(r * a.cols, (r + 1) * a.cols), next, 0, a.cols, a.guard);
  return after < before;
}

export function referenceDsnot(a: ReferenceDsnotArgs): ReferenceDsnotResult {
  const { w, rows, cols, columns } = a;
  const mask = a.initMask.slice();
  const D32 = new Float32Array(rows * cols);
  const D64 = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = w[r * cols + c];
      D32[r * cols + c] = f(x * columns.sum32[c]);
      D64[r * cols + c] = x * columns.sum64[c];
    }
  }
  const initError = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let e = 0;
    for (let c = 0; c < cols; c++) if (mask[r * cols + c]) e += D64[r * cols + c];
    initError[r] = e;
  }
  const e = initError.slice();

  // growL: stable ascending argsort of G = where(pruned, D, 0) / var^p (0/0 taken as 0).
  const G: Float32Array[] = [];
  const growL: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const g = new Float32Array(cols);
    for (let c = 0; c < cols; c++) {
      const d = mask[r * cols + c] ? D32[r * cols + c] : 0;
      g[c] = d === 0 ? 0 : f(d / columns.varPow[c]);
    }
    G.push(g);
    growL.push(stableArgsort(g));
  }
  const gl = new Array<number>(rows).fill(0);
  const gr = new Array<number>(rows).fill(cols - 1);
  const active = new Array<boolean>(rows).fill(true);
  let cycle = 0;

  if (a.nm === null) {
    // pruneL from the kept weights in ascending Wanda order.
    const pruneL: number[][] = [];
    const nNeg: number[] = [];
    const nPos: number[] = [];
    for (let r = 0; r < rows; r++) {
      const wanda = new Float32Array(cols);
      for (let c = 0; c < cols; c++) {
        wanda[c] = mask[r * cols + c] ? Infinity : f(Math.abs(w[r * cols + c]) * columns.sqrtScaler[c]);
      }
      const kept = stableArgsort(wanda).filter((c) => !mask[r * cols + c]);
      const d = kept.map((c) => D32[r * cols + c]);
      pruneL.push(reorder(d).map((p) => kept[p]));
      nNeg.push(d.filter((x) => x < 0).length);
      nPos.push(d.filter((x) => x > 0).length);
    }
    const pl = new Array<number>(rows).fill(0);
    const pr = pruneL.map((l) => l.length - 1);
    while (active.some(Boolean) && cycle < a.maxCycles) {
      cycle++;
      for (let r = 0; r < rows; r++) {
        if (!active[r]) continue;
        const er = e[r];
        if (Math.abs(er) <= a.threshold) { active[r] = false; continue; }
        const g = er > 0 ? growL[r][gr[r]] : growL[r][gl[r]];
        if (!(er > 0 ? G[r][g] > 0 : G[r][g] < 0)) { active[r] = false; continue; }
        const nk = pruneL[r].length;
        const havePrune = er < 0 ? pr[r] >= nk - nPos[r] : pl[r] < nNeg[r];
        if (!havePrune) { active[r] = false; continue; }
        const q = er < 0 ? pruneL[r][pr[r]] : pruneL[r][pl[r]];
        const after = er + D64[r * cols + q] - D64[r * cols + g];
        if (a.sameSign && sign(after) !== sign(initError[r])) { active[r] = false; continue; }
        if (!guardAccepts(a, mask, r, q, g)) { active[r] = false; continue; }
        mask[r * cols + q] = 1;
        mask[r * cols + g] = 0;
        e[r] = after;
        if (er > 0) gr[r]--; else gl[r]++;
        if (er < 0) pr[r]--; else pl[r]++;
      }
    }
  } else {
    const { m } = a.nm;
    const I = Float32Array.from(a.initialMetric!);
    for (let i = 0; i < I.length; i++) if (mask[i]) I[i] = Infinity;
    while (active.some(Boolean) && cycle < a.maxCycles) {
      cycle++;
      for (let r = 0; r < rows; r++) {
        if (!active[r]) continue;
        const er = e[r];
        if (Math.abs(er) <= a.threshold) { active[r] = false; continue; }
        const g = er > 0 ? growL[r][gr[r]] : growL[r][gl[r]];
        if (!(er > 0 ? G[r][g] > 0 : G[r][g] < 0)) { active[r] = false; continue; }
        const b = g - (g % m);
        // topk(1, largest=False) over the group, ties to the lower index; +inf = not available.
        let q = -1;
        for (let t = b; t < b + m; t++) {
          const v = I[r * cols + t];
          if (v !== Infinity && (q < 0 || v < I[r * cols + q])) q = t;
        }
        if (q < 0) { active[r] = false; continue; }
        const after = er + D64[r * cols + q] - D64[r * cols + g];
        if (sign(after) !== sign(initError[r])) { active[r] = false; continue; }
        if (!guardAccepts(a, mask, r, q, g)) { active[r] = false; continue; }
        I[r * cols + q] = Infinity;
        mask[r * cols + q] = 1;
        mask[r * cols + g] = 0;
        e[r] = after;
        if (er > 0) gr[r]--; else gl[r]++;
      }
    }
  }
  return { mask, initError, error: e, cycles: cycle };
}

// SparseGPT (ALGORITHM.md §7: IST-DASLab sparsegpt.py::fasterprune) in f64.
//
// The factor: U = upper Cholesky factor of (H + λI)⁻¹, after the dead-column rule
// (diag(H) == 0 → H[c,c] = 1, W[:,c] = 0) and damping λ = percDamp · mean(diag(H)).
// The authors take cholesky → cholesky_inverse → cholesky(upper), about 2n³ flops. With J the
// reversal permutation, JHJ = M·Mᵀ (M lower) gives H = R·Rᵀ with R = JMJ upper, so
// H⁻¹ = R⁻ᵀR⁻¹ and U = R⁻¹ = J·M⁻¹·J: one Cholesky and one triangular inverse (n³/3 flops).
// Reversing both indices of a row-major square matrix is reversing its flat array.
// DSnoT's SparseGPT initial mask needs only diag(U)_c = 1 / M[n−1−c, n−1−c]: no inverse at all.
//
// The pruning (sparsegptLoad; per block of B columns sparsegptBlockMask, then sparsegptBlockRows
// over the threads; sparsegptStore): per block an OBS mask (unstructured: ONE threshold over the
// rows×B block, t = W1²/diag(U)², prune t ≤ sorted(t)[int(numel·s)]; N:M: per row and group of M,
// the n smallest of the CURRENT W1), the in-block OBS updates row by row, then the lazy batch
// update W[:, i2:] −= Err1 · U[i1:i2, i2:].
//
// The true error comes with the pruning, for O(rows·cols) instead of a dense vᵀHv (rows·cols²,
// as long as SparseGPT itself). Each OBS step fixes column c of a row at its target and moves the
// later columns optimally for H' = H + λI (dead columns: H'cc = 1 + λ, weights 0); it raises
// vᵀH'v by exactly e² with e = (w_c − target)/U_cc, so summed over the columns of a row
// Σ e² = v′ᵀH'v′ (v′ = the row's start minus its end, dead columns 0 at both). As v′ is 0 on
// the dead columns, v′ᵀH'v′ = v′ᵀHv′ + λ‖v′‖², and v′ᵀHv′ = vᵀHv when H's dead rows are 0 (a
// Gram matrix's are; the host checks a given H). Tested against the dense product.

import { dot1x2, dot2x2, gD00, gD01, gD10, gD11 } from './dot-f64';

@inline function at(m: usize, n: i32, i: i32, j: i32): usize {
  return m + ((<usize>i * <usize>n + <usize>j) << 3);
}

// Σ_k a[k]·b[k], k < len, f64.
@inline function dot(a: usize, b: usize, len: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  let k = 0;
  const end4 = len & ~3;
  for (; k < end4; k += 4) {
    const o = <usize>k << 3;
    acc0 = f64x2.add(acc0, f64x2.mul(v128.load(a + o), v128.load(b + o)));
    acc1 = f64x2.add(acc1, f64x2.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  acc0 = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc0, 0) + f64x2.extract_lane(acc0, 1);
  for (; k < len; k++) s += load<f64>(a + (<usize>k << 3)) * load<f64>(b + (<usize>k << 3));
  return s;
}

// y[k] −= s · x[k], k < len.
@inline function axpyNeg(y: usize, x: usize, s: f64, len: i32): void {
  const sv = f64x2.splat(s);
  let k = 0;
  const end2 = len & ~1;
  for (; k < end2; k += 2) {
    const o = <usize>k << 3;
    v128.store(y + o, f64x2.sub(v128.load(y + o), f64x2.mul(sv, v128.load(x + o))));
  }
  if (k < len) {
    const o = <usize>k << 3;
    store<f64>(y + o, load<f64>(y + o) - s * load<f64>(x + o));
  }
}

// Dead columns and damping, in place on the full symmetric H. dead: u8 [n] out. Returns λ.
function prepare(h: usize, n: i32, percDamp: f64, dead: usize): f64 {
  let mean: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = at(h, n, i, i);
    const isDead = load<f64>(p) == 0;
    store<u8>(dead + <usize>i, <u8>isDead);
    if (isDead) store<f64>(p, 1);
    mean += load<f64>(p);
  }
  const damp = percDamp * (mean / <f64>n);
  for (let i = 0; i < n; i++) {
    const p = at(h, n, i, i);
    store<f64>(p, load<f64>(p) + damp);
  }
  return damp;
}

function reverseFlat(m: usize, count: usize): void {
  let a = m;
  let b = m + ((count - 1) << 3);
  while (a < b) {
    const t = load<f64>(a);
    store<f64>(a, load<f64>(b));
    store<f64>(b, t);
    a += 8;
    b -= 8;
  }
}

// The factor runs as steps the host calls in chunks (sparsegptFactorBegin, then per panel of rows
// sparsegptCholeskyLeft over the threads and sparsegptCholeskyRows, then row ranges of
// sparsegptInverseRows over the threads, then sparsegptFactorEnd or sparsegptObsDiagonal): many
// short calls let the engine optimise the hot loops after the first chunk instead of running one
// long call in its baseline tier.
//
// Why the Cholesky threads by panels: L[i,j] = (A[i,j] − L[i,:j]·L[j,:j]) / L[j,j] needs rows < i
// done only in their columns ≤ j. For a panel of rows [p0, p1), every column j < p0 reads rows
// that earlier panels finished, so the panel's rows fill those columns independently of each
// other (sparsegptCholeskyLeft, a chunk of rows per thread); only the panel's own triangle
// [p0, i) is sequential (sparsegptCholeskyRows from column p0). Each L[i,j] is still the same
// dot over the same k, summed the same way, whatever the split: p0 is even, so the column pairs
// (j, j+1) are the pairs of a single pass, and results are bit-identical for every thread count.

/**
 * Dead columns and damping on the full symmetric H, then JHJ (the flat reversal). dead: u8 [n]
 * out. Returns the damping λ (sparsegptStore needs it for the true error).
 */
export function sparsegptFactorBegin(h: usize, n: i32, percDamp: f64, dead: usize): f64 {
  const damp = prepare(h, n, percDamp, dead);
  reverseFlat(h, <usize>n * <usize>n);
  return damp;
}

/**
 * Rows [p0 + r0, p0 + r1) of the lower Cholesky factor in their columns [0, p0) (rows below p0
 * done). p0 and r0 even. Rows in pairs; a lone last row (n odd) alone. Each L[i,j] needs only
 * row i's columns < j, so the order of (tile, row) is free.
 */
export function sparsegptCholeskyLeft(a: usize, n: i32, p0: i32, r0: i32, r1: i32): void {
  const i1 = p0 + r1;
  // Columns in tiles of TILE_ROWS, every row of the call through a tile before the next: the
  // tile's rows of L are read from cache by all but the first.
  for (let jb = 0; jb < p0; jb += TILE_ROWS) {
    const je = min(p0, jb + TILE_ROWS);
    let i = p0 + r0;
    for (; i + 1 < i1; i += 2) pairColumns(a, n, i, jb, je);
    if (i < i1) rowColumns(a, n, i, jb, je);
  }
}

/**
 * Rows [i0, i1) of the lower Cholesky factor, in place, from column j0 (even; columns below j0
 * done, as are the rows below i0) to the diagonal. i0 even. Returns 0, or 1 + the first failing pivot.
 */
export function sparsegptCholeskyRows(a: usize, n: i32, j0: i32, i0: i32, i1: i32): i32 {
  let i = i0;
  for (; i + 1 < i1; i += 2) {
    pairColumns(a, n, i, j0, i);
    const f = pairDiagonal(a, n, i);
    if (f != 0) return f;
  }
  if (i < i1) {
    rowColumns(a, n, i, j0, i);
    return rowDiagonal(a, n, i);
  }
  return 0;
}

// Row i alone, columns [j0, j1): one dot per column.
function rowColumns(a: usize, n: i32, i: i32, j0: i32, j1: i32): void {
  const rowI = at(a, n, i, 0);
  for (let j = j0; j < j1; j++) {
    const rowJ = at(a, n, j, 0);
    const p = rowI + (<usize>j << 3);
    store<f64>(p, (load<f64>(p) - dot(rowI, rowJ, j)) / load<f64>(rowJ + (<usize>j << 3)));
  }
}

function rowDiagonal(a: usize, n: i32, i: i32): i32 {
  const rowI = at(a, n, i, 0);
  const p = rowI + (<usize>i << 3);
  const s = load<f64>(p) - dot(rowI, rowI, i);
  if (!(s > 0)) return i + 1;
  store<f64>(p, Math.sqrt(s));
  return 0;
}

// Rows i, i+1 (i even), columns [j0, j1) with j0 even and j1 ≤ i: two rows against two rows at
// a time share every load.
function pairColumns(a: usize, n: i32, i: i32, j0: i32, j1: i32): void {
  const r0 = at(a, n, i, 0);
  const r1 = at(a, n, i + 1, 0);
  let j = j0;
  for (; j + 1 < j1; j += 2) {
    const q0 = at(a, n, j, 0);
    const q1 = at(a, n, j + 1, 0);
    dot2x2(r0, r1, q0, q1, j);
    const ljj = load<f64>(q0 + (<usize>j << 3));
    const lj1j = load<f64>(q1 + (<usize>j << 3));
    const lj1j1 = load<f64>(q1 + (<usize>(j + 1) << 3));
    const oj = <usize>j << 3;
    const l0j = (load<f64>(r0 + oj) - gD00) / ljj;
    const l1j = (load<f64>(r1 + oj) - gD10) / ljj;
    store<f64>(r0 + oj, l0j);
    store<f64>(r1 + oj, l1j);
    store<f64>(r0 + oj + 8, (load<f64>(r0 + oj + 8) - gD01 - l0j * lj1j) / lj1j1);
    store<f64>(r1 + oj + 8, (load<f64>(r1 + oj + 8) - gD11 - l1j * lj1j) / lj1j1);
  }
}

// The 2×2 diagonal block of rows i, i+1 (their columns < i done).
function pairDiagonal(a: usize, n: i32, i: i32): i32 {
  const r0 = at(a, n, i, 0);
  const r1 = at(a, n, i + 1, 0);
  const oi = <usize>i << 3;
  dot2x2(r0, r1, r0, r1, i);
  const s0 = load<f64>(r0 + oi) - gD00;
  if (!(s0 > 0)) return i + 1;
  const lii = Math.sqrt(s0);
  store<f64>(r0 + oi, lii);
  const l10 = (load<f64>(r1 + oi) - gD10) / lii;
  store<f64>(r1 + oi, l10);
  const s1 = load<f64>(r1 + oi + 8) - gD11 - l10 * l10;
  if (!(s1 > 0)) return i + 2;
  store<f64>(r1 + oi + 8, Math.sqrt(s1));
  return 0;
}

/**
 * diag(U) for DSnoT's SparseGPT initial mask, after the Cholesky rows: diag(U)_c = 1/M[n−1−c, n−1−c]
 * (+inf for a dead column: its weights are zeroed, so its saliency is 0).
 */
export function sparsegptObsDiagonal(h: usize, n: i32, dead: usize, diagOut: usize): void {
  for (let c = 0; c < n; c++) {
    const d = load<u8>(dead + <usize>c) != 0 ? Infinity : 1 / load<f64>(at(h, n, n - 1 - c, n - 1 - c));
    store<f64>(diagOut + (<usize>c << 3), d);
  }
}

/** Save diag(M) to scratch (f64 [n]) before sparsegptInverseRows overwrites it. */
export function sparsegptSaveDiagonal(h: usize, n: i32, diag: usize): void {
  for (let i = 0; i < n; i++) store<f64>(diag + (<usize>i << 3), load<f64>(at(h, n, i, i)));
}

/**
 * Rows [j0, j1) of Y = (M⁻¹)ᵀ (upper): Y[j,j] = 1/M[j,j], Y[j,i] = −(M[i, j:i]·Y[j, j:i]) / M[i,i].
 * Y overwrites the upper triangle and the diagonal; the strict lower triangle still holds M, which
 * is all a row of Y reads, so rows are independent (the threads' unit). j0 even. Two rows j
 * against two rows of M per step; the columns i go in tiles of TILE_ROWS, every pair of the call
 * through a tile before the next, so the tile's rows of M are read from cache by all but the first.
 */
export function sparsegptInverseRows(h: usize, n: i32, diag: usize, j0: i32, j1: i32): void {
  const pairsEnd = j0 + ((j1 - j0) & ~1);
  for (let j = j0; j < pairsEnd; j += 2) inversePairStart(h, n, diag, j);
  for (let ib = j0 + 2; ib < n; ib += TILE_ROWS) {
    const ie = min(n, ib + TILE_ROWS);
    for (let j = j0; j < pairsEnd && j + 2 < ie; j += 2) inversePairColumns(h, n, diag, j, max(ib, j + 2), ie);
  }
  if (pairsEnd < j1) {
    const j = pairsEnd;
    const y = at(h, n, j, j);
    store<f64>(y, 1 / load<f64>(diag + (<usize>j << 3)));
    for (let i = j + 1; i < n; i++) {
      store<f64>(at(h, n, j, i), -dot(at(h, n, i, j), y, i - j) / load<f64>(diag + (<usize>i << 3)));
    }
  }
}

/** Rows of M (columns of Y) per tile of sparsegptInverseRows; rows of L per tile of sparsegptCholeskyLeft. */
const TILE_ROWS: i32 = 16;

// Y[j,j], Y[j+1,j+1] and Y[j, j+1] (it needs only Y[j, j]) of the pair j, j+1.
function inversePairStart(h: usize, n: i32, diag: usize, j: i32): void {
  const y0 = at(h, n, j, j);
  const y1 = at(h, n, j + 1, j + 1);
  store<f64>(y0, 1 / load<f64>(diag + (<usize>j << 3)));
  store<f64>(y1, 1 / load<f64>(diag + (<usize>(j + 1) << 3)));
  store<f64>(y0 + 8, -(load<f64>(at(h, n, j + 1, j)) * load<f64>(y0)) / load<f64>(diag + (<usize>(j + 1) << 3)));
}

// Columns [i0, i1) of the pair j, j+1 (i0 even, ≥ j + 2; columns below i0 done). Two rows i of M
// at a time as well: over k in [j+1, i) the four products share their loads; then the terms
// outside that range (k = j for row j, k = i for column i+1). A lone last column (n odd) alone.
function inversePairColumns(h: usize, n: i32, diag: usize, j: i32, i0: i32, i1: i32): void {
  const y0 = at(h, n, j, j);
  const y1 = at(h, n, j + 1, j + 1);
  const yjj = load<f64>(y0);
  let i = i0;
  for (; i + 1 < i1; i += 2) {
    const len = i - j - 1;
    dot2x2(at(h, n, i, j + 1), at(h, n, i + 1, j + 1), y0 + 8, y1, len);
    const mii = load<f64>(diag + (<usize>i << 3));
    const mi1 = load<f64>(diag + (<usize>(i + 1) << 3));
    const yji = -(gD00 + load<f64>(at(h, n, i, j)) * yjj) / mii;
    const yj1i = -gD01 / mii;
    const mi1i = load<f64>(at(h, n, i + 1, i));
    store<f64>(at(h, n, j, i), yji);
    store<f64>(at(h, n, j + 1, i), yj1i);
    store<f64>(at(h, n, j, i + 1), -(gD10 + load<f64>(at(h, n, i + 1, j)) * yjj + mi1i * yji) / mi1);
    store<f64>(at(h, n, j + 1, i + 1), -(gD11 + mi1i * yj1i) / mi1);
  }
  if (i < i1) {
    dot1x2(at(h, n, i, j + 1), y0 + 8, y1, i - j - 1);
    const mii = load<f64>(diag + (<usize>i << 3));
    store<f64>(at(h, n, j, i), -(gD00 + load<f64>(at(h, n, i, j)) * yjj) / mii);
    store<f64>(at(h, n, j + 1, i), -gD01 / mii);
  }
}

/**
 * U[a,b] = M⁻¹[n−1−a, n−1−b] = Y[n−1−b, n−1−a]: reflect the upper triangle across the
 * anti-diagonal, then clear the strict lower triangle. h then holds U.
 */
export function sparsegptFactorEnd(h: usize, n: i32): void {
  for (let p = 0; p < n; p++) {
    for (let q = p; p + q < n - 1; q++) {
      const x = at(h, n, p, q);
      const y = at(h, n, n - 1 - q, n - 1 - p);
      const t = load<f64>(x);
      store<f64>(x, load<f64>(y));
      store<f64>(y, t);
    }
  }
  for (let i = 1; i < n; i++) memory.fill(at(h, n, i, 0), 0, <usize>i << 3);
}

// k-th smallest (0-based) of n f64 at a, reordering them (quickselect, median of three).
function kthSmallest(a: usize, n: i32, k: i32): f64 {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    const x = load<f64>(a + (<usize>lo << 3));
    const y = load<f64>(a + (<usize>mid << 3));
    const z = load<f64>(a + (<usize>hi << 3));
    const pivot = max(min(x, y), min(max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (load<f64>(a + (<usize>i << 3)) < pivot) i++;
      while (load<f64>(a + (<usize>j << 3)) > pivot) j--;
      if (i <= j) {
        const t = load<f64>(a + (<usize>i << 3));
        store<f64>(a + (<usize>i << 3), load<f64>(a + (<usize>j << 3)));
        store<f64>(a + (<usize>j << 3), t);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return pivot;
  }
  return load<f64>(a + (<usize>k << 3));
}

// Lazy batch update of the columns after the block: W[r, i2:] −= Σ_i err[r,i] · U[i1+i, i2:].
// 4 rows × 4 columns per register block; columns in tiles so U's block rows stay in cache.
const UPDATE_TILE: i32 = 256;
function lazyUpdate(w: usize, rows: i32, cols: i32, u: usize, err: usize, i1: i32, count: i32, i2: i32): void {
  const eStride = <usize>count << 3;
  for (let j0 = i2; j0 < cols; j0 += UPDATE_TILE) {
    const j1 = min(j0 + UPDATE_TILE, cols);
    const vecEnd = j0 + ((j1 - j0) & ~3);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const e0 = err + <usize>r * eStride;
      for (let j = j0; j < vecEnd; j += 4) {
        let a00 = f64x2.splat(0), a01 = f64x2.splat(0), a10 = f64x2.splat(0), a11 = f64x2.splat(0);
        let a20 = f64x2.splat(0), a21 = f64x2.splat(0), a30 = f64x2.splat(0), a31 = f64x2.splat(0);
        for (let i = 0; i < count; i++) {
          const up = at(u, cols, i1 + i, j);
          const u0 = v128.load(up);
          const u1 = v128.load(up, 16);
          const ep = e0 + (<usize>i << 3);
          let e = v128.load64_splat(ep);
          a00 = f64x2.add(a00, f64x2.mul(e, u0));
          a01 = f64x2.add(a01, f64x2.mul(e, u1));
          e = v128.load64_splat(ep + eStride);
          a10 = f64x2.add(a10, f64x2.mul(e, u0));
          a11 = f64x2.add(a11, f64x2.mul(e, u1));
          e = v128.load64_splat(ep + 2 * eStride);
          a20 = f64x2.add(a20, f64x2.mul(e, u0));
          a21 = f64x2.add(a21, f64x2.mul(e, u1));
          e = v128.load64_splat(ep + 3 * eStride);
          a30 = f64x2.add(a30, f64x2.mul(e, u0));
          a31 = f64x2.add(a31, f64x2.mul(e, u1));
        }
        let wp = at(w, cols, r, j);
        v128.store(wp, f64x2.sub(v128.load(wp), a00));
        v128.store(wp, f64x2.sub(v128.load(wp, 16), a01), 16);
        wp += <usize>cols << 3;
        v128.store(wp, f64x2.sub(v128.load(wp), a10));
        v128.store(wp, f64x2.sub(v128.load(wp, 16), a11), 16);
        wp += <usize>cols << 3;
        v128.store(wp, f64x2.sub(v128.load(wp), a20));
        v128.store(wp, f64x2.sub(v128.load(wp, 16), a21), 16);
        wp += <usize>cols << 3;
        v128.store(wp, f64x2.sub(v128.load(wp), a30));
        v128.store(wp, f64x2.sub(v128.load(wp, 16), a31), 16);
      }
      for (let rr = r; rr < r + 4; rr++) lazyTail(w, cols, u, err, eStride, rr, i1, count, vecEnd, j1);
    }
    for (; r < rows; r++) lazyTail(w, cols, u, err, eStride, r, i1, count, j0, j1);
  }
}

function lazyTail(w: usize, cols: i32, u: usize, err: usize, eStride: usize, r: i32, i1: i32, count: i32, j0: i32, j1: i32): void {
  for (let j = j0; j < j1; j++) {
    let s: f64 = 0;
    for (let i = 0; i < count; i++) s += load<f64>(err + <usize>r * eStride + (<usize>i << 3)) * load<f64>(at(u, cols, i1 + i, j));
    const p = at(w, cols, r, j);
    store<f64>(p, load<f64>(p) - s);
  }
}

/** work (f64 [rows, cols]) = weight with the dead columns zeroed. */
export function sparsegptLoad(weight: usize, rows: i32, cols: i32, dead: usize, work: usize): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = load<u8>(dead + <usize>c) != 0 ? 0 : <f64>load<f32>(weight + ((<usize>r * <usize>cols + <usize>c) << 2));
      store<f64>(at(work, cols, r, c), v);
    }
  }
}

/**
 * weight = f32(work): the pruned entries are exactly 0. Before weight is overwritten, turns
 * errSq (per row Σ e², summed by sparsegptBlockRows) into the row's true error vᵀHv, v = the
 * original row minus the final one, in f64 (see "The true error" above): Σ e² − λ·‖v′‖², v′ with
 * the dead columns' original weights taken as 0.
 */
export function sparsegptStore(work: usize, rows: i32, cols: i32, weight: usize, dead: usize, errSq: usize, damp: f64): void {
  for (let r = 0; r < rows; r++) {
    let norm: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const p = weight + ((<usize>r * <usize>cols + <usize>c) << 2);
      const x = load<f64>(at(work, cols, r, c));
      const v = (load<u8>(dead + <usize>c) != 0 ? 0 : <f64>load<f32>(p)) - x;
      norm += v * v;
      store<f32>(p, <f32>x);
    }
    const q = errSq + (<usize>r << 3);
    store<f64>(q, load<f64>(q) - damp * norm);
  }
}

/**
 * The rows [r0, r1) of a block after its mask (unstructured: sparsegptBlockMask first; N:M makes
 * its groups here): the in-block OBS updates and the lazy update of the later columns. Rows are
 * independent and every entry gets the same sums in the same order whatever the split (the
 * 4-row register blocks and the one-row tail add alike), so this is the threads' unit of work.
 */
export function sparsegptBlockRows(
  work: usize, rows: i32, cols: i32, u: usize, mask: usize,
  nmN: i32, nmM: i32, i1: i32, block: i32, err: usize, errSq: usize, r0: i32, r1: i32,
): void {
  const i2 = min(i1 + block, cols);
  const count = i2 - i1;
  for (let r = r0; r < r1; r++) {
    const wRow = at(work, cols, r, 0);
    const mRow = mask + <usize>r * <usize>cols;
    let sq: f64 = 0;
    for (let i = 0; i < count; i++) {
      const c = i1 + i;
      if (nmM > 0 && i % nmM == 0) groupMask(wRow, mRow, u, cols, c, nmN, nmM);
      const x = load<f64>(wRow + (<usize>c << 3));
      const q = load<u8>(mRow + <usize>c) != 0 ? 0 : x;
      const e = (x - q) / load<f64>(at(u, cols, c, c));
      axpyNeg(wRow + (<usize>(c + 1) << 3), at(u, cols, c, c + 1), e, i2 - c - 1);
      store<f64>(wRow + (<usize>c << 3), q);
      store<f64>(err + ((<usize>r * <usize>count + <usize>i) << 3), e);
      sq += e * e;
    }
    const q = errSq + (<usize>r << 3);
    store<f64>(q, load<f64>(q) + sq);
  }
  const rowErr = err + ((<usize>r0 * <usize>count) << 3);
  lazyUpdate(at(work, cols, r0, 0), r1 - r0, cols, u, rowErr, i1, count, i2);
}

/** Unstructured block mask: t = W1²/d², one threshold for the whole rows × block block (sel: f64 scratch). */
export function sparsegptBlockMask(work: usize, rows: i32, cols: i32, u: usize, mask: usize, sparsity: f64, i1: i32, block: i32, sel: usize): void {
  const count = min(i1 + block, cols) - i1;
  const n = rows * count;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < count; i++) {
      const d = load<f64>(at(u, cols, i1 + i, i1 + i));
      const x = load<f64>(at(work, cols, r, i1 + i));
      store<f64>(sel + ((<usize>r * <usize>count + <usize>i) << 3), (x * x) / (d * d));
    }
  }
  // The same values again after the selection reorders sel: recompute instead of storing twice.
  const thr = kthSmallest(sel, n, <i32>Math.floor(<f64>n * sparsity));
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < count; i++) {
      const d = load<f64>(at(u, cols, i1 + i, i1 + i));
      const x = load<f64>(at(work, cols, r, i1 + i));
      store<u8>(mask + <usize>r * <usize>cols + <usize>(i1 + i), <u8>((x * x) / (d * d) <= thr));
    }
  }
}

// N:M group mask on the current row: the n smallest W1²/d² of columns c..c+m (ties: lower column).
function groupMask(wRow: usize, mRow: usize, u: usize, cols: i32, c: i32, n: i32, m: i32): void {
  for (let t = 0; t < m; t++) {
    const dt = load<f64>(at(u, cols, c + t, c + t));
    const xt = load<f64>(wRow + (<usize>(c + t) << 3));
    const vt = (xt * xt) / (dt * dt);
    let rank = 0;
    for (let s = 0; s < m; s++) {
      const ds = load<f64>(at(u, cols, c + s, c + s));
      const xs = load<f64>(wRow + (<usize>(c + s) << 3));
      const vs = (xs * xs) / (ds * ds);
      rank += <i32>(vs < vt || (vs == vt && s < t));
    }
    store<u8>(mRow + <usize>(c + t), <u8>(rank < n));
  }
}

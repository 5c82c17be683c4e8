// The true layer error and exact swaps (ALGORITHM.md §14), one row at a time.
//
//   H = (2/N) Σ_n X_nᵀ X_n (f64 [cols, cols], both triangles)      w = one row of W (f32)
//   v = w ⊙ mask (the pruned part; or a dense difference W − Ŵ)     c = H·v (f64 [cols])
//   Q = vᵀ H v = v·c  → the row's error ‖X v‖² per calibration sequence is Q / 2
//
//   swapsProduct  c = H·v for a chunk of rows (two rows against two columns of H at a time,
//                 over tiles of H so that a tile stays in cache for all rows of the chunk)
//   swapsErrors   Q per row from v and c
//   swapsRefine   per row: repeatedly apply the best error-decreasing 1-swap (prune kept k,
//                 revive pruned j), keeping the per-row (or per N:M group) count:
//                   s_k = 2 w_k c_k + w_k² H_kk   (kept k: the cost of pruning it)
//                   s_j = −2 w_j c_j + w_j² H_jj  (pruned j: the cost of reviving it)
//                   ΔQ(j, k) = s_j + s_k − 2 w_j w_k H_jk;  after a swap c += w_k H[k] − w_j H[j]
//
// The search (documented approximation of "best pair", exact when width ≥ min(#pruned, #kept)):
// the `width` pruned j with the smallest s_j are each paired with EVERY kept k, and the `width`
// kept k with the smallest s_k with EVERY pruned j; the best of those pairs (ties: lower j, then
// lower k) is applied when ΔQ < −1e-12·Q, else the row stops. N:M pairs j and k of one group of M,
// and every pair of every group is evaluated: that search is exact. Every accepted swap lowers
// the row's true error, so the result is never worse than the mask it starts from.
import { dot2x2, gD00, gD01, gD10, gD11 } from './dot-f64';

/** Columns of H per tile of the product: one tile of the chunk's v rows stays in cache. */
const TILE: i32 = 256;
/** A swap must lower Q by more than this fraction of Q (rounding of the f64 updates never decides). */
const REL_GAIN: f64 = 1e-12;

/** True when a swap's ΔQ lowers the row's Q = vᵀHv enough to be applied (swaps and the DSnoT guard). */
// @ts-ignore: decorator
@inline
export function lowersError(dq: f64, q: f64): bool {
  return dq < 0 && dq < -REL_GAIN * q;
}

/**
 * ΔQ of pruning kept k and reviving pruned j in the row w (f32) whose c = H·v is at c: the
 * header's formula, in the order the search evaluates it. (dsnot.ts's guard asks the same.)
 */
export function swapDelta(h: usize, cols: i32, w: usize, c: usize, j: i32, k: i32): f64 {
  const wj = <f64>load<f32>(w + (<usize>j << 2));
  const wk = <f64>load<f32>(w + (<usize>k << 2));
  const sj = -2 * wj * load<f64>(c + (<usize>j << 3)) + wj * wj * load<f64>(h + ((<usize>j * <usize>cols + <usize>j) << 3));
  const sk = 2 * wk * load<f64>(c + (<usize>k << 3)) + wk * wk * load<f64>(h + ((<usize>k * <usize>cols + <usize>k) << 3));
  return (sj + sk) - 2 * wj * wk * load<f64>(h + ((<usize>j * <usize>cols + <usize>k) << 3));
}

/** After pruning k and reviving j: c += w_k·H[k] − w_j·H[j] (O(cols); H is symmetric). */
export function applySwap(h: usize, cols: i32, w: usize, c: usize, j: i32, k: i32): void {
  const wj = <f64>load<f32>(w + (<usize>j << 2));
  const wk = <f64>load<f32>(w + (<usize>k << 2));
  const hj = h + ((<usize>j * <usize>cols) << 3);
  const hk = h + ((<usize>k * <usize>cols) << 3);
  for (let i = 0; i < cols; i++) {
    const p = c + (<usize>i << 3);
    const o = <usize>i << 3;
    store<f64>(p, load<f64>(p) + wk * load<f64>(hk + o) - wj * load<f64>(hj + o));
  }
}

/** Bytes of scratch swapsProduct needs for `rows` rows of `cols`. */
export function swapsProductScratchBytes(rows: i32, cols: i32): i32 {
  return 8 * rows * cols + 16;
}

/**
 * c[r, :] = H · v_r for r < rows. v_r = w_r ⊙ mask_r when mask != 0, else w_r itself (a dense
 * difference). c: f64 [rows, cols]; scratch: swapsProductScratchBytes(rows, cols).
 */
export function swapsProduct(w: usize, mask: usize, rows: i32, cols: i32, h: usize, c: usize, scratch: usize): void {
  const v = scratch;
  const n = <usize>rows * <usize>cols;
  for (let i: usize = 0; i < n; i++) {
    const x = <f64>load<f32>(w + (i << 2));
    store<f64>(v + (i << 3), mask == 0 || load<u8>(mask + i) != 0 ? x : 0);
    store<f64>(c + (i << 3), 0);
  }
  const rowBytes = <usize>cols << 3;
  for (let j0 = 0; j0 < cols; j0 += TILE) {
    const len = min(TILE, cols - j0);
    const off = <usize>j0 << 3;
    let k = 0;
    // Four columns of H at a time for pairs of rows (each loaded vector used two or four times);
    // every dot is summed exactly as dot2x2 sums it, so the columns left over below agree.
    for (; k + 3 < cols; k += 4) {
      const h0 = h + <usize>k * rowBytes + off;
      let r = 0;
      for (; r + 1 < rows; r += 2) {
        const a0 = v + <usize>r * rowBytes + off;
        dot2x4(a0, a0 + rowBytes, h0, rowBytes, len);
        const p = c + <usize>r * rowBytes + (<usize>k << 3);
        v128.store(p, f64x2.add(v128.load(p), gR0a));
        v128.store(p + 16, f64x2.add(v128.load(p + 16), gR0b));
        v128.store(p + rowBytes, f64x2.add(v128.load(p + rowBytes), gR1a));
        v128.store(p + rowBytes + 16, f64x2.add(v128.load(p + rowBytes + 16), gR1b));
      }
      if (r < rows) {
        const a0 = v + <usize>r * rowBytes + off;
        const p = c + <usize>r * rowBytes + (<usize>k << 3);
        for (let t: usize = 0; t < 4; t++) store<f64>(p + (t << 3), load<f64>(p + (t << 3)) + dot(a0, h0 + t * rowBytes, len));
      }
    }
    for (; k + 1 < cols; k += 2) {
      const h0 = h + <usize>k * rowBytes + off;
      const h1 = h0 + rowBytes;
      let r = 0;
      for (; r + 1 < rows; r += 2) {
        const a0 = v + <usize>r * rowBytes + off;
        dot2x2(a0, a0 + rowBytes, h0, h1, len);
        const p = c + <usize>r * rowBytes + (<usize>k << 3);
        store<f64>(p, load<f64>(p) + gD00);
        store<f64>(p + 8, load<f64>(p + 8) + gD01);
        store<f64>(p + rowBytes, load<f64>(p + rowBytes) + gD10);
        store<f64>(p + rowBytes + 8, load<f64>(p + rowBytes + 8) + gD11);
      }
      if (r < rows) {
        const a0 = v + <usize>r * rowBytes + off;
        const p = c + <usize>r * rowBytes + (<usize>k << 3);
        store<f64>(p, load<f64>(p) + dot(a0, h0, len));
        store<f64>(p + 8, load<f64>(p + 8) + dot(a0, h1, len));
      }
    }
    if (k < cols) {
      const hk = h + <usize>k * rowBytes + off;
      for (let r = 0; r < rows; r++) {
        const p = c + <usize>r * rowBytes + (<usize>k << 3);
        store<f64>(p, load<f64>(p) + dot(v + <usize>r * rowBytes + off, hk, len));
      }
    }
  }
}

// dot2x4's results: row a0 against columns 0,1 (gR0a) and 2,3 (gR0b); row a1 likewise.
let gR0a = f64x2.splat(0), gR0b = f64x2.splat(0), gR1a = f64x2.splat(0), gR1b = f64x2.splat(0);

// The eight dots of rows a0, a1 against the four H rows b, b + stride, b + 2·stride, b + 3·stride
// over len, each summed as dot2x2 sums it: two lanes, then lane 0 + lane 1, then the odd tail.
// @ts-ignore: decorator
@inline
function dot2x4(a0: usize, a1: usize, b: usize, stride: usize, len: i32): void {
  const b1 = b + stride, b2 = b1 + stride, b3 = b2 + stride;
  let s00 = f64x2.splat(0), s01 = f64x2.splat(0), s02 = f64x2.splat(0), s03 = f64x2.splat(0);
  let s10 = f64x2.splat(0), s11 = f64x2.splat(0), s12 = f64x2.splat(0), s13 = f64x2.splat(0);
  const end2 = len & ~1;
  for (let k = 0; k < end2; k += 2) {
    const o = <usize>k << 3;
    const x0 = v128.load(a0 + o);
    const x1 = v128.load(a1 + o);
    let y = v128.load(b + o);
    s00 = f64x2.add(s00, f64x2.mul(x0, y));
    s10 = f64x2.add(s10, f64x2.mul(x1, y));
    y = v128.load(b1 + o);
    s01 = f64x2.add(s01, f64x2.mul(x0, y));
    s11 = f64x2.add(s11, f64x2.mul(x1, y));
    y = v128.load(b2 + o);
    s02 = f64x2.add(s02, f64x2.mul(x0, y));
    s12 = f64x2.add(s12, f64x2.mul(x1, y));
    y = v128.load(b3 + o);
    s03 = f64x2.add(s03, f64x2.mul(x0, y));
    s13 = f64x2.add(s13, f64x2.mul(x1, y));
  }
  gR0a = f64x2(lanesSum(s00), lanesSum(s01));
  gR0b = f64x2(lanesSum(s02), lanesSum(s03));
  gR1a = f64x2(lanesSum(s10), lanesSum(s11));
  gR1b = f64x2(lanesSum(s12), lanesSum(s13));
  if (end2 < len) {
    const o = <usize>end2 << 3;
    const x0 = f64x2.splat(load<f64>(a0 + o)), x1 = f64x2.splat(load<f64>(a1 + o));
    const ya = f64x2(load<f64>(b + o), load<f64>(b1 + o));
    const yb = f64x2(load<f64>(b2 + o), load<f64>(b3 + o));
    gR0a = f64x2.add(gR0a, f64x2.mul(x0, ya));
    gR0b = f64x2.add(gR0b, f64x2.mul(x0, yb));
    gR1a = f64x2.add(gR1a, f64x2.mul(x1, ya));
    gR1b = f64x2.add(gR1b, f64x2.mul(x1, yb));
  }
}

// @ts-ignore: decorator
@inline
function lanesSum(s: v128): f64 {
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

@inline function dot(a: usize, b: usize, len: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < len; i++) s += load<f64>(a + (<usize>i << 3)) * load<f64>(b + (<usize>i << 3));
  return s;
}

/** Q_r = Σ_j v_j c_j (f64) per row into q (f64 [rows]); v as in swapsProduct. */
export function swapsErrors(w: usize, mask: usize, rows: i32, cols: i32, c: usize, q: usize): void {
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * <usize>cols;
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const i = base + <usize>j;
      if (mask != 0 && load<u8>(mask + i) == 0) continue;
      s += <f64>load<f32>(w + (i << 2)) * load<f64>(c + (i << 3));
    }
    store<f64>(q + (<usize>r << 3), s);
  }
}

// ---- the swap search --------------------------------------------------------------------

// Per-call constants, set by swapsRefine (wasm globals: each thread's instance has its own).
let gCols: i32 = 0;
let gH: usize = 0;
let gWidth: i32 = 0;
let gScore: usize = 0; // f64 [cols]: s_j (pruned) or s_k (kept)
// The same scores split by side, +inf on the other side, so that a pass over every kept (or
// every pruned) column is a branch-free vector loop: an +inf lane never wins a minimum.
let gKeptScore: usize = 0; // f64 [cols]
let gPrunedScore: usize = 0; // f64 [cols]
let gW64: usize = 0; // f64 [cols]: the row's weights
let gDiag: usize = 0; // f64 [cols]: H's diagonal, contiguous (read once per step; strided in H)
let gBestP: usize = 0; // i32 [width]: pruned columns with the smallest s, ascending (s, column)
let gBestK: usize = 0; // i32 [width]: kept columns likewise
// The best pair of the current step.
let gPairJ: i32 = -1;
let gPairK: i32 = -1;
let gPairD: f64 = 0;

/** Scratch bytes swapsRefine needs. */
export function swapsScratchBytes(cols: i32, width: i32): i32 {
  return 40 * cols + 8 * width + 64;
}

@inline function hAt(j: i32, k: i32): f64 {
  return load<f64>(gH + ((<usize>j * <usize>gCols + <usize>k) << 3));
}
@inline function scoreAt(j: i32): f64 {
  return load<f64>(gScore + (<usize>j << 3));
}

// One pass over the row per step: apply the pending swap (prune k, revive j; none when k < 0) to c
// exactly as applySwap does, then s for every column from the new c and, for an unstructured
// row, the width cheapest columns of each side (searchRow's candidates).
function refresh(w: usize, mask: usize, c: usize, j: i32, k: i32, lists: bool): void {
  const hj = gH + ((<usize>max(j, 0) * <usize>gCols) << 3);
  const hk = gH + ((<usize>max(k, 0) * <usize>gCols) << 3);
  const wj = k >= 0 ? load<f64>(gW64 + (<usize>j << 3)) : 0;
  const wk = k >= 0 ? load<f64>(gW64 + (<usize>k << 3)) : 0;
  let np = 0, nk = 0;
  for (let i = 0; i < gCols; i++) {
    const o = <usize>i << 3;
    let ci = load<f64>(c + o);
    if (k >= 0) {
      ci = ci + wk * load<f64>(hk + o) - wj * load<f64>(hj + o);
      store<f64>(c + o, ci);
    }
    const x = load<f64>(gW64 + o);
    const pruned = load<u8>(mask + <usize>i) != 0;
    const s = (pruned ? -2 * x * ci : 2 * x * ci) + x * x * load<f64>(gDiag + o);
    store<f64>(gScore + o, s);
    store<f64>(gKeptScore + o, pruned ? Infinity : s);
    store<f64>(gPrunedScore + o, pruned ? s : Infinity);
    if (!lists) continue;
    if (pruned) np = insertBest(gBestP, np, i);
    else nk = insertBest(gBestK, nk, i);
  }
  gNumP = np;
  gNumK = nk;
}
let gNumP: i32 = 0;
let gNumK: i32 = 0;

// The best partner of column `fixed` among the columns whose `side` score is finite:
// min over i of (sFixed + side[i]) − ((2·w_fixed)·w_i)·H[fixed, i], the scalar formula's order;
// ties to the lower i. The search's time is this loop, so it keeps only minima, two lanes at a
// time, per block of BLOCK columns, remembering the first block with the smallest; the column is
// then found inside that block by evaluating the same expression (bit for bit) again.
// Leaves the pair in gBestD / gBestI.
const BLOCK: i32 = 64;
let gBestD: f64 = 0;
let gBestI: i32 = -1;
@inline function partnerLanes(sF: v128, twoW: v128, side: usize, hRow: usize, o: usize): v128 {
  return f64x2.sub(f64x2.add(sF, v128.load(side + o)), f64x2.mul(f64x2.mul(twoW, v128.load(gW64 + o)), v128.load(hRow + o)));
}
@inline function partnerScalar(sFixed: f64, twoW: f64, side: usize, hRow: usize, i: i32): f64 {
  const o = <usize>i << 3;
  return (sFixed + load<f64>(side + o)) - twoW * load<f64>(gW64 + o) * load<f64>(hRow + o);
}
function bestPartner(fixed: i32, sFixed: f64, side: usize): void {
  const hRow = gH + ((<usize>fixed * <usize>gCols) << 3);
  const tw = 2 * load<f64>(gW64 + (<usize>fixed << 3));
  const twoW = f64x2.splat(tw);
  const sF = f64x2.splat(sFixed);
  const pairs = gCols & ~1;
  let best: f64 = Infinity;
  let bestBlock = -1;
  for (let b = 0; b < pairs; b += BLOCK) {
    const end = min(b + BLOCK, pairs);
    let lanes = f64x2.splat(Infinity);
    for (let i = b; i < end; i += 2) lanes = f64x2.pmin(lanes, partnerLanes(sF, twoW, side, hRow, <usize>i << 3));
    const m = min(f64x2.extract_lane(lanes, 0), f64x2.extract_lane(lanes, 1));
    if (m < best) {
      best = m;
      bestBlock = b;
    }
  }
  gBestD = best;
  gBestI = -1;
  if (pairs < gCols) {
    const d = partnerScalar(sFixed, tw, side, hRow, pairs);
    if (d < best) {
      gBestD = d;
      gBestI = pairs;
      return;
    }
  }
  if (bestBlock < 0) return;
  for (let i = bestBlock; ; i++) {
    if (partnerScalar(sFixed, tw, side, hRow, i) == best) {
      gBestI = i;
      return;
    }
  }
}

// Inserts column j into the ascending (score, column) list at `list` holding n entries (capacity
// gWidth); returns the new count.
function insertBest(list: usize, n: i32, j: i32): i32 {
  const s = scoreAt(j);
  if (n == gWidth) {
    const last = load<i32>(list + (<usize>(n - 1) << 2));
    if (!(s < scoreAt(last))) return n; // columns arrive ascending: a tie keeps the earlier one
    n--;
  }
  let i = n - 1;
  while (i >= 0) {
    const o = load<i32>(list + (<usize>i << 2));
    if (!(s < scoreAt(o))) break;
    store<i32>(list + (<usize>(i + 1) << 2), o);
    i--;
  }
  store<i32>(list + (<usize>(i + 1) << 2), j);
  return n + 1;
}

@inline function offerPair(j: i32, k: i32, d: f64): void {
  if (d < gPairD || (d == gPairD && (j < gPairJ || (j == gPairJ && k < gPairK)))) {
    gPairD = d;
    gPairJ = j;
    gPairK = k;
  }
}

// The best pair of an unstructured row (see the header).
function searchRow(): void {
  const np = gNumP, nk = gNumK;
  gPairD = Infinity;
  gPairJ = -1;
  gPairK = -1;
  for (let a = 0; a < np; a++) {
    const j = load<i32>(gBestP + (<usize>a << 2));
    bestPartner(j, scoreAt(j), gKeptScore);
    if (gBestI >= 0) offerPair(j, gBestI, gBestD);
  }
  for (let b = 0; b < nk; b++) {
    const k = load<i32>(gBestK + (<usize>b << 2));
    bestPartner(k, scoreAt(k), gPrunedScore);
    if (gBestI >= 0) offerPair(gBestI, k, gBestD);
  }
}

// The best pair of an N:M row: every pruned j against every kept k of its own group.
function searchGroups(w: usize, mask: usize, m: i32): void {
  gPairD = Infinity;
  gPairJ = -1;
  gPairK = -1;
  for (let g0 = 0; g0 < gCols; g0 += m) {
    for (let j = g0; j < g0 + m; j++) {
      if (load<u8>(mask + <usize>j) == 0) continue;
      const wj = <f64>load<f32>(w + (<usize>j << 2));
      const sj = scoreAt(j);
      for (let k = g0; k < g0 + m; k++) {
        if (load<u8>(mask + <usize>k) != 0) continue;
        const wk = <f64>load<f32>(w + (<usize>k << 2));
        offerPair(j, k, sj + scoreAt(k) - 2 * wj * wk * hAt(j, k));
      }
    }
  }
}

/**
 * Exact swaps on `rows` rows (mask in/out; c = H·v from swapsProduct, updated in place). nmM = 0:
 * unstructured; else pairs inside groups of nmM. qInit/qFinal: f64 [rows] (v·c before and after).
 * swapsDone: i32 [rows], the swaps applied per row. Scratch: swapsScratchBytes(cols, width).
 */
export function swapsRefine(
  w: usize, mask: usize, rows: i32, cols: i32, h: usize, c: usize,
  nmM: i32, maxSwaps: i32, width: i32, qInit: usize, qFinal: usize, swapsDone: usize, scratch: usize,
): void {
  gCols = cols;
  gH = h;
  gWidth = max(width, 1);
  const bytes = <usize>cols << 3;
  gScore = scratch;
  gKeptScore = gScore + bytes;
  gPrunedScore = gKeptScore + bytes;
  gW64 = gPrunedScore + bytes;
  gDiag = gW64 + bytes;
  for (let j = 0; j < cols; j++) store<f64>(gDiag + (<usize>j << 3), hAt(j, j));
  gBestP = gDiag + bytes;
  gBestK = gBestP + (<usize>gWidth << 2);
  swapsErrors(w, mask, rows, cols, c, qInit);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols;
    const wr = w + (off << 2);
    const mr = mask + off;
    const cr = c + (off << 3);
    for (let j = 0; j < cols; j++) store<f64>(gW64 + (<usize>j << 3), <f64>load<f32>(wr + (<usize>j << 2)));
    let q = load<f64>(qInit + (<usize>r << 3));
    let done = 0;
    let j = -1, k = -1; // the swap made but not yet applied to c
    while (done < maxSwaps || k >= 0) {
      refresh(wr, mr, cr, j, k, nmM == 0);
      j = k = -1;
      if (done == maxSwaps) break;
      if (nmM > 0) searchGroups(wr, mr, nmM);
      else searchRow();
      if (gPairJ < 0 || !lowersError(gPairD, q)) break;
      j = gPairJ;
      k = gPairK;
      store<u8>(mr + <usize>k, 1);
      store<u8>(mr + <usize>j, 0);
      q += gPairD;
      done++;
    }
    store<i32>(swapsDone + (<usize>r << 2), done);
  }
  swapsErrors(w, mask, rows, cols, c, qFinal);
}

// ---- the threads' units of work: rows [r0, r1) of the whole matrix, r1 − r0 ≤ step ---------
// Rows are independent, so any split of the rows gives the single-call result bit for bit.
// Pointers are the whole matrix's; `scratch` is the calling thread's own block.

// The chunks' scratch: swapsProduct's v, then c = H·v (f64 [step, cols]) at this offset.
@inline function productBytes(cols: i32, step: i32): usize {
  return (<usize>swapsProductScratchBytes(step, cols) + 63) & ~63;
}

/** Scratch bytes of one thread's swapsErrorsChunk calls. */
export function swapsErrorsChunkScratchBytes(cols: i32, step: i32): i32 {
  return <i32>productBytes(cols, step) + 8 * step * cols;
}

/** q[r] = vᵀHv per row r of [r0, r1) (v = w ⊙ mask, or w when mask = 0). */
export function swapsErrorsChunk(w: usize, mask: usize, cols: i32, h: usize, q: usize, scratch: usize, step: i32, r0: i32, r1: i32): void {
  const off = <usize>r0 * <usize>cols;
  const m = mask != 0 ? mask + off : 0;
  const c = scratch + productBytes(cols, step);
  swapsProduct(w + (off << 2), m, r1 - r0, cols, h, c, scratch);
  swapsErrors(w + (off << 2), m, r1 - r0, cols, c, q + (<usize>r0 << 3));
}

/** Scratch bytes of one thread's swapsRefineChunk calls. */
export function swapsRefineChunkScratchBytes(cols: i32, step: i32, width: i32): i32 {
  return swapsErrorsChunkScratchBytes(cols, step) + swapsScratchBytes(cols, width);
}

/** swapsRefine (c = H·v first) on rows [r0, r1). */
export function swapsRefineChunk(
  w: usize, mask: usize, cols: i32, h: usize, nmM: i32, maxSwaps: i32, width: i32,
  qInit: usize, qFinal: usize, swapsDone: usize, scratch: usize, step: i32, r0: i32, r1: i32,
): void {
  const off = <usize>r0 * <usize>cols;
  const wr = w + (off << 2);
  const mr = mask + off;
  const c = scratch + productBytes(cols, step);
  const own = c + <usize>(8 * step * cols);
  swapsProduct(wr, mr, r1 - r0, cols, h, c, scratch);
  const rowOff = <usize>r0 << 3;
  swapsRefine(wr, mr, r1 - r0, cols, h, c, nmM, maxSwaps, width, qInit + rowOff, qFinal + rowOff, swapsDone + (<usize>r0 << 2), own);
}

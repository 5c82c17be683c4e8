// DSnoT mask refinement (ALGORITHM.md §4 unstructured, §5 N:M, stop rule §13.1), one row at a
// time. The authors sort whole rows to build their candidate lists; a row never takes more than
// maxCycles candidates from any list, so one SIMD pass over the row keeps only the best maxCycles
// of each list, and the loop then walks those short lists.
//
// The four lists, in the order the authors' pointers meet them (ties as a stable sort leaves them):
//   0 growNeg   pruned, G < 0, ascending G, lower index first           (growL from the left)
//   1 growPos   pruned, G > 0, descending G, HIGHER index first          (growL from the right)
//   2 pruneNeg  kept, D32 < 0, ascending Wanda, lower index first        (pruneL from the left)
//   3 prunePos  kept, D32 > 0, ascending Wanda, lower index first        (pruneL from the right)
// Each entry is one u64 = (order key << 32) | tie index, so "earlier in the walk" is plain
// unsigned order: the key is the order-preserving u32 of G, −G or Wanda, and the tie index is the
// column (or cols−1−column for growPos, whose ties go to the higher column).
//
// Bounded selection. The vector loop computes every lane's list and key and keeps, without
// branching, only the lanes whose key is below their list's current limit; those are appended to
// the list's buffer (BUF entries). A full buffer is cut back to its best maxCycles (quickselect)
// and the maxCycles-th best becomes the limit. Rows of one matrix look alike, so each row starts
// with a limit guessed from the row before (about the 2·maxCycles-th best key there): then only
// ~2·maxCycles lanes per list are appended. The guess only saves work: a row whose guess let
// through fewer than maxCycles entries of a list scans that list again with no limit, so the
// lists are always exact.
//
// Numerics (shared with the WebGPU backend): D32 = W·sum32, G = D32/varPow (0 when D32 == 0),
// Wanda = |W|·sqrtScaler, all single f32 operations; the error e is f64 with D64 = W·sum64,
// summed over the pruned columns in ascending order; a swap does e = (e + D64_q) − D64_g.
//
// The true error (ALGORITHM.md §14), when the host passes H and c = H·v (swaps.ts): every swap
// also updates c (O(cols)), so Q = vᵀHv is known before and after. The guard (§14.2) applies the
// authors' candidate pair only if it lowers Q (ΔQ = s_g + s_q − 2 w_g w_q H_gq < 0, as swaps.ts
// computes it); otherwise the row stops.
import { orderKey, orderKeys, PACK } from './order-key';
import { applySwap, lowersError, swapDelta, swapsErrors, swapsProduct, swapsProductScratchBytes } from './swaps';

// Per-call constants, set once by dsnotRefine. Wasm globals belong to the instance, so each thread
// (its own instance on the shared memory) has its own; the scratch is per thread too.
let gCols: i32 = 0;
let gCap: i32 = 0;
let gBuf: i32 = 0;
let gSum32: usize = 0;
let gSum64: usize = 0;
let gVarPow: usize = 0;
let gSqrt: usize = 0;
// Scratch layout: limits u32[4] at +0 (the vector prefilter's: lanes at or above their list's
// limit are dropped), counts i32[4] at +16,
// thresholds u64[4] at +32 (exact: entries at or above are dropped), next-row guesses
// u32[4] at +96, "limited this row" flags i32[4] at +112, then 4 buffers of BUF u64, then the
// packed stream.
let gMeta: usize = 0;
let gStream: usize = 0; // 2 × (cols + 4) u32: the packed lanes of one pass

const META_BYTES: usize = 128;
const NO_LIMIT: u32 = 0xffffffff; // above every key: orderKey(+inf) = 0xff800000
const NO_THRESHOLD: u64 = 0xffffffffffffffff;

@inline function bufferSize(maxCycles: i32): i32 {
  return 4 * maxCycles + 64;
}

/** Scratch bytes dsnotRefine needs for `maxCycles` and a row of `cols`. */
export function dsnotScratchBytes(maxCycles: i32, cols: i32): i32 {
  return <i32>META_BYTES + 4 * 8 * bufferSize(maxCycles) + 8 * (cols + 4);
}

@inline function bufAt(list: i32): usize {
  return gMeta + META_BYTES + ((<usize>list * <usize>gBuf) << 3);
}
@inline function limitAt(list: i32): usize {
  return gMeta + (<usize>list << 2);
}
@inline function countAt(list: i32): usize {
  return gMeta + 16 + (<usize>list << 2);
}
@inline function thresholdAt(list: i32): usize {
  return gMeta + 32 + (<usize>list << 3);
}
@inline function guessAt(list: i32): usize {
  return gMeta + 96 + (<usize>list << 2);
}
@inline function limitedAt(list: i32): usize {
  return gMeta + 112 + (<usize>list << 2);
}
@inline function keyOf(entry: u64): u32 {
  return <u32>(entry >> 32);
}

// Rearranges a[0..n) so that a[k] is its k-th smallest, smaller entries before it, larger after
// (entries of one list are distinct: their tie indices differ).
function nthElement(a: usize, n: i32, k: i32): void {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    // Median of three moved to hi, then a Lomuto partition around it.
    const x = load<u64>(a + (<usize>lo << 3));
    const y = load<u64>(a + (<usize>mid << 3));
    const z = load<u64>(a + (<usize>hi << 3));
    let m = mid;
    if ((x < y) != (x < z)) m = lo;
    else if ((z < x) != (z < y)) m = hi;
    swap(a, m, hi);
    const pivot = load<u64>(a + (<usize>hi << 3));
    let at = lo;
    for (let i = lo; i < hi; i++) {
      if (load<u64>(a + (<usize>i << 3)) < pivot) {
        swap(a, i, at);
        at++;
      }
    }
    swap(a, at, hi);
    if (at == k) return;
    if (at < k) lo = at + 1;
    else hi = at - 1;
  }
}

@inline function swap(a: usize, i: i32, j: i32): void {
  const pi = a + (<usize>i << 3);
  const pj = a + (<usize>j << 3);
  const t = load<u64>(pi);
  store<u64>(pi, load<u64>(pj));
  store<u64>(pj, t);
}

function insertionSort(a: usize, n: i32): void {
  for (let i = 1; i < n; i++) {
    const v = load<u64>(a + (<usize>i << 3));
    let j = i - 1;
    while (j >= 0 && load<u64>(a + (<usize>j << 3)) > v) {
      store<u64>(a + (<usize>(j + 1) << 3), load<u64>(a + (<usize>j << 3)));
      j--;
    }
    store<u64>(a + (<usize>(j + 1) << 3), v);
  }
}

// Cut a list's buffer back to its best gCap entries; the worst of those becomes the threshold,
// and the vector prefilter's key limit follows it (growPos: +1, because a later column wins a tie
// of keys there).
function compact(list: i32): void {
  const buf = bufAt(list);
  nthElement(buf, load<i32>(countAt(list)), gCap - 1);
  const thr = load<u64>(buf + (<usize>(gCap - 1) << 3));
  store<i32>(countAt(list), gCap);
  store<u64>(thresholdAt(list), thr);
  store<u32>(limitAt(list), list == 1 ? keyOf(thr) + 1 : keyOf(thr));
  store<i32>(limitedAt(list), 1);
}

@inline function push(list: i32, entry: u64): void {
  if (entry >= load<u64>(thresholdAt(list))) return;
  const n = load<i32>(countAt(list));
  store<u64>(bufAt(list) + (<usize>n << 3), entry);
  store<i32>(countAt(list), n + 1);
  if (n + 1 == gBuf) compact(list);
}

@inline function entryOf(list: i32, key: u32, c: i32): u64 {
  return (<u64>key << 32) | <u64>(list == 1 ? gCols - 1 - c : c);
}

// Scalar twin of one vector lane (same f32 operations, so the same keys).
function offer(w: usize, mask: usize, c: i32): void {
  const off = <usize>c << 2;
  const x = load<f32>(w + off);
  const d = x * load<f32>(gSum32 + off);
  let list = -1;
  let key: u32 = 0;
  if (load<u8>(mask + <usize>c) != 0) {
    const g = d == 0 ? <f32>0 : d / load<f32>(gVarPow + off);
    if (g < 0) {
      list = 0;
      key = orderKey(g);
    } else if (g > 0) {
      list = 1;
      key = orderKey(-g);
    }
  } else {
    const a = Mathf.abs(x) * load<f32>(gSqrt + off);
    key = orderKey(a);
    if (d < 0) list = 2;
    else if (d > 0) list = 3;
  }
  if (list >= 0 && key < load<u32>(limitAt(list))) push(list, entryOf(list, key, c));
}

@inline function prunedLanes(mask: usize, c: i32): v128 {
  return i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(mask + <usize>c))), i32x4.splat(0));
}


// Fill the buffers of the lists in `enabled` (bit l = list l) from one pass over the row; the
// other lists are left as they are. Two phases keep the hot loop free of data-dependent branches:
// the vector loop packs the lanes under their list's limit into a stream (key, tie | list << 30),
// then a scalar loop appends the stream to the lists' buffers.
function collect(w: usize, mask: usize, enabled: i32): void {
  for (let l = 0; l < 4; l++) {
    if ((enabled & (1 << l)) == 0) {
      store<u32>(limitAt(l), 0);
      continue;
    }
    const guess = load<u32>(guessAt(l));
    store<u32>(limitAt(l), guess);
    store<u64>(thresholdAt(l), guess == NO_LIMIT ? NO_THRESHOLD : <u64>guess << 32);
    store<i32>(countAt(l), 0);
    store<i32>(limitedAt(l), <i32>(guess != NO_LIMIT));
  }
  const limit = v128.load(gMeta);
  const keys = gStream;
  const ties = gStream + ((<usize>gCols + 4) << 2);
  const zero = f32x4.splat(0);
  const lastCol = i32x4.splat(gCols - 1);
  let col = i32x4(0, 1, 2, 3);
  let n: usize = 0;
  const vecEnd = gCols & ~3;
  let c = 0;
  for (; c < vecEnd; c += 4) {
    const off = <usize>c << 2;
    const x = v128.load(w + off);
    const pruned = prunedLanes(mask, c);
    const d = f32x4.mul(x, v128.load(gSum32 + off));
    const g = v128.bitselect(zero, f32x4.div(d, v128.load(gVarPow + off)), f32x4.eq(d, zero));
    const a = f32x4.mul(f32x4.abs(x), v128.load(gSqrt + off));
    const signed = v128.bitselect(g, d, pruned);
    const neg = f32x4.lt(signed, zero);
    const pos = f32x4.gt(signed, zero);
    const value = v128.bitselect(v128.bitselect(g, f32x4.neg(g), neg), a, pruned);
    const key = orderKeys(value);
    const list = i32x4.add(v128.andnot(i32x4.splat(2), pruned), v128.and(pos, i32x4.splat(1)));
    const lanes = i32x4.add(i32x4.mul(list, i32x4.splat(0x04040404)), i32x4.splat(0x03020100));
    const pass = v128.and(i32x4.lt_u(key, i8x16.swizzle(limit, lanes)), v128.or(neg, pos));
    // growPos (list 1) ties go to the higher column: its tie index is cols−1−column.
    const tie = v128.bitselect(i32x4.sub(lastCol, col), col, i32x4.eq(list, i32x4.splat(1)));
    const bits = i32x4.bitmask(pass);
    const control = v128.load(PACK + (<usize>bits << 4));
    v128.store(keys + (n << 2), i8x16.swizzle(key, control));
    v128.store(ties + (n << 2), i8x16.swizzle(v128.or(tie, i32x4.shl(list, 30)), control));
    n += <usize>popcnt(bits);
    col = i32x4.add(col, i32x4.splat(4));
  }
  for (let i: usize = 0; i < n; i++) {
    const t = load<u32>(ties + (i << 2));
    push(<i32>(t >> 30), (<u64>load<u32>(keys + (i << 2)) << 32) | <u64>(t & 0x3fffffff));
  }
  for (; c < gCols; c++) offer(w, mask, c);
}

// After collect: make list l exact (scanning the row again without a limit if the guess let
// through too few), leave its best gCap entries sorted at the front of its buffer, and guess the
// next row's limit.
function finishList(w: usize, mask: usize, l: i32): void {
  const buf = bufAt(l);
  if (load<i32>(countAt(l)) < gCap && load<u32>(guessAt(l)) != NO_LIMIT) {
    store<u32>(guessAt(l), NO_LIMIT);
    collect(w, mask, 1 << l);
  }
  const n = load<i32>(countAt(l));
  const want = 2 * gCap; // the rank the next row's limit aims at
  let guess = NO_LIMIT;
  if (n >= want) {
    nthElement(buf, n, want - 1);
    guess = keyOf(load<u64>(buf + (<usize>(want - 1) << 3)));
    nthElement(buf, want - 1, gCap - 1);
  } else {
    if (n > gCap) nthElement(buf, n, gCap - 1);
    if (load<i32>(limitedAt(l)) != 0) {
      // Fewer than `want` got under this row's limit (and at least gCap did): extrapolate from
      // the spread of the best gCap, linearly in rank from the best entry. That overshoots for the
      // thinning tail of a distribution: a looser limit costs appends, never correctness.
      let best = load<u64>(buf);
      let worst = best;
      for (let i = 1; i < gCap; i++) {
        const v = load<u64>(buf + (<usize>i << 3));
        best = min(best, v);
        worst = max(worst, v);
      }
      const kBest = <f64>keyOf(best);
      const reach = kBest + (<f64>keyOf(worst) - kBest) * <f64>want / <f64>gCap + 1;
      const floor = <f64>load<u32>(limitAt(l));
      guess = <u32>Math.min(Math.max(reach, floor), <f64>(NO_LIMIT - 1));
    }
  }
  // else: the row's whole list had fewer than `want` entries: no limit next time either.
  store<u32>(guessAt(l), guess);
  insertionSort(buf, min(n, gCap));
  store<i32>(countAt(l), min(n, gCap));
}

@inline function column(list: i32, at: i32): i32 {
  const low = <i32>(<u32>load<u64>(bufAt(list) + (<usize>at << 3)));
  return list == 1 ? gCols - 1 - low : low;
}

// e = Σ_{j pruned, ascending} W_j·sum64_j for up to 4 rows at once: four independent f64 chains
// in one loop, so the adds of different rows overlap (one row's chain is add-latency bound).
// A kept column adds (W·sum64)·0 = ±0, which leaves every sum as it was (mask bytes are 0 or 1).
function rowErrors(w: usize, mask: usize, r0: i32, count: i32, out: usize): void {
  let e0: f64 = 0, e1: f64 = 0, e2: f64 = 0, e3: f64 = 0;
  const stride = <usize>gCols;
  const w0 = w + ((<usize>r0 * stride) << 2);
  const m0 = mask + <usize>r0 * stride;
  const full = count == 4;
  const cEnd = full ? gCols : 0;
  for (let c = 0; c < cEnd; c++) {
    const o4 = <usize>c << 2;
    const s = load<f64>(gSum64 + (<usize>c << 3));
    e0 += <f64>load<f32>(w0 + o4) * s * <f64>load<u8>(m0 + <usize>c);
    e1 += <f64>load<f32>(w0 + (stride << 2) + o4) * s * <f64>load<u8>(m0 + stride + <usize>c);
    e2 += <f64>load<f32>(w0 + (stride << 3) + o4) * s * <f64>load<u8>(m0 + 2 * stride + <usize>c);
    e3 += <f64>load<f32>(w0 + 12 * stride + o4) * s * <f64>load<u8>(m0 + 3 * stride + <usize>c);
  }
  if (full) {
    store<f64>(out + (<usize>r0 << 3), e0);
    store<f64>(out + (<usize>(r0 + 1) << 3), e1);
    store<f64>(out + (<usize>(r0 + 2) << 3), e2);
    store<f64>(out + (<usize>(r0 + 3) << 3), e3);
    return;
  }
  for (let r = r0; r < r0 + count; r++) {
    let e: f64 = 0;
    const wr = w + ((<usize>r * stride) << 2);
    const mr = mask + <usize>r * stride;
    for (let c = 0; c < gCols; c++) {
      if (load<u8>(mr + <usize>c) != 0) e += <f64>load<f32>(wr + (<usize>c << 2)) * load<f64>(gSum64 + (<usize>c << 3));
    }
    store<f64>(out + (<usize>r << 3), e);
  }
}

@inline function sgn(x: f64): i32 {
  return <i32>(x > 0) - <i32>(x < 0);
}

/**
 * Refines `mask` (u8 [rows, cols], 1 = pruned, in/out) and writes the per-row errors before and
 * after (f64). nmM == 0: unstructured; else N:M with `initialMetric` (f32 [rows, cols]).
 * Scratch: dsnotScratchBytes(maxCycles, cols) bytes, kept between the calls for successive chunks
 * of rows of one matrix (firstChunk: true for the first). Returns the number of loop iterations the
 * authors' lock-step loop would run: min(maxCycles, the latest iteration at which a row stopped).
 */
export function dsnotRefine(
  w: usize, mask: usize, rows: i32, cols: i32,
  sqrtScaler: usize, sum32: usize, sum64: usize, varPow: usize,
  initialMetric: usize, nmM: i32,
  maxCycles: i32, threshold: f64, sameSign: bool,
  initErr: usize, err: usize, scratch: usize, firstChunk: bool,
  h: usize, c: usize, guard: bool, qInit: usize, qFinal: usize,
): i32 {
  gCols = cols;
  gH = h;
  gGuard = guard && h != 0;
  gCap = maxCycles;
  gBuf = bufferSize(maxCycles);
  gSum32 = sum32;
  gSum64 = sum64;
  gVarPow = varPow;
  gSqrt = sqrtScaler;
  gMeta = scratch;
  gStream = scratch + META_BYTES + ((<usize>4 * <usize>gBuf) << 3);
  // The limits guessed from the previous row carry over from the previous chunk of rows.
  if (firstChunk) for (let l = 0; l < 4; l++) store<u32>(guessAt(l), NO_LIMIT);
  const nm = nmM > 0;
  const lists = nm ? 2 : 4;
  let cycles = 0;
  if (h != 0) swapsErrors(w, mask, rows, cols, c, qInit);
  for (let r0 = 0; r0 < rows; r0 += 4) {
    rowErrors(w, mask, r0, min(4, rows - r0), initErr);
    for (let r = r0; r < min(r0 + 4, rows); r++) {
      const rowOff = <usize>r * <usize>cols;
      const wRow = w + (rowOff << 2);
      const mRow = mask + rowOff;
      let e = load<f64>(initErr + (<usize>r << 3));
      gC = h != 0 ? c + (rowOff << 3) : 0;
      gQ = h != 0 ? load<f64>(qInit + (<usize>r << 3)) : 0;
      let it = 0;
      if (maxCycles > 0) {
        collect(wRow, mRow, (1 << lists) - 1);
        for (let l = 0; l < lists; l++) finishList(wRow, mRow, l);
        const sign0 = sgn(e);
        it = nm
          ? refineRowNM(wRow, mRow, initialMetric + (rowOff << 2), sum64, nmM, maxCycles, threshold, sign0, e)
          : refineRow(wRow, mRow, sum64, maxCycles, threshold, sameSign, sign0, e);
        e = gError;
      }
      store<f64>(err + (<usize>r << 3), e);
      if (it > cycles) cycles = it;
    }
  }
  if (h != 0) swapsErrors(w, mask, rows, cols, c, qFinal);
  return cycles;
}

let gError: f64 = 0; // the row's final error, set by refineRow / refineRowNM
// The true error's state (0 when the host passed no H): H, the row's c = H·v, its Q = vᵀHv.
let gH: usize = 0;
let gC: usize = 0;
let gQ: f64 = 0;
let gGuard: bool = false;

// After a swap is decided (prune q, revive g): false when the guard refuses it; otherwise c and
// Q follow it (swaps.ts's ΔQ and update).
function trueErrorAccepts(w: usize, q: i32, g: i32): bool {
  if (gH == 0) return true;
  const d = swapDelta(gH, gCols, w, gC, g, q);
  if (gGuard && !lowersError(d, gQ)) return false;
  applySwap(gH, gCols, w, gC, g, q);
  gQ += d;
  return true;
}

// §13.1 for one row, unstructured. Returns the iteration at which the row stopped (or maxCycles).
function refineRow(
  w: usize, mask: usize, sum64: usize, maxCycles: i32, threshold: f64, sameSign: bool, sign0: i32, e0: f64,
): i32 {
  const n0 = load<i32>(countAt(0)), n1 = load<i32>(countAt(1)), n2 = load<i32>(countAt(2)), n3 = load<i32>(countAt(3));
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
  let e = e0;
  let it = 0;
  while (it < maxCycles) {
    it++;
    if (Math.abs(e) <= threshold) break;
    let g: i32, q: i32;
    if (e > 0) {
      if (p1 >= n1) break;
      g = column(1, p1);
    } else {
      if (p0 >= n0) break;
      g = column(0, p0);
    }
    if (e < 0) {
      if (p3 >= n3) break;
      q = column(3, p3);
    } else {
      if (p2 >= n2) break;
      q = column(2, p2);
    }
    const after = (e + dsnot64(w, sum64, q)) - dsnot64(w, sum64, g);
    if (sameSign && sgn(after) != sign0) break;
    if (!trueErrorAccepts(w, q, g)) break;
    store<u8>(mask + <usize>q, 1);
    store<u8>(mask + <usize>g, 0);
    if (e > 0) p1++;
    else p0++;
    if (e < 0) p3++;
    else p2++;
    e = after;
  }
  gError = e;
  return it;
}

// §13.1 for one row, N:M: the pruning candidate is the kept, not yet chosen weight with the
// smallest initial metric in g's group (lower column on ties). A revived weight is marked 2
// while the row runs (kept, but never a candidate: the authors' I = +inf), then set to 0.
function refineRowNM(
  w: usize, mask: usize, metric: usize, sum64: usize, m: i32, maxCycles: i32, threshold: f64, sign0: i32, e0: f64,
): i32 {
  const n0 = load<i32>(countAt(0)), n1 = load<i32>(countAt(1));
  let p0 = 0, p1 = 0;
  let e = e0;
  let it = 0;
  while (it < maxCycles) {
    it++;
    if (Math.abs(e) <= threshold) break;
    let g: i32;
    if (e > 0) {
      if (p1 >= n1) break;
      g = column(1, p1);
    } else {
      if (p0 >= n0) break;
      g = column(0, p0);
    }
    const start = g - (g % m);
    let q = -1;
    let best: f32 = 0;
    for (let t = start; t < start + m; t++) {
      if (load<u8>(mask + <usize>t) != 0) continue;
      const v = load<f32>(metric + (<usize>t << 2));
      if (q < 0 || v < best) {
        q = t;
        best = v;
      }
    }
    if (q < 0) break;
    const after = (e + dsnot64(w, sum64, q)) - dsnot64(w, sum64, g);
    if (sgn(after) != sign0) break;
    if (!trueErrorAccepts(w, q, g)) break;
    store<u8>(mask + <usize>q, 1);
    store<u8>(mask + <usize>g, 2);
    if (e > 0) p1++;
    else p0++;
    e = after;
  }
  for (let i = 0; i < p0; i++) store<u8>(mask + <usize>column(0, i), 0);
  for (let i = 0; i < p1; i++) store<u8>(mask + <usize>column(1, i), 0);
  gError = e;
  return it;
}

@inline function dsnot64(w: usize, sum64: usize, c: i32): f64 {
  return <f64>load<f32>(w + (<usize>c << 2)) * load<f64>(sum64 + (<usize>c << 3));
}

/** weight[i] = 0 where mask[i] != 0 (length elements). */
export function dsnotApplyMask(w: usize, mask: usize, length: i32): void {
  const zero = i32x4.splat(0);
  const vecEnd = length & ~3;
  let i = 0;
  for (; i < vecEnd; i += 4) {
    const m = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(mask + <usize>i)));
    const p = w + (<usize>i << 2);
    v128.store(p, v128.bitselect(zero, v128.load(p), i32x4.ne(m, zero)));
  }
  for (; i < length; i++) {
    if (load<u8>(mask + <usize>i) != 0) store<f32>(w + (<usize>i << 2), 0);
  }
}

/** Scratch bytes of one thread's dsnotRefineChunk calls (rows per chunk ≤ step; withH: H given). */
export function dsnotChunkScratchBytes(maxCycles: i32, cols: i32, step: i32, withH: bool): i32 {
  const own = (dsnotScratchBytes(maxCycles, cols) + 63) & ~63;
  return withH ? own + 8 * step * cols + swapsProductScratchBytes(step, cols) : own;
}

/**
 * dsnotRefine on rows [r0, r1) of the whole matrix (r1 − r0 ≤ step), with c = H·v first when h is
 * given: the threads' unit of work. Pointers are the whole matrix's; scratch is this thread's
 * dsnotChunkScratchBytes. Rows are independent, so any split gives the same masks and errors
 * (the next-row limit guesses are only a speed-up and start afresh per chunk).
 */
export function dsnotRefineChunk(
  w: usize, mask: usize, cols: i32,
  sqrtScaler: usize, sum32: usize, sum64: usize, varPow: usize,
  initialMetric: usize, nmM: i32, maxCycles: i32, threshold: f64, sameSign: bool,
  initErr: usize, err: usize, h: usize, guard: bool, qInit: usize, qFinal: usize,
  scratch: usize, step: i32, r0: i32, r1: i32,
): i32 {
  const rows = r1 - r0;
  const off = <usize>r0 * <usize>cols;
  const wr = w + (off << 2);
  const mr = mask + off;
  const c = scratch + <usize>dsnotChunkScratchBytes(maxCycles, cols, step, false);
  if (h != 0) swapsProduct(wr, mr, rows, cols, h, c, c + (<usize>(8 * step * cols)));
  const rowOff = <usize>r0 << 3;
  return dsnotRefine(
    wr, mr, rows, cols, sqrtScaler, sum32, sum64, varPow,
    initialMetric != 0 ? initialMetric + (off << 2) : 0, nmM, maxCycles, threshold, sameSign,
    initErr + rowOff, err + rowOff, scratch, true, h, c, guard, qInit + rowOff, qFinal + rowOff,
  );
}

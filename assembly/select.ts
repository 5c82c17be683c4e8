// Mask selection from an f32 metric without sorting (ALGORITHM.md §3): what a stable ascending
// sort would pick, in O(n).
//
// Every f32 maps to an order-preserving u32 key (order-key.ts). A radix select finds the key T of
// the wanted rank; the elements below T are taken, and among the elements equal to T the lowest
// indices, which is exactly the stable sort's choice.
//   * Per row (selectRowsSmallest): the row's keys are computed once; byte digits; the first over
//     the whole row, the next three over the candidates only, carried as column indices in order.
//   * Whole matrix (selectAtOrBelowRank, the magnitude baseline): 11 + 11 + 10-bit digits with the
//     keys recomputed on the fly (no n-sized key copy); the candidates of the first digit are
//     copied to `cand`, or, when they would not fit there, found again by rescanning.
//
// Scratch from the host: `hist` = selectHistBytes() bytes; `cand` as each function says.

import { metricMagnitude, metricObs, metricRia, metricWanda } from './metric';
import { orderKey, orderKeys, PACK } from './order-key';

/** Bytes of the `hist` scratch every selection needs. */
export function selectHistBytes(): i32 {
  return 2048 * 4; // keyOfRank's 2048 bins; the per-row path uses 4 × 256
}

let gRank: i32 = 0; // rank inside the bin found by findBin
let gLess: i32 = 0; // number of keys strictly below the key found by keyOfRank

function findBin(hist: usize, bins: i32, rank: i32): u32 {
  let acc: i32 = 0;
  for (let d = 0; d < bins; d++) {
    const h = load<i32>(hist + (<usize>d << 2));
    if (rank < acc + h) {
      gRank = rank - acc;
      return <u32>d;
    }
    acc += h;
  }
  return unreachable();
}

@inline function bump(hist: usize, digit: u32): void {
  const p = hist + (<usize>digit << 2);
  store<i32>(p, load<i32>(p) + 1);
}

/** Key of the element of 0-based ascending `rank` among n f32 at src; sets gLess. */
function keyOfRank(src: usize, n: i32, rank: i32, hist: usize, cand: usize, candCap: i32): u32 {
  memory.fill(hist, 0, 2048 << 2);
  for (let i = 0; i < n; i++) bump(hist, orderKey(load<f32>(src + (<usize>i << 2))) >> 21);
  const d1 = findBin(hist, 2048, rank);
  let r = gRank;
  const inBin = load<i32>(hist + (<usize>d1 << 2));
  let d2: u32 = 0;
  let d3: u32 = 0;
  if (inBin <= candCap) {
    let nc = 0;
    for (let i = 0; i < n; i++) {
      const k = orderKey(load<f32>(src + (<usize>i << 2)));
      if (k >> 21 == d1) {
        store<u32>(cand + (<usize>nc << 2), k);
        nc++;
      }
    }
    memory.fill(hist, 0, 2048 << 2);
    for (let t = 0; t < nc; t++) bump(hist, (load<u32>(cand + (<usize>t << 2)) >> 10) & 2047);
    d2 = findBin(hist, 2048, r);
    r = gRank;
    memory.fill(hist, 0, 1024 << 2);
    for (let t = 0; t < nc; t++) {
      const k = load<u32>(cand + (<usize>t << 2));
      if (((k >> 10) & 2047) == d2) bump(hist, k & 1023);
    }
  } else {
    memory.fill(hist, 0, 2048 << 2);
    for (let i = 0; i < n; i++) {
      const k = orderKey(load<f32>(src + (<usize>i << 2)));
      if (k >> 21 == d1) bump(hist, (k >> 10) & 2047);
    }
    d2 = findBin(hist, 2048, r);
    r = gRank;
    const prefix = (d1 << 11) | d2;
    memory.fill(hist, 0, 1024 << 2);
    for (let i = 0; i < n; i++) {
      const k = orderKey(load<f32>(src + (<usize>i << 2)));
      if (k >> 10 == prefix) bump(hist, k & 1023);
    }
  }
  d3 = findBin(hist, 1024, r);
  r = gRank;
  gLess = rank - r;
  return (d1 << 21) | (d2 << 10) | d3;
}

// out[i] = 1 where key(src[i]) < T (strict) or ≤ T (orEqual), else 0; 16 at a time.
function markBelow(src: usize, n: i32, t: u32, orEqual: bool, out: usize): void {
  const tv = i32x4.splat(t);
  const one = i8x16.splat(1);
  const vecEnd = n & ~15;
  let i = 0;
  for (; i < vecEnd; i += 16) {
    const p = src + (<usize>i << 2);
    const k0 = orderKeys(v128.load(p));
    const k1 = orderKeys(v128.load(p, 16));
    const k2 = orderKeys(v128.load(p, 32));
    const k3 = orderKeys(v128.load(p, 48));
    const m0 = orEqual ? i32x4.le_u(k0, tv) : i32x4.lt_u(k0, tv);
    const m1 = orEqual ? i32x4.le_u(k1, tv) : i32x4.lt_u(k1, tv);
    const m2 = orEqual ? i32x4.le_u(k2, tv) : i32x4.lt_u(k2, tv);
    const m3 = orEqual ? i32x4.le_u(k3, tv) : i32x4.lt_u(k3, tv);
    const b = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
    v128.store(out + <usize>i, v128.and(b, one));
  }
  for (; i < n; i++) {
    const k = orderKey(load<f32>(src + (<usize>i << 2)));
    store<u8>(out + <usize>i, orEqual ? <u8>(k <= t) : <u8>(k < t));
  }
}

// Per-row selection works on the row's keys, computed once into `keys`; the radix digits are
// bytes (sign + 7 exponent bits first), and the candidates are carried as column indices in
// ascending order, so the ties at the threshold are the first ones left at the end.
const SUB: usize = 4 * 256 * 4; // four interleaved 256-bin histograms (no store-to-load chains)

function histogramTop(keys: usize, n: i32, hist: usize): void {
  memory.fill(hist, 0, SUB);
  const end4 = n & ~3;
  let i = 0;
  for (; i < end4; i += 4) {
    const p = keys + (<usize>i << 2);
    bump(hist, load<u32>(p) >> 24);
    bump(hist + 1024, load<u32>(p, 4) >> 24);
    bump(hist + 2048, load<u32>(p, 8) >> 24);
    bump(hist + 3072, load<u32>(p, 12) >> 24);
  }
  for (; i < n; i++) bump(hist, load<u32>(keys + (<usize>i << 2)) >> 24);
  for (let d: usize = 0; d < 256; d++) {
    const p = hist + (d << 2);
    store<i32>(p, load<i32>(p) + load<i32>(p + 1024) + load<i32>(p + 2048) + load<i32>(p + 3072));
  }
}

// Keep the candidates (column indices into keys) whose byte at `shift` is `digit`; returns how many.
function narrow(keys: usize, cand: usize, count: i32, shift: u32, digit: u32): i32 {
  let kept = 0;
  for (let t = 0; t < count; t++) {
    const c = load<u32>(cand + (<usize>t << 2));
    store<u32>(cand + (<usize>kept << 2), c);
    kept += <i32>(((load<u32>(keys + (<usize>c << 2)) >> shift) & 255) == digit);
  }
  return kept;
}

/**
 * mask[r,·] = 1 for the k smallest metrics of each row (ties: lower column), else 0.
 * Scratch: hist = selectHistBytes(); cand = 2·cols + 4 u32.
 */
export function selectRowsSmallest(metric: usize, rows: i32, cols: i32, k: i32, mask: usize, hist: usize, cand: usize): void {
  const keys = cand + ((<usize>cols + 4) << 2);
  const vecEnd = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const src = metric + (<usize>r * <usize>cols << 2);
    const out = mask + <usize>r * <usize>cols;
    if (k <= 0) {
      memory.fill(out, 0, <usize>cols);
      continue;
    }
    let c = 0;
    for (; c < vecEnd; c += 4) v128.store(keys + (<usize>c << 2), orderKeys(v128.load(src + (<usize>c << 2))));
    for (; c < cols; c++) store<u32>(keys + (<usize>c << 2), orderKey(load<f32>(src + (<usize>c << 2))));

    // First digit over the whole row, then the columns in its bin, packed in column order.
    histogramTop(keys, cols, hist);
    const d1 = findBin(hist, 256, k - 1);
    let r0 = gRank;
    const top = i32x4.splat(d1);
    let col = i32x4(0, 1, 2, 3);
    let n: usize = 0;
    for (c = 0; c < vecEnd; c += 4) {
      const bits = i32x4.bitmask(i32x4.eq(i32x4.shr_u(v128.load(keys + (<usize>c << 2)), 24), top));
      v128.store(cand + (n << 2), i8x16.swizzle(col, v128.load(PACK + (<usize>bits << 4))));
      n += <usize>popcnt(bits);
      col = i32x4.add(col, i32x4.splat(4));
    }
    for (; c < cols; c++) {
      store<u32>(cand + (n << 2), c);
      n += <usize>((load<u32>(keys + (<usize>c << 2)) >> 24) == d1);
    }
    // The other three digits over the candidates only.
    let count = <i32>n;
    let t = d1 << 24;
    for (let shift: i32 = 16; shift >= 0; shift -= 8) {
      memory.fill(hist, 0, 1024);
      for (let i = 0; i < count; i++) {
        bump(hist, (load<u32>(keys + (<usize>load<u32>(cand + (<usize>i << 2)) << 2)) >> <u32>shift) & 255);
      }
      const d = findBin(hist, 256, r0);
      r0 = gRank;
      count = narrow(keys, cand, count, <u32>shift, d);
      t |= d << <u32>shift;
    }
    // Below T: vector compare. Equal to T: the candidates left, lowest columns first.
    const tv = i32x4.splat(t);
    const one = i8x16.splat(1);
    const end16 = cols & ~15;
    for (c = 0; c < end16; c += 16) {
      const p = keys + (<usize>c << 2);
      const m01 = i16x8.narrow_i32x4_s(i32x4.lt_u(v128.load(p), tv), i32x4.lt_u(v128.load(p, 16), tv));
      const m23 = i16x8.narrow_i32x4_s(i32x4.lt_u(v128.load(p, 32), tv), i32x4.lt_u(v128.load(p, 48), tv));
      v128.store(out + <usize>c, v128.and(i8x16.narrow_i16x8_s(m01, m23), one));
    }
    for (; c < cols; c++) store<u8>(out + <usize>c, <u8>(load<u32>(keys + (<usize>c << 2)) < t));
    // k − (number below T) ties are taken; r0 is the rank of the k-th among them.
    for (let i = 0; i <= r0; i++) store<u8>(out + <usize>load<u32>(cand + (<usize>i << 2)), 1);
  }
}

/** Magnitude baseline: T = key of ascending `rank` over the whole matrix; mask = metric ≤ T. cand: candCap u32. */
export function selectAtOrBelowRank(metric: usize, length: i32, rank: i32, mask: usize, hist: usize, cand: usize, candCap: i32): void {
  const t = keyOfRank(metric, length, rank, hist, cand, candCap);
  markBelow(metric, length, t, true, mask);
}

/** mask = 1 for the n smallest of every m consecutive columns of each row (ties: lower column). */
export function selectNM(metric: usize, rows: i32, cols: i32, n: i32, m: i32, mask: usize): void {
  const total = <usize>rows * <usize>cols;
  for (let g: usize = 0; g < total; g += <usize>m) {
    const src = metric + (g << 2);
    for (let t = 0; t < m; t++) {
      const x = load<f32>(src + (<usize>t << 2));
      // Rank of element t in a stable ascending sort of its group.
      let rank = 0;
      for (let u = 0; u < m; u++) {
        const y = load<f32>(src + (<usize>u << 2));
        rank += i32(y < x || (y == x && u < t));
      }
      store<u8>(mask + g + <usize>t, <u8>(rank < n));
    }
  }
}

/**
 * The initial metric of rows [0, rows) into `metric` (this chunk's scratch, rows × cols f32),
 * then their mask from it: the k smallest per row (m = 0) or N:M. Both steps are per element and
 * per row, so this gives exactly the mask of the metric kernel over the whole matrix followed by
 * the selection, without a metric of the whole matrix (one chunk's, still in cache, instead).
 * kind: 0 magnitude, 1 wanda, 2 obs (scale = the column scale), 3 ria (also rowSums, colSums).
 * Scratch: hist and cand as selectRowsSmallest says, metric rows × cols f32.
 */
export function metricSelectRows(
  kind: i32, w: usize, rows: i32, cols: i32, scale: usize, rowSums: usize, colSums: usize,
  k: i32, n: i32, m: i32, mask: usize, hist: usize, cand: usize, metric: usize,
): void {
  if (kind == 0) metricMagnitude(w, rows * cols, metric);
  else if (kind == 1) metricWanda(w, rows, cols, scale, metric);
  else if (kind == 2) metricObs(w, rows, cols, scale, metric);
  else metricRia(w, rows, cols, rowSums, colSums, scale, metric);
  if (m > 0) selectNM(metric, rows, cols, n, m, mask);
  else selectRowsSmallest(metric, rows, cols, k, mask, hist, cand);
}

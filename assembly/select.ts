// Mask selection from an f32 metric without sorting (ALGORITHM.md §3): what a stable ascending
// sort would pick, in O(n) per row.
//
// Every f32 maps to an order-preserving u32 key (−0 folded onto +0, so the two tie as they do in
// torch). A three-digit radix select (11 + 11 + 10 bits) finds the key T of the wanted rank;
// the elements below T are taken, and among the elements equal to T the lowest indices, which is
// exactly the stable sort's choice. The first digit scans the data; the later digits scan only
// the candidates that share the first digit, copied to `cand` (or, when they would not fit
// there, rescan the data with a prefix filter).
//
// Scratch from the host: `hist` = selectHistBytes() bytes; `cand` = candCap u32.

import { orderKey, orderKeys } from './order-key';

/** Bytes of the `hist` scratch every selection needs. */
export function selectHistBytes(): i32 {
  return 2048 * 4;
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

// Marks the `need` lowest-index elements whose key equals T.
function markTies(src: usize, n: i32, t: u32, need: i32, out: usize): void {
  for (let i = 0; i < n && need > 0; i++) {
    if (orderKey(load<f32>(src + (<usize>i << 2))) == t) {
      store<u8>(out + <usize>i, 1);
      need--;
    }
  }
}

/** mask[r,·] = 1 for the k smallest metrics of each row (ties: lower column), else 0. */
export function selectRowsSmallest(metric: usize, rows: i32, cols: i32, k: i32, mask: usize, hist: usize, cand: usize): void {
  for (let r = 0; r < rows; r++) {
    const src = metric + (<usize>r * <usize>cols << 2);
    const out = mask + <usize>r * <usize>cols;
    if (k <= 0) {
      memory.fill(out, 0, <usize>cols);
      continue;
    }
    const t = keyOfRank(src, cols, k - 1, hist, cand, cols);
    markBelow(src, cols, t, false, out);
    markTies(src, cols, t, k - gLess, out);
  }
}

/** Magnitude baseline: T = key of ascending `rank` over the whole matrix; mask = metric ≤ T. */
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

// DSnoT mask refinement (ALGORITHM.md §4 unstructured, §5 N:M, stop rule §13.1), one row at a
// time. The authors sort whole rows to build their candidate lists; a row never takes more than
// maxCycles candidates from any list, so here one SIMD pass over the row keeps only the best
// maxCycles of each list in a bounded max-heap, and the loop then walks those short lists.
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
// Numerics (shared with the WebGPU backend): D32 = W·sum32, G = D32/varPow (0 when D32 == 0),
// Wanda = |W|·sqrtScaler, all single f32 operations; the error e is f64 with D64 = W·sum64,
// summed over the pruned columns in ascending order; a swap does e = (e + D64_q) − D64_g.
import { orderKey, orderKeys } from './order-key';

// Per-call constants, set once by dsnotRefine (single-threaded module).
let gCols: i32 = 0;
let gCap: i32 = 0;
let gSum32: usize = 0;
let gVarPow: usize = 0;
let gSqrt: usize = 0;
// Scratch: 4 limits (u32) at +0, 4 heap sizes (i32) at +16, then 4 heaps of gCap u64 at +32.
let gMeta: usize = 0;

const META_BYTES: usize = 32;
const NO_LIMIT: u32 = 0xffffffff; // above every key: orderKey(+inf) = 0xff800000

@inline function heapAt(list: i32): usize {
  return gMeta + META_BYTES + ((<usize>list * <usize>gCap) << 3);
}

@inline function sizeAt(list: i32): usize {
  return gMeta + 16 + (<usize>list << 2);
}

// The SIMD prefilter lets through keys < limit; growPos also needs equal keys (a later column
// wins its ties), hence limit = top key + 1 there.
function updateLimit(list: i32): void {
  const top = <u32>(load<u64>(heapAt(list)) >> 32);
  store<u32>(gMeta + (<usize>list << 2), list == 1 ? top + 1 : top);
}

function heapOffer(list: i32, entry: u64): void {
  const heap = heapAt(list);
  const size = load<i32>(sizeAt(list));
  if (size < gCap) {
    // Sift up.
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pv = load<u64>(heap + (<usize>parent << 3));
      if (pv >= entry) break;
      store<u64>(heap + (<usize>i << 3), pv);
      i = parent;
    }
    store<u64>(heap + (<usize>i << 3), entry);
    store<i32>(sizeAt(list), size + 1);
    if (size + 1 == gCap) updateLimit(list);
    return;
  }
  if (entry >= load<u64>(heap)) return;
  siftDown(heap, size, entry);
  updateLimit(list);
}

// Put `entry` at the root of a max-heap of `size` and restore the order.
function siftDown(heap: usize, size: i32, entry: u64): void {
  let i = 0;
  while (true) {
    let child = 2 * i + 1;
    if (child >= size) break;
    let cv = load<u64>(heap + (<usize>child << 3));
    if (child + 1 < size) {
      const rv = load<u64>(heap + (<usize>(child + 1) << 3));
      if (rv > cv) {
        child++;
        cv = rv;
      }
    }
    if (cv <= entry) break;
    store<u64>(heap + (<usize>i << 3), cv);
    i = child;
  }
  store<u64>(heap + (<usize>i << 3), entry);
}

// Heap → ascending array in place (heap sort).
function sortHeap(list: i32): void {
  const heap = heapAt(list);
  let size = load<i32>(sizeAt(list));
  while (size > 1) {
    const top = load<u64>(heap);
    size--;
    const last = load<u64>(heap + (<usize>size << 3));
    siftDown(heap, size, last);
    store<u64>(heap + (<usize>size << 3), top);
  }
}

// Scalar twin of the SIMD pass for one column (same f32 operations, so the same keys).
function offer(w: usize, mask: usize, c: i32, keptLists: bool): void {
  const off = <usize>c << 2;
  const x = load<f32>(w + off);
  const d = x * load<f32>(gSum32 + off);
  if (load<u8>(mask + <usize>c) != 0) {
    const g = d == 0 ? <f32>0 : d / load<f32>(gVarPow + off);
    if (g < 0) heapOffer(0, (<u64>orderKey(g) << 32) | <u64>c);
    else if (g > 0) heapOffer(1, (<u64>orderKey(-g) << 32) | <u64>(gCols - 1 - c));
  } else if (keptLists) {
    const a = Mathf.abs(x) * load<f32>(gSqrt + off);
    if (d < 0) heapOffer(2, (<u64>orderKey(a) << 32) | <u64>c);
    else if (d > 0) heapOffer(3, (<u64>orderKey(a) << 32) | <u64>c);
  }
}

// One pass over a row: fill the four bounded lists. The vector loop computes every lane's list
// and key and drops, without branching, the lanes that cannot beat their list's current worst.
function collect(w: usize, mask: usize, keptLists: bool): void {
  const limits = gMeta;
  store<u32>(limits, NO_LIMIT);
  store<u32>(limits + 4, NO_LIMIT);
  store<u32>(limits + 8, keptLists ? NO_LIMIT : 0);
  store<u32>(limits + 12, keptLists ? NO_LIMIT : 0);
  memory.fill(gMeta + 16, 0, 16);
  if (gCap == 0) return;
  const zero = f32x4.splat(0);
  const vecEnd = gCols & ~3;
  let c = 0;
  for (; c < vecEnd; c += 4) {
    const off = <usize>c << 2;
    const x = v128.load(w + off);
    const pruned = i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(mask + <usize>c))), zero);
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
    const limit = i8x16.swizzle(v128.load(limits), lanes);
    const pass = v128.and(i32x4.lt_u(key, limit), v128.or(neg, pos));
    if (v128.any_true(pass)) {
      let bits = i32x4.bitmask(pass);
      while (bits != 0) {
        const lane = ctz(bits);
        offer(w, mask, c + lane, keptLists);
        bits &= bits - 1;
      }
    }
  }
  for (; c < gCols; c++) offer(w, mask, c, keptLists);
}

@inline function column(list: i32, at: i32): i32 {
  const low = <i32>(<u32>load<u64>(heapAt(list) + (<usize>at << 3)));
  return list == 1 ? gCols - 1 - low : low;
}

@inline function sgn(x: f64): i32 {
  return i32(x > 0) - i32(x < 0);
}

/**
 * Refines `mask` (u8 [rows, cols], 1 = pruned, in/out) and writes the per-row errors before and
 * after (f64). nmM == 0: unstructured; else N:M with `initialMetric` (f32 [rows, cols]).
 * Scratch: 32 + 32·maxCycles bytes. Returns the number of loop iterations the authors' lock-step
 * loop would run: min(maxCycles, the latest iteration at which a row stopped).
 */
export function dsnotRefine(
  w: usize, mask: usize, rows: i32, cols: i32,
  sqrtScaler: usize, sum32: usize, sum64: usize, varPow: usize,
  initialMetric: usize, nmM: i32,
  maxCycles: i32, threshold: f64, sameSign: bool,
  initErr: usize, err: usize, scratch: usize,
): i32 {
  gCols = cols;
  gCap = maxCycles;
  gSum32 = sum32;
  gVarPow = varPow;
  gSqrt = sqrtScaler;
  gMeta = scratch;
  const nm = nmM > 0;
  let cycles = 0;
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>cols;
    const wRow = w + (rowOff << 2);
    const mRow = mask + rowOff;
    let e: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const p = <f64>load<f32>(wRow + (<usize>c << 2)) * load<f64>(sum64 + (<usize>c << 3));
      e += select<f64>(p, 0, load<u8>(mRow + <usize>c) != 0);
    }
    store<f64>(initErr + (<usize>r << 3), e);
    const sign0 = sgn(e);
    let it = 0;
    if (maxCycles > 0) {
      collect(wRow, mRow, !nm);
      for (let l = 0; l < 4; l++) sortHeap(l);
      it = nm
        ? refineRowNM(wRow, mRow, initialMetric + (rowOff << 2), sum64, nmM, maxCycles, threshold, sign0, e)
        : refineRow(wRow, mRow, sum64, maxCycles, threshold, sameSign, sign0, e);
      e = gError;
    }
    store<f64>(err + (<usize>r << 3), e);
    if (it > cycles) cycles = it;
  }
  return cycles;
}

let gError: f64 = 0; // the row's final error, set by refineRow / refineRowNM

// §13.1 for one row, unstructured. Returns the iteration at which the row stopped (or maxCycles).
function refineRow(
  w: usize, mask: usize, sum64: usize, maxCycles: i32, threshold: f64, sameSign: bool, sign0: i32, e0: f64,
): i32 {
  const n0 = load<i32>(sizeAt(0)), n1 = load<i32>(sizeAt(1)), n2 = load<i32>(sizeAt(2)), n3 = load<i32>(sizeAt(3));
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
  const n0 = load<i32>(sizeAt(0)), n1 = load<i32>(sizeAt(1));
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

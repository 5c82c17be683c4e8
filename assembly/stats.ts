// Calibration statistics of one linear's input (ALGORITHM.md §2), fed one forward call (one
// sequence) at a time and accumulated in f64:
//   sum[c]      += Σ_t x[t,c]
//   sumSq[c]    += Σ_t x[t,c]²
//   tokenVar[c] += Σ_t (x[t,c] − mean_c)²   (= T · population variance of this sequence; two-pass)
//   gram[i,j]   += Σ_t x[t,i]·x[t,j]        (SparseGPT's Hessian; upper triangle j ≥ i only)
// x: [tokens, cols] f32 row-major.
import { dot2x2, gD00, gD01, gD10, gD11 } from './dot-f64';

// f32 lanes 0-1 and 2-3 of v as two f64x2.
@inline function lowF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline function highF64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}
@inline function addF64x2(p: usize, v: v128): void {
  v128.store(p, f64x2.add(v128.load(p), v));
}

/** Adds one sequence. `scratch`: cols f64 (the sequence's column sums, then its means). */
export function statsAddSequence(x: usize, tokens: i32, cols: i32, sum: usize, sumSq: usize, tokenVar: usize, scratch: usize): void {
  const seq = scratch;
  memory.fill(seq, 0, <usize>cols << 3);
  const vecEnd = cols & ~3;
  for (let t = 0; t < tokens; t++) {
    const row = x + (<usize>t * <usize>cols << 2);
    let c = 0;
    for (; c < vecEnd; c += 4) {
      const v = v128.load(row + (<usize>c << 2));
      const lo = lowF64(v);
      const hi = highF64(v);
      const o = <usize>c << 3;
      addF64x2(seq + o, lo);
      addF64x2(seq + o + 16, hi);
      addF64x2(sumSq + o, f64x2.mul(lo, lo));
      addF64x2(sumSq + o + 16, f64x2.mul(hi, hi));
    }
    for (; c < cols; c++) {
      const v = <f64>load<f32>(row + (<usize>c << 2));
      const o = <usize>c << 3;
      store<f64>(seq + o, load<f64>(seq + o) + v);
      store<f64>(sumSq + o, load<f64>(sumSq + o) + v * v);
    }
  }
  // Fold the sequence's sums into the totals; keep its means for the second pass.
  const n = <f64>tokens;
  for (let c = 0; c < cols; c++) {
    const o = <usize>c << 3;
    const s = load<f64>(seq + o);
    store<f64>(sum + o, load<f64>(sum + o) + s);
    store<f64>(seq + o, s / n);
  }
  for (let t = 0; t < tokens; t++) {
    const row = x + (<usize>t * <usize>cols << 2);
    let c = 0;
    for (; c < vecEnd; c += 4) {
      const v = v128.load(row + (<usize>c << 2));
      const o = <usize>c << 3;
      const dlo = f64x2.sub(lowF64(v), v128.load(seq + o));
      const dhi = f64x2.sub(highF64(v), v128.load(seq + o + 16));
      addF64x2(tokenVar + o, f64x2.mul(dlo, dlo));
      addF64x2(tokenVar + o + 16, f64x2.mul(dhi, dhi));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 3;
      const d = <f64>load<f32>(row + (<usize>c << 2)) - load<f64>(seq + o);
      store<f64>(tokenVar + o, load<f64>(tokenVar + o) + d * d);
    }
  }
}

// Tokens per chunk of the transposed copy, and columns per cache tile of the Gram update.
const TOKEN_CHUNK: i32 = 256;
const TILE: i32 = 64;

/** Scratch bytes statsAddGram needs for `cols` columns. */
export function statsGramScratchBytes(cols: i32): i32 {
  return cols * TOKEN_CHUNK * 8;
}

// Σ_t a[t]·b[t] over `len` f64 (two lanes, scalar tail).
@inline function dot(a: usize, b: usize, len: i32): f64 {
  let acc = f64x2.splat(0);
  const vecEnd = len & ~1;
  let t = 0;
  for (; t < vecEnd; t += 2) {
    const o = <usize>t << 3;
    acc = f64x2.add(acc, f64x2.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (t < len) s += load<f64>(a + (<usize>t << 3)) * load<f64>(b + (<usize>t << 3));
  return s;
}

// Four dot products over t < len at once (rows a0, a1 against rows b0, b1), added to the Gram
// entries (i, j), (i, j+1), (i+1, j), (i+1, j+1).
@inline function addDot2x2(a0: usize, a1: usize, b0: usize, b1: usize, len: i32, g: usize, cols: usize): void {
  dot2x2(a0, a1, b0, b1, len);
  const row1 = g + (cols << 3);
  store<f64>(g, load<f64>(g) + gD00);
  store<f64>(g + 8, load<f64>(g + 8) + gD01);
  store<f64>(row1, load<f64>(row1) + gD10);
  store<f64>(row1 + 8, load<f64>(row1 + 8) + gD11);
}

/**
 * gram[i,j] += Σ_t x[t,i]·x[t,j] for j ≥ i (a few entries below the diagonal are written too, and
 * ignored). The sequence is copied transposed to f64, a chunk of tokens at a time, so every entry
 * is a contiguous dot product, two rows against two rows per step; columns j are taken a tile at
 * a time so the tile's rows stay in cache while all rows i ≤ j stream past. Products of f32 values
 * are exact in f64.
 */
export function statsAddGram(x: usize, tokens: i32, cols: i32, gram: usize, scratch: usize): void {
  for (let t0 = 0; t0 < tokens; t0 += TOKEN_CHUNK) {
    const len = statsGramTranspose(x, tokens, cols, t0, scratch);
    statsGramTiles(gram, cols, len, scratch, 0, statsGramTileCount(cols));
  }
}

/** Tiles of columns of the Gram update: the threads' unit of work (statsGramTiles). */
export function statsGramTileCount(cols: i32): i32 {
  return (cols + TILE - 1) / TILE;
}

/** Tokens per statsGramTranspose call (the scratch holds this many per column). */
export function statsGramTokenChunk(): i32 {
  return TOKEN_CHUNK;
}

/** Copies tokens t0..t0+len of x, transposed to f64, into scratch; returns len. */
export function statsGramTranspose(x: usize, tokens: i32, cols: i32, t0: i32, scratch: usize): i32 {
  const len = min(TOKEN_CHUNK, tokens - t0);
  const stride = <usize>len << 3; // bytes per transposed column
  for (let t = 0; t < len; t++) {
    const row = x + (<usize>(t0 + t) * <usize>cols << 2);
    for (let c = 0; c < cols; c++) {
      store<f64>(scratch + <usize>c * stride + (<usize>t << 3), <f64>load<f32>(row + (<usize>c << 2)));
    }
  }
  return len;
}

/**
 * The Gram update of one transposed chunk (len tokens) for the column tiles numbered [a, b) from
 * the LAST tile down (the widest tiles, with the most rows i ≤ j, come first, which balances the
 * threads' shares). Tiles write disjoint entries, each with the same sums in the same order, so
 * any split of the tiles gives the single-call result bit for bit.
 */
export function statsGramTiles(gram: usize, cols: i32, len: i32, scratch: usize, a: i32, b: i32): void {
  const last = statsGramTileCount(cols) - 1;
  for (let rt = a; rt < b; rt++) gramTile(gram, cols, len, scratch, (last - rt) * TILE);
}

// Columns j0..j0+TILE of the Gram update, every row i ≤ j.
function gramTile(gram: usize, cols: i32, len: i32, scratch: usize, j0: i32): void {
  const even = cols & ~1;
  const stride = <usize>len << 3;
  const j1 = min(j0 + TILE, cols);
  const jEven = min(j1, even);
  for (let i = 0; i < j1; i++) {
    const a = scratch + <usize>i * stride;
    const gRow = gram + (<usize>i * <usize>cols << 3);
    let j = max(i, j0);
    if (i + 1 < even && (i & 1) == 0) {
      // Rows i, i+1 together over the even-aligned pairs of columns; j starts even (i, j0 even).
      for (; j + 1 < jEven; j += 2) {
        addDot2x2(a, a + stride, scratch + <usize>j * stride, scratch + <usize>(j + 1) * stride, len, gRow + (<usize>j << 3), <usize>cols);
      }
      // What is left of the tile for both rows.
      for (let jj = j; jj < j1; jj++) {
        const b = scratch + <usize>jj * stride;
        let p = gRow + (<usize>jj << 3);
        store<f64>(p, load<f64>(p) + dot(a, b, len));
        p += <usize>cols << 3;
        store<f64>(p, load<f64>(p) + dot(a + stride, b, len));
      }
      i++; // row i+1 is done
      continue;
    }
    for (; j < j1; j++) {
      const p = gRow + (<usize>j << 3);
      store<f64>(p, load<f64>(p) + dot(a, scratch + <usize>j * stride, len));
    }
  }
}

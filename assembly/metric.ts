// Initial pruning metrics (ALGORITHM.md §3), one f32 per weight, each made by single correctly
// rounded f32 operations so that every backend produces the same sort keys bit for bit:
//   magnitude  |W|
//   wanda      |W| · sqrtScaler_j
//   obs        (W·W) / c_j        c_j = fround(d_j²), d = diag(U); c_j = +inf marks a dead column → 0
//   ria        (|W|/colSum_j + |W|/rowSum_i) · s_j     s_j = fround(√sqrtScaler_j) = scaler_row_j^¼
//              (RIA, Zhang et al. ICLR 2024: biomedical-cybernetics/Relative-importance-and-activation-
//              pruning, lib/prune.py, prune_ria: sums of |W| over dim 0 and dim 1, no epsilon, a = 0.5)
// W: [rows, cols] f32 row-major; colScale: [cols] f32; out: [rows, cols] f32.
//
// RIA's sums of |W| are part of the contract, since they feed the sort keys; gpu/metric.wgsl
// makes the same f32 additions (correctly rounded, in this order), so both backends agree bit
// for bit by construction:
//   colSum_j = (…((+0 + |W_0j|) + |W_1j|) + …) + |W_{rows-1,j}|     rows in order
//   rowSum_i = (p0 + p1) + (p2 + p3),  p_l = the same sequential sum over columns c ≡ l (mod 4)
// A zero sum means the whole column (row) is zero, so |W| is 0 too: that ratio is taken as 0
// where the authors' code would give 0/0 = NaN.

export function metricMagnitude(w: usize, length: i32, out: usize): void {
  const vecEnd = length & ~3;
  let i = 0;
  for (; i < vecEnd; i += 4) {
    const off = <usize>i << 2;
    v128.store(out + off, f32x4.abs(v128.load(w + off)));
  }
  for (; i < length; i++) {
    const off = <usize>i << 2;
    store<f32>(out + off, Mathf.abs(load<f32>(w + off)));
  }
}

export function metricWanda(w: usize, rows: i32, cols: i32, sqrtScaler: usize, out: usize): void {
  const vecEnd = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * <usize>cols << 2;
    let c = 0;
    for (; c < vecEnd; c += 4) {
      const off = <usize>c << 2;
      const a = f32x4.abs(v128.load(w + row + off));
      v128.store(out + row + off, f32x4.mul(a, v128.load(sqrtScaler + off)));
    }
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      store<f32>(out + row + off, Mathf.abs(load<f32>(w + row + off)) * load<f32>(sqrtScaler + off));
    }
  }
}

export function metricObs(w: usize, rows: i32, cols: i32, c: usize, out: usize): void {
  const vecEnd = cols & ~3;
  const inf = f32x4.splat(Infinity);
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * <usize>cols << 2;
    let j = 0;
    for (; j < vecEnd; j += 4) {
      const off = <usize>j << 2;
      const x = v128.load(w + row + off);
      const cj = v128.load(c + off);
      const q = f32x4.div(f32x4.mul(x, x), cj);
      // A dead column (c = +inf) scores 0, as the authors' zeroed W clone does, even for |W|² = inf.
      v128.store(out + row + off, v128.bitselect(zero, q, f32x4.eq(cj, inf)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      const x = load<f32>(w + row + off);
      const cj = load<f32>(c + off);
      store<f32>(out + row + off, cj == Infinity ? <f32>0 : (x * x) / cj);
    }
  }
}

/**
 * RIA's sums over rows [0, rows) of a chunk: adds each |W_rj| to colSums[j] (which holds the sums
 * of the chunks before; zeros before the first) and writes rowSums[r]. One pass over W.
 */
export function metricRiaSums(w: usize, rows: i32, cols: i32, colSums: usize, rowSums: usize): void {
  const vecEnd = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = w + (<usize>r * <usize>cols << 2);
    let lanes = f32x4.splat(0);
    let c = 0;
    for (; c < vecEnd; c += 4) {
      const off = <usize>c << 2;
      const a = f32x4.abs(v128.load(row + off));
      lanes = f32x4.add(lanes, a);
      v128.store(colSums + off, f32x4.add(v128.load(colSums + off), a));
    }
    // The tail's column c lies in lane c − vecEnd (vecEnd is a multiple of 4); it has at most
    // three columns, so lane 3 is complete already.
    let p0 = f32x4.extract_lane(lanes, 0);
    let p1 = f32x4.extract_lane(lanes, 1);
    let p2 = f32x4.extract_lane(lanes, 2);
    const p3 = f32x4.extract_lane(lanes, 3);
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      const a = Mathf.abs(load<f32>(row + off));
      const lane = c - vecEnd;
      if (lane == 0) p0 += a;
      else if (lane == 1) p1 += a;
      else p2 += a;
      store<f32>(colSums + off, load<f32>(colSums + off) + a);
    }
    store<f32>(rowSums + (<usize>r << 2), (p0 + p1) + (p2 + p3));
  }
}

/** out[r,c] = (t_col + t_row) · s_c, t_col = |W|/colSums[c], t_row = |W|/rowSums[r] (0 for a zero sum). */
export function metricRia(w: usize, rows: i32, cols: i32, rowSums: usize, colSums: usize, s: usize, out: usize): void {
  const vecEnd = cols & ~3;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * <usize>cols << 2;
    const rs = load<f32>(rowSums + (<usize>r << 2));
    const rsv = f32x4.splat(rs);
    let c = 0;
    for (; c < vecEnd; c += 4) {
      const off = <usize>c << 2;
      const a = f32x4.abs(v128.load(w + row + off));
      const cs = v128.load(colSums + off);
      const tc = v128.bitselect(zero, f32x4.div(a, cs), f32x4.eq(cs, zero));
      const tr = rs == 0 ? zero : f32x4.div(a, rsv);
      v128.store(out + row + off, f32x4.mul(f32x4.add(tc, tr), v128.load(s + off)));
    }
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      const a = Mathf.abs(load<f32>(w + row + off));
      const cs = load<f32>(colSums + off);
      const tc: f32 = cs == 0 ? 0 : a / cs;
      const tr: f32 = rs == 0 ? 0 : a / rs;
      store<f32>(out + row + off, (tc + tr) * load<f32>(s + off));
    }
  }
}

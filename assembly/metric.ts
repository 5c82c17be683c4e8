// Initial pruning metrics (ALGORITHM.md §3), one f32 per weight, each made by single correctly
// rounded f32 operations so that every backend produces the same sort keys bit for bit:
//   magnitude  |W|
//   wanda      |W| · sqrtScaler_j
//   obs        (W·W) / c_j        c_j = fround(d_j²), d = diag(U); c_j = +inf marks a dead column → 0
// W: [rows, cols] f32 row-major; colScale: [cols] f32; out: [rows, cols] f32.

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

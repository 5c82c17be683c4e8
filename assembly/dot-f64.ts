// Blocked f64 dot products shared by the SparseGPT factor (sparsegpt.ts: Cholesky and inverse
// rows) and the Gram accumulation (stats.ts). Not a kernel family: nothing here is exported from
// index.ts.

// The results of dot2x2 and dot1x2 (a function returns one value; globals cost nothing once inlined).
export let gD00: f64 = 0, gD01: f64 = 0, gD10: f64 = 0, gD11: f64 = 0;

// Four dot products over k < len at once: (a0·b0, a0·b1, a1·b0, a1·b1) into gD00, gD01, gD10,
// gD11. Two rows against two rows: every loaded vector is used twice.
// @ts-ignore: decorator
@inline
export function dot2x2(a0: usize, a1: usize, b0: usize, b1: usize, len: i32): void {
  let s00 = f64x2.splat(0), s01 = f64x2.splat(0), s10 = f64x2.splat(0), s11 = f64x2.splat(0);
  let k = 0;
  const end2 = len & ~1;
  for (; k < end2; k += 2) {
    const o = <usize>k << 3;
    const x0 = v128.load(a0 + o);
    const x1 = v128.load(a1 + o);
    const y0 = v128.load(b0 + o);
    const y1 = v128.load(b1 + o);
    s00 = f64x2.add(s00, f64x2.mul(x0, y0));
    s01 = f64x2.add(s01, f64x2.mul(x0, y1));
    s10 = f64x2.add(s10, f64x2.mul(x1, y0));
    s11 = f64x2.add(s11, f64x2.mul(x1, y1));
  }
  gD00 = f64x2.extract_lane(s00, 0) + f64x2.extract_lane(s00, 1);
  gD01 = f64x2.extract_lane(s01, 0) + f64x2.extract_lane(s01, 1);
  gD10 = f64x2.extract_lane(s10, 0) + f64x2.extract_lane(s10, 1);
  gD11 = f64x2.extract_lane(s11, 0) + f64x2.extract_lane(s11, 1);
  if (k < len) {
    const o = <usize>k << 3;
    const x0 = load<f64>(a0 + o), x1 = load<f64>(a1 + o), y0 = load<f64>(b0 + o), y1 = load<f64>(b1 + o);
    gD00 += x0 * y0;
    gD01 += x0 * y1;
    gD10 += x1 * y0;
    gD11 += x1 * y1;
  }
}

// Two dot products over k < len at once: (a·b0, a·b1) into gD00, gD01.
// @ts-ignore: decorator
@inline
export function dot1x2(a: usize, b0: usize, b1: usize, len: i32): void {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let k = 0;
  const end2 = len & ~1;
  for (; k < end2; k += 2) {
    const o = <usize>k << 3;
    const x = v128.load(a + o);
    s0 = f64x2.add(s0, f64x2.mul(x, v128.load(b0 + o)));
    s1 = f64x2.add(s1, f64x2.mul(x, v128.load(b1 + o)));
  }
  gD00 = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  gD01 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  if (k < len) {
    const o = <usize>k << 3;
    const x = load<f64>(a + o);
    gD00 += x * load<f64>(b0 + o);
    gD01 += x * load<f64>(b1 + o);
  }
}

// Normalisations of the forward pass, one row of d features at a time (rows are tokens).
// Sums run in f32 over four SIMD lanes; mean and variance are per row (population variance,
// as torch's LayerNorm). y may equal x (in place).

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function sumOf(p: usize, d: i32): f32 {
  const d4 = d & ~3;
  let acc = f32x4.splat(0);
  for (let i = 0; i < d4; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
  let s = hsum(acc);
  for (let i = d4; i < d; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

@inline function sumSqOf(p: usize, d: i32, shift: f32): f32 {
  const d4 = d & ~3;
  const m = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  for (let i = 0; i < d4; i += 4) {
    const v = f32x4.sub(v128.load(p + (<usize>i << 2)), m);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s = hsum(acc);
  for (let i = d4; i < d; i++) {
    const v = load<f32>(p + (<usize>i << 2)) - shift;
    s += v * v;
  }
  return s;
}

/** RMSNorm (LLaMA): y = x / sqrt(mean(x²) + eps) · w, for T rows of d. */
export function rmsNorm(x: usize, w: usize, y: usize, T: i32, d: i32, eps: f32): void {
  const rowBytes = <usize>d << 2;
  const d4 = d & ~3;
  for (let t = 0; t < T; t++) {
    const xr = x + <usize>t * rowBytes;
    const yr = y + <usize>t * rowBytes;
    const scale: f32 = 1 / Mathf.sqrt(sumSqOf(xr, d, 0) / <f32>d + eps);
    const s = f32x4.splat(scale);
    for (let i = 0; i < d4; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), s), v128.load(w + o)));
    }
    for (let i = d4; i < d; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, load<f32>(xr + o) * scale * load<f32>(w + o));
    }
  }
}

/** LayerNorm (OPT): y = (x − mean) / sqrt(var + eps) · w + b, for T rows of d. */
export function layerNorm(x: usize, w: usize, b: usize, y: usize, T: i32, d: i32, eps: f32): void {
  const rowBytes = <usize>d << 2;
  const d4 = d & ~3;
  for (let t = 0; t < T; t++) {
    const xr = x + <usize>t * rowBytes;
    const yr = y + <usize>t * rowBytes;
    // Two passes (mean, then squared deviations): no cancellation when |mean| ≫ std.
    const mean = sumOf(xr, d) / <f32>d;
    const scale: f32 = 1 / Mathf.sqrt(sumSqOf(xr, d, mean) / <f32>d + eps);
    const m = f32x4.splat(mean);
    const s = f32x4.splat(scale);
    for (let i = 0; i < d4; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(f32x4.sub(v128.load(xr + o), m), s);
      v128.store(yr + o, f32x4.add(f32x4.mul(n, v128.load(w + o)), v128.load(b + o)));
    }
    for (let i = d4; i < d; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - mean) * scale * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

// Rotary position embedding, Hugging Face `rotate_half` convention: within each head the first
// rotaryDim features rotate (all of them unless the model has a partial_rotary_factor), feature i
// (i < rotaryDim/2) paired with i + rotaryDim/2 and the pair rotated by the table's angle i; the
// features from rotaryDim on pass through unchanged. llama2.c checkpoints pair (2i, 2i+1)
// instead; their reader permutes the q/k rows so that this one convention serves both.
// The angles come from a host-computed table (f64 cos/sin, times the variant's attention factor,
// rounded to f32), identical on every backend: GPU sin/cos lose accuracy at large arguments, and
// every rope-scaling variant is only a different table.

/**
 * In place on x [T, nHeads·headDim]: row t is at position posOffset + t.
 * table [positions, rotaryDim]: row p = cos(angle p,0..half) followed by sin(angle p,0..half),
 * half = rotaryDim/2.
 */
export function rope(x: usize, table: usize, T: i32, nHeads: i32, headDim: i32, rotaryDim: i32, posOffset: i32): void {
  const half = rotaryDim >> 1;
  const half4 = half & ~3;
  const halfBytes = <usize>half << 2;
  const rowBytes = <usize>rotaryDim << 2;
  const headBytes = <usize>headDim << 2;
  for (let t = 0; t < T; t++) {
    const cosRow = table + <usize>(posOffset + t) * rowBytes;
    const sinRow = cosRow + halfBytes;
    for (let h = 0; h < nHeads; h++) {
      const p = x + (<usize>t * nHeads + h) * headBytes;
      for (let i = 0; i < half4; i += 4) {
        const o = <usize>i << 2;
        const c = v128.load(cosRow + o);
        const s = v128.load(sinRow + o);
        const x1 = v128.load(p + o);
        const x2 = v128.load(p + halfBytes + o);
        v128.store(p + o, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
        v128.store(p + halfBytes + o, f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s)));
      }
      for (let i = half4; i < half; i++) {
        const o = <usize>i << 2;
        const c = load<f32>(cosRow + o);
        const s = load<f32>(sinRow + o);
        const x1 = load<f32>(p + o);
        const x2 = load<f32>(p + halfBytes + o);
        store<f32>(p + o, x1 * c - x2 * s);
        store<f32>(p + halfBytes + o, x2 * c + x1 * s);
      }
    }
  }
}

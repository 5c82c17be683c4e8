// Causal self-attention with grouped-query heads, one sequence at a time. Query head h reads
// key/value head h / (nHeads / nKvHeads) (Hugging Face repeat_kv, llama2.c kv_mul). Scores are
// scaled dot products; the softmax subtracts the row maximum and runs in f32.

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  const n4 = n & ~3;
  let acc = f32x4.splat(0);
  for (let i = 0; i < n4; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = hsum(acc);
  for (let i = n4; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/**
 * out[T, nHeads·headDim] = softmax(q·kᵀ·scale, causal) · v per head.
 * q [T, nHeads·headDim]; k, v [T, nKvHeads·headDim]; scratch: T f32 (one row of scores).
 * window > 0 limits each query to the last `window` keys (sliding-window attention); 0 = none.
 */
export function attention(q: usize, k: usize, v: usize, out: usize, scratch: usize, T: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, window: i32): void {
  const group = nHeads / nKvHeads;
  const headBytes = <usize>headDim << 2;
  const qRow = <usize>nHeads * headBytes;
  const kvRow = <usize>nKvHeads * headBytes;
  const d4 = headDim & ~3;
  for (let h = 0; h < nHeads; h++) {
    const kvOff = <usize>(h / group) * headBytes;
    for (let t = 0; t < T; t++) {
      const qt = q + <usize>t * qRow + <usize>h * headBytes;
      const lo = window > 0 ? max(0, t - window + 1) : 0;
      let m: f32 = -Infinity;
      for (let s = lo; s <= t; s++) {
        const sc = dot(qt, k + <usize>s * kvRow + kvOff, headDim) * scale;
        store<f32>(scratch + (<usize>s << 2), sc);
        m = max(m, sc);
      }
      let sum: f32 = 0;
      for (let s = lo; s <= t; s++) {
        const e = Mathf.exp(load<f32>(scratch + (<usize>s << 2)) - m);
        store<f32>(scratch + (<usize>s << 2), e);
        sum += e;
      }
      // Weighted sum of value rows, normalised once at the end.
      const ot = out + <usize>t * qRow + <usize>h * headBytes;
      memory.fill(ot, 0, headBytes);
      for (let s = lo; s <= t; s++) {
        const p = load<f32>(scratch + (<usize>s << 2));
        const pv = f32x4.splat(p);
        const vs = v + <usize>s * kvRow + kvOff;
        for (let i = 0; i < d4; i += 4) {
          const o = <usize>i << 2;
          v128.store(ot + o, f32x4.add(v128.load(ot + o), f32x4.mul(pv, v128.load(vs + o))));
        }
        for (let i = d4; i < headDim; i++) {
          const o = <usize>i << 2;
          store<f32>(ot + o, load<f32>(ot + o) + p * load<f32>(vs + o));
        }
      }
      const inv: f32 = 1 / sum;
      for (let i = 0; i < headDim; i++) {
        const o = <usize>i << 2;
        store<f32>(ot + o, load<f32>(ot + o) * inv);
      }
    }
  }
}

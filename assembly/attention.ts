// Causal self-attention with grouped-query heads, one sequence at a time. Query head h reads
// key/value head h / (nHeads / nKvHeads) (Hugging Face repeat_kv, llama2.c kv_mul). Scores are
// scaled dot products (soft-capped where the model asks); the softmax subtracts the row maximum and runs in f32.
// Keys are taken four at a time in both passes (four dot products reduced together into one
// vector of scores; four value rows added per read-modify-write of the output), which matters
// for small heads where per-key overhead would otherwise dominate (stories260K: head_dim 8).
import { expf4, tanhf4 } from './simd-math';

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

/** [Σa0, Σa1, Σa2, Σa3]: the lane sums of four vectors, as one vector. */
@inline function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const x = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const y = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(x, y, 0, 1, 4, 5), v128.shuffle<f32>(x, y, 2, 3, 6, 7));
}

/**
 * out[T, nHeads·headDim] = softmax(q·kᵀ·scale, causal) · v per head.
 * q [T, nHeads·headDim]; k, v [T, nKvHeads·headDim]; scratch: T f32 (one row of scores).
 * window > 0 limits each query to the last `window` keys (sliding-window attention); 0 = none.
 * softcap > 0 caps each scaled score as tanh(score / softcap) · softcap before the softmax
 * (Gemma 2's attn_logit_softcapping); 0 = none.
 */
export function attention(q: usize, k: usize, v: usize, out: usize, scratch: usize, T: i32, nHeads: i32, nKvHeads: i32, headDim: i32, scale: f32, window: i32, softcap: f32): void {
  attentionHeads(q, k, v, out, scratch, T, nHeads, nKvHeads, headDim, scale, window, softcap, 0, nHeads);
}

/**
 * Query heads [h0, h1) of attention: the threads' unit of work (heads are independent; each
 * thread passes its own scratch row).
 */
export function attentionHeads(
  q: usize, k: usize, v: usize, out: usize, scratch: usize, T: i32, nHeads: i32, nKvHeads: i32, headDim: i32,
  scale: f32, window: i32, softcap: f32, h0: i32, h1: i32,
): void {
  const group = nHeads / nKvHeads;
  const headBytes = <usize>headDim << 2;
  const qRow = <usize>nHeads * headBytes;
  const kvRow = <usize>nKvHeads * headBytes;
  const d4 = headDim & ~3;
  const scaleV = f32x4.splat(scale);
  const capV = f32x4.splat(softcap);
  for (let h = h0; h < h1; h++) {
    const kvOff = <usize>(h / group) * headBytes;
    for (let t = 0; t < T; t++) {
      const qt = q + <usize>t * qRow + <usize>h * headBytes;
      const lo = window > 0 ? max(0, t - window + 1) : 0;
      const end = t + 1;
      // Pass 1: scores and their maximum.
      let mv = f32x4.splat(-Infinity);
      let s = lo;
      for (; s + 4 <= end; s += 4) {
        const k0 = k + <usize>s * kvRow + kvOff;
        const k1 = k0 + kvRow;
        const k2 = k1 + kvRow;
        const k3 = k2 + kvRow;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        for (let i = 0; i < d4; i += 4) {
          const o = <usize>i << 2;
          const qv = v128.load(qt + o);
          a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + o)));
          a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + o)));
          a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + o)));
          a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + o)));
        }
        let sc = sum4(a0, a1, a2, a3);
        if (d4 < headDim) {
          // head_dim % 4 tail, per key.
          for (let i = d4; i < headDim; i++) {
            const o = <usize>i << 2;
            const qi = load<f32>(qt + o);
            sc = f32x4.add(sc, f32x4(qi * load<f32>(k0 + o), qi * load<f32>(k1 + o), qi * load<f32>(k2 + o), qi * load<f32>(k3 + o)));
          }
        }
        sc = f32x4.mul(sc, scaleV);
        if (softcap > 0) sc = f32x4.mul(tanhf4(f32x4.div(sc, capV)), capV);
        v128.store(scratch + (<usize>s << 2), sc);
        mv = f32x4.max(mv, sc);
      }
      let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
      for (; s < end; s++) {
        let sc = dot(qt, k + <usize>s * kvRow + kvOff, headDim) * scale;
        if (softcap > 0) sc = f32x4.extract_lane(tanhf4(f32x4.splat(sc / softcap)), 0) * softcap;
        store<f32>(scratch + (<usize>s << 2), sc);
        m = max(m, sc);
      }
      // Pass 2: e^(score − max) and their sum, four at a time.
      let sumv = f32x4.splat(0);
      mv = f32x4.splat(m);
      s = lo;
      for (; s + 4 <= end; s += 4) {
        const p = scratch + (<usize>s << 2);
        const e = expf4(f32x4.sub(v128.load(p), mv));
        v128.store(p, e);
        sumv = f32x4.add(sumv, e);
      }
      let sum = hsum(sumv);
      for (; s < end; s++) {
        const p = scratch + (<usize>s << 2);
        const e = f32x4.extract_lane(expf4(f32x4.splat(load<f32>(p) - m)), 0);
        store<f32>(p, e);
        sum += e;
      }
      // Pass 3: weighted sum of value rows (four per pass over the output), normalised at the end.
      const ot = out + <usize>t * qRow + <usize>h * headBytes;
      memory.fill(ot, 0, headBytes);
      s = lo;
      for (; s + 4 <= end; s += 4) {
        const pv = v128.load(scratch + (<usize>s << 2));
        const p0 = f32x4.splat(f32x4.extract_lane(pv, 0));
        const p1 = f32x4.splat(f32x4.extract_lane(pv, 1));
        const p2 = f32x4.splat(f32x4.extract_lane(pv, 2));
        const p3 = f32x4.splat(f32x4.extract_lane(pv, 3));
        const v0 = v + <usize>s * kvRow + kvOff;
        const v1 = v0 + kvRow;
        const v2 = v1 + kvRow;
        const v3 = v2 + kvRow;
        for (let i = 0; i < d4; i += 4) {
          const o = <usize>i << 2;
          let acc = v128.load(ot + o);
          acc = f32x4.add(acc, f32x4.add(f32x4.add(f32x4.mul(p0, v128.load(v0 + o)), f32x4.mul(p1, v128.load(v1 + o))), f32x4.add(f32x4.mul(p2, v128.load(v2 + o)), f32x4.mul(p3, v128.load(v3 + o)))));
          v128.store(ot + o, acc);
        }
        for (let i = d4; i < headDim; i++) {
          const o = <usize>i << 2;
          const w = f32x4.extract_lane(pv, 0) * load<f32>(v0 + o) + f32x4.extract_lane(pv, 1) * load<f32>(v1 + o)
            + f32x4.extract_lane(pv, 2) * load<f32>(v2 + o) + f32x4.extract_lane(pv, 3) * load<f32>(v3 + o);
          store<f32>(ot + o, load<f32>(ot + o) + w);
        }
      }
      for (; s < end; s++) {
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
      const invV = f32x4.splat(inv);
      for (let i = 0; i < d4; i += 4) {
        const o = <usize>i << 2;
        v128.store(ot + o, f32x4.mul(v128.load(ot + o), invV));
      }
      for (let i = d4; i < headDim; i++) {
        const o = <usize>i << 2;
        store<f32>(ot + o, load<f32>(ot + o) * inv);
      }
    }
  }
}

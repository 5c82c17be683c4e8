// Next-token loss: per row of logits, nll = logsumexp(logits) − logits[target]. The row
// maximum is subtracted before exponentiating; exponentials are f32 (four lanes at once), their
// sum runs in f64 (the reference numbers take the final log-sum-exp in double).
import { expf4 } from './simd-math';

/** nll[t] = −log softmax(logits[t, ·])[targets[t]] for T rows of V logits; targets are i32. */
export function nll(logits: usize, targets: usize, out: usize, T: i32, V: i32): void {
  const rowBytes = <usize>V << 2;
  for (let t = 0; t < T; t++) {
    const row = logits + <usize>t * rowBytes;
    let m: f32 = -Infinity;
    for (let i = 0; i < V; i++) m = max(m, load<f32>(row + (<usize>i << 2)));
    const mv = f32x4.splat(m);
    let sum2 = f64x2.splat(0);
    const V4 = V & ~3;
    for (let i = 0; i < V4; i += 4) {
      const e = expf4(f32x4.sub(v128.load(row + (<usize>i << 2)), mv));
      sum2 = f64x2.add(sum2, f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(v128.swizzle(e, i8x16(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)))));
    }
    let sum: f64 = f64x2.extract_lane(sum2, 0) + f64x2.extract_lane(sum2, 1);
    for (let i = V4; i < V; i++) sum += Math.exp(<f64>(load<f32>(row + (<usize>i << 2)) - m));
    const target = load<i32>(targets + (<usize>t << 2));
    const lse = <f64>m + Math.log(sum);
    store<f32>(out + (<usize>t << 2), <f32>(lse - <f64>load<f32>(row + (<usize>target << 2))));
  }
}

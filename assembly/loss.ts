// Next-token loss: per row of logits, nll = logsumexp(logits) − logits[target]. The row
// maximum is subtracted before exponentiating; the sum of exponentials runs in f64 (the
// reference numbers take the final log-sum-exp in double).

/** nll[t] = −log softmax(logits[t, ·])[targets[t]] for T rows of V logits; targets are i32. */
export function nll(logits: usize, targets: usize, out: usize, T: i32, V: i32): void {
  const rowBytes = <usize>V << 2;
  for (let t = 0; t < T; t++) {
    const row = logits + <usize>t * rowBytes;
    let m: f32 = -Infinity;
    for (let i = 0; i < V; i++) m = max(m, load<f32>(row + (<usize>i << 2)));
    let sum: f64 = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(<f64>(load<f32>(row + (<usize>i << 2)) - m));
    const target = load<i32>(targets + (<usize>t << 2));
    const lse = <f64>m + Math.log(sum);
    store<f32>(out + (<usize>t << 2), <f32>(lse - <f64>load<f32>(row + (<usize>target << 2))));
  }
}

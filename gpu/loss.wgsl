// Next-token loss, one invocation per row of logits: the row maximum, then the sum of
// exponentials (f32; WGSL has no f64), nll = m + log(Σ e^(x−m)) − logits[target]. Serial per
// row for the same reason as gpu/norm.wgsl: no barriers (slow on software adapters); the head's
// GEMM dominates this kernel by a factor of hidden_size anyway.

struct LossParams {
  rows: u32,
  vocab: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> nll: array<f32>;
@group(0) @binding(3) var<uniform> p: LossParams;

@compute @workgroup_size(64)
fn nll_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  var m = -3.0e38;
  for (var i = 0u; i < p.vocab; i++) { m = max(m, logits[base + i]); }
  var sum = 0.0;
  for (var i = 0u; i < p.vocab; i++) { sum += exp(logits[base + i] - m); }
  nll[row] = m + log(sum) - logits[base + u32(targets[row])];
}

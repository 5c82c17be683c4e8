// Next-token loss, one workgroup of 256 invocations per row of logits: the row maximum, then
// the sum of exponentials (f32; WGSL has no f64), both by tree reduction in workgroup memory;
// nll = m + log(Σ e^(x−m)) − logits[target].

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

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn nll_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  var m = -3.0e38;
  for (var i = li; i < p.vocab; i += WG) { m = max(m, logits[base + i]); }
  red[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let rowMax = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = li; i < p.vocab; i += WG) { sum += exp(logits[base + i] - rowMax); }
  red[li] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    nll[row] = rowMax + log(red[0]) - logits[base + u32(targets[row])];
  }
}

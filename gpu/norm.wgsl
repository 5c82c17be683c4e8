// RMSNorm and LayerNorm, one workgroup of 256 invocations per row: each invocation sums a
// strided part of the row, then a tree reduction in workgroup memory. The *_inplace entry
// points serve y == x (WebGPU forbids binding one buffer as two writable/readable views).

struct NormParams {
  rows: u32,
  dim: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> nbias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: NormParams;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

// Sum of `v` over the workgroup; every invocation gets the total.
fn reduce_sum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@compute @workgroup_size(256)
fn rms_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; } // uniform per workgroup: barriers stay in uniform control flow
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = li; i < p.dim; i += WG) { let v = x[base + i]; ss += v * v; }
  let scale = 1.0 / sqrt(reduce_sum(ss, li) / f32(p.dim) + p.eps);
  for (var i = li; i < p.dim; i += WG) { y[base + i] = x[base + i] * scale * weight[i]; }
}

@compute @workgroup_size(256)
fn rms_norm_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = li; i < p.dim; i += WG) { let v = y[base + i]; ss += v * v; }
  let scale = 1.0 / sqrt(reduce_sum(ss, li) / f32(p.dim) + p.eps);
  for (var i = li; i < p.dim; i += WG) { y[base + i] = y[base + i] * scale * weight[i]; }
}

@compute @workgroup_size(256)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = li; i < p.dim; i += WG) { s += x[base + i]; }
  let mean = reduce_sum(s, li) / f32(p.dim);
  // Second pass over squared deviations: no cancellation when |mean| ≫ std.
  var ss = 0.0;
  for (var i = li; i < p.dim; i += WG) { let d = x[base + i] - mean; ss += d * d; }
  let scale = 1.0 / sqrt(reduce_sum(ss, li) / f32(p.dim) + p.eps);
  for (var i = li; i < p.dim; i += WG) { y[base + i] = (x[base + i] - mean) * scale * weight[i] + nbias[i]; }
}

@compute @workgroup_size(256)
fn layer_norm_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_of(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = li; i < p.dim; i += WG) { s += y[base + i]; }
  let mean = reduce_sum(s, li) / f32(p.dim);
  var ss = 0.0;
  for (var i = li; i < p.dim; i += WG) { let d = y[base + i] - mean; ss += d * d; }
  let scale = 1.0 / sqrt(reduce_sum(ss, li) / f32(p.dim) + p.eps);
  for (var i = li; i < p.dim; i += WG) { y[base + i] = (y[base + i] - mean) * scale * weight[i] + nbias[i]; }
}

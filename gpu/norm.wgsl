// RMSNorm and LayerNorm, one invocation per row (a token's d features). No workgroup
// reductions: rows are many (hundreds to thousands of tokens) and d is a few thousand, so the
// serial sums cost little on a GPU, while barrier-heavy reductions are what software adapters
// (SwiftShader, the CI device) run slowest. The *_inplace entry points serve y == x (WebGPU
// forbids binding one buffer as a read-only and a writable view in the same dispatch).

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

fn row_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn rms_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(gid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = 0u; i < p.dim; i++) { let v = x[base + i]; ss += v * v; }
  let scale = 1.0 / sqrt(ss / f32(p.dim) + p.eps);
  for (var i = 0u; i < p.dim; i++) { y[base + i] = x[base + i] * scale * weight[i]; }
}

@compute @workgroup_size(64)
fn rms_norm_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(gid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var ss = 0.0;
  for (var i = 0u; i < p.dim; i++) { let v = y[base + i]; ss += v * v; }
  let scale = 1.0 / sqrt(ss / f32(p.dim) + p.eps);
  for (var i = 0u; i < p.dim; i++) { y[base + i] = y[base + i] * scale * weight[i]; }
}

@compute @workgroup_size(64)
fn layer_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(gid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = 0u; i < p.dim; i++) { s += x[base + i]; }
  let mean = s / f32(p.dim);
  // Second pass over squared deviations: no cancellation when |mean| ≫ std.
  var ss = 0.0;
  for (var i = 0u; i < p.dim; i++) { let d = x[base + i] - mean; ss += d * d; }
  let scale = 1.0 / sqrt(ss / f32(p.dim) + p.eps);
  for (var i = 0u; i < p.dim; i++) { y[base + i] = (x[base + i] - mean) * scale * weight[i] + nbias[i]; }
}

@compute @workgroup_size(64)
fn layer_norm_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = row_of(gid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = 0u; i < p.dim; i++) { s += y[base + i]; }
  let mean = s / f32(p.dim);
  var ss = 0.0;
  for (var i = 0u; i < p.dim; i++) { let d = y[base + i] - mean; ss += d * d; }
  let scale = 1.0 / sqrt(ss / f32(p.dim) + p.eps);
  for (var i = 0u; i < p.dim; i++) { y[base + i] = (y[base + i] - mean) * scale * weight[i] + nbias[i]; }
}

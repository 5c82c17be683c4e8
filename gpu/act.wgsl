// Elementwise ops of the MLP and the residual stream, one invocation per element. WebGPU may
// not bind one buffer both read-only and writable in a dispatch, so each op whose output
// aliases an input has an *_inplace entry point that reads that input through `out`.

struct ActParams {
  length: u32,
  cap: f32,     // softcap only
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: ActParams;

fn elem_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

fn silu(g: f32) -> f32 {
  return g / (1.0 + exp(-g));
}

// out = silu(a) · b
@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = silu(a[i]) * b[i]; }
}

// out = silu(out) · b   (out is the gate)
@compute @workgroup_size(64)
fn silu_mul_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = silu(out[i]) * b[i]; }
}

// out = silu(a) · out   (out is the up projection)
@compute @workgroup_size(64)
fn silu_mul_inplace_up(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = silu(a[i]) * out[i]; }
}

// tanh as assembly/simd-math.ts's tanhf4: e^(−2|x|) never overflows, unlike sinh/cosh.
fn tanh_safe(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * ((1.0 - e) / (1.0 + e));
}

// PyTorch's gelu(approximate='tanh'), its order of operations: 0.5·g·(1 + tanh(β·(g + κ·g³))).
fn gelu_tanh(g: f32) -> f32 {
  let inner = 0.7978845608028654 * (g + 0.044715 * (g * g * g));
  return (0.5 * g) * (1.0 + tanh_safe(inner));
}

// out = gelu_tanh(a) · b (Gemma's GeGLU MLP)
@compute @workgroup_size(64)
fn gelu_tanh_mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = gelu_tanh(a[i]) * b[i]; }
}

@compute @workgroup_size(64)
fn gelu_tanh_mul_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = gelu_tanh(out[i]) * b[i]; }
}

@compute @workgroup_size(64)
fn gelu_tanh_mul_inplace_up(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = gelu_tanh(a[i]) * out[i]; }
}

// out = tanh(a / cap) · cap (Gemma 2's final logit soft-capping)
@compute @workgroup_size(64)
fn softcap(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = tanh_safe(a[i] / p.cap) * p.cap; }
}

@compute @workgroup_size(64)
fn softcap_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = tanh_safe(out[i] / p.cap) * p.cap; }
}

@compute @workgroup_size(64)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = max(a[i], 0.0); }
}

@compute @workgroup_size(64)
fn relu_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = max(out[i], 0.0); }
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = a[i] + b[i]; }
}

// out += b (addition commutes, so out == b is served by swapping a and b on the host)
@compute @workgroup_size(64)
fn add_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < p.length) { out[i] = out[i] + b[i]; }
}

// out[r, j] = a[r, offset + j] for j < width (p.length = rows · width): one part of a fused
// projection's output (Phi-3's qkv_proj, gate_up_proj) as its own tensor. Uses a separate
// uniform layout: length, the source row width, the column offset, the part's width.
struct CopyParams {
  length: u32,
  x_cols: u32,
  offset: u32,
  width: u32,
}

@group(0) @binding(4) var<uniform> cp: CopyParams;

@compute @workgroup_size(64)
fn copy_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < cp.length) {
    let r = i / cp.width;
    out[i] = a[r * cp.x_cols + cp.offset + (i - r * cp.width)];
  }
}

// out[r, offset + j] = a[r, j] for j < width (p.length = rows · width): copy_columns' inverse,
// with x_cols the width of out's rows. The lm head's logits of one vocabulary slice land in
// their columns of the full rows (a head too large for one storage binding is split by rows).
@compute @workgroup_size(64)
fn place_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = elem_index(gid, nwg);
  if (i < cp.length) {
    let r = i / cp.width;
    out[r * cp.x_cols + cp.offset + (i - r * cp.width)] = a[i];
  }
}

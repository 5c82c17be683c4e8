// Initial metrics (ALGORITHM.md §3), one invocation per weight. Each is ONE correctly rounded
// f32 operation on f32 inputs (OBS: two), computed by integer emulation so that every GPU gives
// the bits the wasm backend gives (numerics.wgsl says why):
//   magnitude |W|;  wanda |W|·s_j (s = sqrt(scaler_row) as f32);  obs (W·W)/c_j (c_j = fround(d_j²)).
// #import numerics

struct Params {
  count: u32,      // weights in this launch (row chunk)
  cols: u32,
  kind: u32,       // 0 magnitude, 1 wanda, 2 obs
  weight_off: u32, // element index of the chunk's first weight in the bound range
  out_off: u32,    // element index of the chunk's first output in the bound range
  opaque_zero: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<u32>;
@group(0) @binding(1) var<storage, read> col_scale: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn metric(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count) { return; }
  let w = weight[params.weight_off + i];
  let c = i % params.cols; // chunks hold whole rows
  var m = w & 0x7FFFFFFFu;
  if (params.kind == 1u) {
    m = f32_mul_cr(m, col_scale[c]);
  } else if (params.kind == 2u) {
    m = f32_div_cr(f32_mul_cr(w, w), col_scale[c]);
  }
  out[params.out_off + i] = m;
}

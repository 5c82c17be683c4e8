// Initial metrics (ALGORITHM.md §3), one invocation per weight. Each is ONE correctly rounded
// f32 operation on f32 inputs (OBS: two), computed by integer emulation so that every GPU gives
// the bits the wasm backend gives (numerics.wgsl says why):
//   magnitude |W|;  wanda |W|·s_j (s = sqrt(scaler_row) as f32);  obs (W·W)/c_j (c_j = fround(d_j²)).
// RIA (entry points ria_col_sums, ria_row_sums, metric_ria; assembly/metric.ts states the
// contract) also needs the column and row sums of |W|: the same correctly rounded f32 additions in
// the same order as wasm, by integer emulation (f32_add_nonneg_cr), so the keys agree bit for bit:
//   colSum_j = sequential over the rows in order (row chunks continue the sums of the ones before)
//   rowSum_i = (p0 + p1) + (p2 + p3), p_l sequential over the columns c ≡ l (mod 4)
//   score    = (|W|/colSum_j + |W|/rowSum_i) · s_j,  s_j = scaler_row_j^¼;  a zero sum's ratio is 0.
// #import numerics

struct Params {
  count: u32,      // weights in this launch (row chunk)
  cols: u32,
  kind: u32,       // 0 magnitude, 1 wanda, 2 obs
  weight_off: u32, // element index of the chunk's first weight in the bound range
  out_off: u32,    // element index of the chunk's first output in the bound range
  opaque_zero: u32,
  rows: u32,       // RIA: rows in this chunk
  row0: u32,       // RIA: the chunk's first row in the matrix
}

@group(0) @binding(0) var<storage, read> weight: array<u32>;
@group(0) @binding(1) var<storage, read> col_scale: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;
// RIA: [cols] column sums, then [rows of the matrix] row sums (f32 bits).
@group(0) @binding(4) var<storage, read_write> sums: array<u32>;

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

// One invocation per column: continues colSum_j over this chunk's rows, in order.
@compute @workgroup_size(64)
fn ria_col_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= params.cols) { return; }
  var acc = sums[j];
  for (var r = 0u; r < params.rows; r = r + 1u) {
    acc = f32_add_nonneg_cr(acc, weight[params.weight_off + r * params.cols + j] & 0x7FFFFFFFu);
  }
  sums[j] = acc;
}

// One invocation per row of the chunk: four interleaved partial sums, combined pairwise.
@compute @workgroup_size(64)
fn ria_row_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= params.rows) { return; }
  let base = params.weight_off + r * params.cols;
  var p = array<u32, 4>(0u, 0u, 0u, 0u);
  for (var c = 0u; c < params.cols; c = c + 1u) {
    p[c & 3u] = f32_add_nonneg_cr(p[c & 3u], weight[base + c] & 0x7FFFFFFFu);
  }
  sums[params.cols + params.row0 + r] = f32_add_nonneg_cr(f32_add_nonneg_cr(p[0], p[1]), f32_add_nonneg_cr(p[2], p[3]));
}

@compute @workgroup_size(256)
fn metric_ria(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count) { return; }
  let a = weight[params.weight_off + i] & 0x7FFFFFFFu;
  let c = i % params.cols;
  let cs = sums[c];
  let rs = sums[params.cols + params.row0 + i / params.cols];
  let tc = select(f32_div_cr(a, cs), 0u, cs == 0u);
  let tr = select(f32_div_cr(a, rs), 0u, rs == 0u);
  out[params.out_off + i] = f32_mul_cr(f32_add_nonneg_cr(tc, tr), col_scale[c]);
}

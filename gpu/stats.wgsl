// Calibration statistics of one linear's inputs (ALGORITHM.md §2), accumulated per sequence in
// double-float (hi, lo) pairs so the host gets f64-quality sums: Σx, Σx² (x² exact by
// TwoProduct), and Σ_t (x − mean)² per sequence (two passes: T·Var without cancellation).
// #import numerics

struct Params {
  tokens: u32,
  cols: u32,
  opaque_zero: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // [tokens, cols]
// Per column: Σx (hi, lo), Σx² (hi, lo), Σ T·Var (hi, lo).
@group(0) @binding(1) var<storage, read_write> acc: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: Params;
// Σ_n X_nᵀ X_n as double-floats, [cols, cols].
@group(0) @binding(3) var<storage, read_write> gram: array<vec2<f32>>;

// One invocation per column; tokens are read down the column (neighbours read neighbouring words).
@compute @workgroup_size(64)
fn stats_add(@builtin(global_invocation_id) gid: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let c = gid.x;
  let cols = params.cols;
  if (c >= cols) { return; }
  var s = vec2<f32>(0.0, 0.0);
  var sq = vec2<f32>(0.0, 0.0);
  for (var t = 0u; t < params.tokens; t = t + 1u) {
    let v = x[t * cols + c];
    s = df_add_f(s, v);
    sq = df_add(sq, two_prod(v, v));
  }
  let mean = df_div_f(s, f32(params.tokens));
  var dev = vec2<f32>(0.0, 0.0);
  for (var t = 0u; t < params.tokens; t = t + 1u) {
    let d = df_add_f(-mean, x[t * cols + c]);
    dev = df_add(dev, df_sq(d));
  }
  acc[3u * c] = df_add(acc[3u * c], s);
  acc[3u * c + 1u] = df_add(acc[3u * c + 1u], sq);
  acc[3u * c + 2u] = df_add(acc[3u * c + 2u], dev);
}

// One invocation per (i, j) of the Gram matrix.
@compute @workgroup_size(16, 16)
fn stats_gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let cols = params.cols;
  let i = gid.y;
  let j = gid.x;
  if (i >= cols || j >= cols) { return; }
  var g = gram[i * cols + j];
  for (var t = 0u; t < params.tokens; t = t + 1u) {
    g = df_add(g, two_prod(x[t * cols + i], x[t * cols + j]));
  }
  gram[i * cols + j] = g;
}

// GEMM of the forward pass: y[T, N] = x[T, K] · W[N, K]ᵀ (+ bias[N]), W in nn.Linear layout.
// A workgroup of 16×16 invocations computes a 64×64 tile of y, 4×4 outputs per invocation in
// registers. K advances in slices of 16: each slice of x (64 rows) and W (64 rows) is staged in
// workgroup memory (8 KiB) by the whole workgroup, then every invocation reads its 4 rows of x
// and 4 rows of W from there, so each global value is loaded once per tile, not 64 times.
// Edges (T, N, K not multiples of the tile) load zeros and skip the stores.

struct GemmParams {
  rows: u32,     // T
  inDim: u32,    // K
  outDim: u32,   // N
  hasBias: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: GemmParams;

const TILE: u32 = 64u;
const KT: u32 = 16u;

// [k][row] layout: the inner loop reads 4 consecutive rows of one k (a vec4 would do, scalar is clearer).
var<workgroup> xs: array<array<f32, 64>, 16>;
var<workgroup> ws: array<array<f32, 64>, 16>;

@compute @workgroup_size(16, 16)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * TILE;     // first row of x / y in this tile
  let col0 = wid.x * TILE;     // first row of W / column of y
  let li = lid.y * 16u + lid.x; // 0..255
  // acc[i] holds y[row i of this invocation, 4 consecutive columns]: vec4 registers, no indexing.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let ty = lid.y * 4u;
  let tx = lid.x * 4u;
  for (var k0 = 0u; k0 < p.inDim; k0 += KT) {
    // 64 rows × 16 k of x and of W: 1024 values each, 4 per invocation.
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      let r = idx / KT;
      let kk = idx % KT;
      let k = k0 + kk;
      var xv = 0.0;
      if (row0 + r < p.rows && k < p.inDim) { xv = x[(row0 + r) * p.inDim + k]; }
      xs[kk][r] = xv;
      var wv = 0.0;
      if (col0 + r < p.outDim && k < p.inDim) { wv = w[(col0 + r) * p.inDim + k]; }
      ws[kk][r] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let b = vec4<f32>(ws[kk][tx], ws[kk][tx + 1u], ws[kk][tx + 2u], ws[kk][tx + 3u]);
      acc0 += xs[kk][ty] * b;
      acc1 += xs[kk][ty + 1u] * b;
      acc2 += xs[kk][ty + 2u] * b;
      acc3 += xs[kk][ty + 3u] * b;
    }
    workgroupBarrier();
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= p.rows) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c >= p.outDim) { continue; }
      var v = acc[i][j];
      if (p.hasBias != 0u) { v += bias[c]; }
      y[r * p.outDim + c] = v;
    }
  }
}

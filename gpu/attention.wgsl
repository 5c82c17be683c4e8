// Causal self-attention with grouped-query heads over one sequence. One invocation per
// (query row t, head h) walks the keys s ≤ t once with an online softmax: running maximum m,
// running denominator l, and the weighted value sum accumulated straight in this invocation's
// own output row, rescaled by e^(m_old − m_new) whenever the maximum grows (rarely after the
// first keys). No T×T score matrix and no per-invocation array (private arrays are slow on
// software adapters and would cap the head size). Query head h reads kv head
// h / (heads / kvHeads); consecutive invocations of a workgroup are consecutive rows of one
// head, so they read the same key/value rows, which the cache serves.

struct AttnParams {
  tokens: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32,
  window: u32,   // 0 = full causal
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: AttnParams;

@compute @workgroup_size(64)
fn attention(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  if (t >= p.tokens || h >= p.heads) { return; }
  let hd = p.headDim;
  let kvh = h / (p.heads / p.kvHeads);
  let qBase = (t * p.heads + h) * hd;
  let kvStride = p.kvHeads * hd;
  var lo = 0u;
  if (p.window > 0u && t + 1u > p.window) { lo = t + 1u - p.window; }
  for (var i = 0u; i < hd; i++) { out[qBase + i] = 0.0; }
  var m = -3.0e38;
  var l = 0.0;
  for (var s = lo; s <= t; s++) {
    let kBase = s * kvStride + kvh * hd;
    var dot = 0.0;
    for (var i = 0u; i < hd; i++) { dot += q[qBase + i] * k[kBase + i]; }
    let score = dot * p.scale;
    if (score > m) {
      // New maximum: rescale what was accumulated under the old one (e^(−huge) = 0 at the start).
      let r = exp(m - score);
      l *= r;
      for (var i = 0u; i < hd; i++) { out[qBase + i] *= r; }
      m = score;
    }
    let e = exp(score - m);
    l += e;
    for (var i = 0u; i < hd; i++) { out[qBase + i] += e * v[kBase + i]; }
  }
  let inv = 1.0 / l;
  for (var i = 0u; i < hd; i++) { out[qBase + i] *= inv; }
}

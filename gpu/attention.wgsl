// Causal self-attention with grouped-query heads over one sequence, flash-attention style.
// A workgroup takes 64 consecutive query rows of one head (one invocation per row) and walks
// the keys in blocks of BK: the block's key and value rows are staged in workgroup memory by
// the whole workgroup (each global value read once per workgroup instead of once per row),
// then every invocation scores the block against its query, updates its running maximum m and
// denominator l (one rescale per block at most), and accumulates e^(score−m)·v in a private
// accumulator. HEAD_DIM and BK are pipeline constants, so the head loops have fixed trip counts
// the driver can unroll (the accumulator then lives in registers). No T×T score matrix.
// Query head h reads kv head h / (heads / kvHeads).

struct AttnParams {
  tokens: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32,
  window: u32,   // 0 = full causal
  softcap: f32,  // > 0: scores become tanh(score / softcap) · softcap (Gemma 2); 0 = none
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: AttnParams;

// tanh as assembly/simd-math.ts's tanhf4 computes it: e^(−2|x|) never overflows (WGSL's
// builtin tanh may be sinh/cosh, which overflow to NaN on some drivers for large |x|).
fn tanh_capped(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * ((1.0 - e) / (1.0 + e));
}

override HEAD_DIM: u32 = 64u;
// Keys per block: BK·HEAD_DIM ≤ 2048 floats per tile, so both tiles fit the 16 KiB of
// workgroup memory every WebGPU device offers.
override BK: u32 = 32u;
const MAX_HEAD_DIM: u32 = 256u;
const MAX_BK: u32 = 64u;
const ROWS: u32 = 64u;

var<workgroup> ks: array<f32, 2048>;
var<workgroup> vs: array<f32, 2048>;

@compute @workgroup_size(64)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let h = wid.y;
  let t0 = wid.x * ROWS;
  let t = t0 + li;
  let live = t < p.tokens;
  let kvh = h / (p.heads / p.kvHeads);
  let kvStride = p.kvHeads * HEAD_DIM;
  let qBase = (t * p.heads + h) * HEAD_DIM;
  // Keys this workgroup needs: from the first row's window start to its last row (uniform values).
  let tLast = min(t0 + ROWS, p.tokens) - 1u;
  var sFirst = 0u;
  if (p.window > 0u && t0 + 1u > p.window) { sFirst = t0 + 1u - p.window; }
  var lo = 0u;
  if (p.window > 0u && t + 1u > p.window) { lo = t + 1u - p.window; }

  var acc: array<f32, MAX_HEAD_DIM>;
  for (var i = 0u; i < HEAD_DIM; i++) { acc[i] = 0.0; }
  var sc: array<f32, MAX_BK>;
  var m = -3.0e38;
  var l = 0.0;
  for (var s0 = sFirst; s0 <= tLast; s0 += BK) {
    for (var e = li; e < BK * HEAD_DIM; e += ROWS) {
      let s = s0 + e / HEAD_DIM;
      let i = e % HEAD_DIM;
      var kv = 0.0;
      var vv = 0.0;
      if (s < p.tokens) {
        kv = k[s * kvStride + kvh * HEAD_DIM + i];
        vv = v[s * kvStride + kvh * HEAD_DIM + i];
      }
      ks[e] = kv;
      vs[e] = vv;
    }
    workgroupBarrier();
    if (live && s0 <= t) {
      // Scores of this block (keys outside [lo, t] get −∞ weight), and the block maximum.
      var bm = -3.0e38;
      for (var j = 0u; j < BK; j++) {
        let s = s0 + j;
        var score = -3.0e38;
        if (s <= t && s >= lo) {
          var dot = 0.0;
          for (var i = 0u; i < HEAD_DIM; i++) { dot += q[qBase + i] * ks[j * HEAD_DIM + i]; }
          score = dot * p.scale;
          if (p.softcap > 0.0) { score = tanh_capped(score / p.softcap) * p.softcap; }
        }
        sc[j] = score;
        bm = max(bm, score);
      }
      if (bm > m) {
        // New maximum: rescale what was accumulated under the old one (e^(−huge) = 0 at first).
        let r = exp(m - bm);
        l *= r;
        for (var i = 0u; i < HEAD_DIM; i++) { acc[i] *= r; }
        m = bm;
      }
      for (var j = 0u; j < BK; j++) {
        if (sc[j] <= -3.0e38) { continue; }
        let e = exp(sc[j] - m);
        l += e;
        for (var i = 0u; i < HEAD_DIM; i++) { acc[i] += e * vs[j * HEAD_DIM + i]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let inv = 1.0 / l;
    for (var i = 0u; i < HEAD_DIM; i++) { out[qBase + i] = acc[i] * inv; }
  }
}

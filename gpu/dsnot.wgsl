// DSnoT mask refinement (ALGORITHM.md §4, §5 and the package's stop rule §13.1), rows in parallel.
//
//   dsnot_prepare  one workgroup per row: the initial error e (double-float) and the candidate
//                  lists, each at most maxCycles long (no row is ever sorted whole):
//                    0  grow, e > 0:  initially pruned with G > 0 (or NaN: it stops the row),
//                                     largest G first, equal G → higher column first
//                    1  grow, e ≤ 0:  initially pruned with G < 0, most negative first, lower column first
//                    2  prune, e ≥ 0: kept with D32 < 0, smallest Wanda first, lower column first
//                    3  prune, e < 0: kept with D32 > 0, smallest Wanda first, lower column first
//                  (N:M builds lists 0 and 1 only: its pruning candidate comes from g's group.)
//   dsnot_loop     one invocation per row: the swap loop, writing the mask and the final e.
//   apply_mask     weight[mask] = 0.
//
// Sort keys (D32 = W·sum32, G = D32 / varPow or 0 when D32 == 0, Wanda |W|·sqrtScaler) are
// correctly rounded f32, as on wasm; e = Σ_pruned W·sum64 and the swaps e ← (e + D_q) − D_g are
// double-float, so every decision (|e| ≤ threshold, signs) is the one f64 makes.
// #import numerics
// #import select_radix

struct Params {
  rows: u32,        // rows in this launch (row chunk)
  cols: u32,
  row_base: u32,    // global index of the chunk's first row (errs is bound whole)
  weight_off: u32,  // element index of the chunk's first weight in the bound range
  mask_off: u32,    // byte index of the chunk's first mask byte in the bound range
  list_len: u32,    // T: room per list per row (= maxCycles)
  max_cycles: u32,
  nm_m: u32,        // 0: unstructured; else the N:M group size M
  same_sign: u32,
  thr_hi: f32,      // update threshold as a double-float
  thr_lo: f32,
  metric_off: u32,  // N:M: element index of the chunk's first initial metric
  count: u32,       // apply_mask: weights in this launch
  opaque_zero: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<u32>;
@group(0) @binding(0) var<storage, read_write> weight_rw: array<u32>;
@group(0) @binding(1) var<storage, read> mask_read: array<u32>;
@group(0) @binding(1) var<storage, read_write> mask_atomic: array<atomic<u32>>;
// Per column: sum32, sum64 hi, sum64 lo, varPow, sqrtScaler (f32 bit patterns).
@group(0) @binding(2) var<storage, read> columns: array<u32>;
// Per chunk row: 4 list lengths, then [4][T] sorted columns, [4][T] keys, [4][T] columns as taken.
@group(0) @binding(3) var<storage, read_write> lists: array<u32>;
// Per global row: e_init (hi, lo), e (hi, lo), the iteration where the row stopped, 3 spare.
@group(0) @binding(4) var<storage, read_write> errs: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read> init_metric: array<u32>;
// N:M: the mask as it was before the loop (same layout as mask).
@group(0) @binding(7) var<storage, read> mask0: array<u32>;

const COL_STRIDE: u32 = 5u;
const ERR_STRIDE: u32 = 8u;

var<private> row_w: u32; // element index of the row's first weight
var<private> row_m: u32; // byte index of the row's first mask byte

fn sum32(c: u32) -> u32 { return columns[COL_STRIDE * c]; }
fn sum64(c: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(columns[COL_STRIDE * c + 1u]), bitcast<f32>(columns[COL_STRIDE * c + 2u]));
}
fn var_pow(c: u32) -> u32 { return columns[COL_STRIDE * c + 3u]; }
fn sqrt_scaler(c: u32) -> u32 { return columns[COL_STRIDE * c + 4u]; }

fn is_pos_bits(b: u32) -> bool { return (b & 0x80000000u) == 0u && !is_zero_bits(b) && !is_nan_bits(b); }
fn is_neg_bits(b: u32) -> bool { return (b & 0x80000000u) != 0u && !is_zero_bits(b) && !is_nan_bits(b); }

fn byte_of(words_value: u32, i: u32) -> u32 { return (words_value >> ((i & 3u) * 8u)) & 0xFFu; }
fn initially_pruned(c: u32) -> bool { let i = row_m + c; return byte_of(mask_read[i >> 2u], i) != 0u; }

fn d32(c: u32) -> u32 { return f32_mul_cr(weight[row_w + c], sum32(c)); }
fn grow_score(c: u32) -> u32 {
  let d = d32(c);
  if (is_zero_bits(d)) { return 0u; }
  return f32_div_cr(d, var_pow(c));
}
fn wanda(c: u32) -> u32 { return f32_mul_cr(weight[row_w + c] & 0x7FFFFFFFu, sqrt_scaler(c)); }
fn d64(c: u32) -> vec2<f32> { return df_mul_f(sum64(c), bitcast<f32>(weight[row_w + c])); }

// Keys of column `pos` in a pair of lists (positions are columns in both):
//   pair 0, growing:  (list 0: ~key(G) for G > 0 or NaN, descending;  list 1: key(G) for G < 0)
//   pair 1, pruning:  (list 2: key(Wanda) for kept with D32 < 0;      list 3: ... with D32 > 0)
var<private> pair: u32;

fn radix_keys(c: u32) -> vec2<u32> {
  let none = vec2<u32>(KEY_NONE, KEY_NONE);
  let pruned = initially_pruned(c);
  let d = d32(c);
  if (pair == 0u) {
    if (!pruned || is_zero_bits(d)) { return none; }
    let g = f32_div_cr(d, var_pow(c));
    if (is_pos_bits(g) || is_nan_bits(g)) { return vec2<u32>(~key_of_bits(g), KEY_NONE); } // NaN, +inf, … first
    if (is_neg_bits(g)) { return vec2<u32>(KEY_NONE, key_of_bits(g)); }
    return none; // G underflowed to 0: not a candidate
  }
  if (pruned) { return none; }
  if (is_neg_bits(d)) { return vec2<u32>(key_of_bits(wanda(c)), KEY_NONE); }
  if (is_pos_bits(d)) { return vec2<u32>(KEY_NONE, key_of_bits(wanda(c))); }
  return none; // D32 == 0 or NaN: never a pruning candidate (quirk Q4)
}

var<workgroup> red: array<vec2<f32>, 256>;
var<workgroup> taken_count: array<atomic<u32>, 2>;
var<workgroup> taken_total: array<u32, 2>;

fn list_base(r: u32) -> u32 { return r * (4u + 12u * params.list_len); }

@compute @workgroup_size(256)
fn dsnot_prepare(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) tid: u32) {
  OPAQUE_ZERO = params.opaque_zero;
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.rows) { return; }
  let cols = params.cols;
  let T = params.list_len;
  row_w = params.weight_off + r * cols;
  row_m = params.mask_off + r * cols;

  // e_init = Σ_{j pruned} W_j·sum64_j, in double-float: per-invocation sums, then a tree.
  var acc = vec2<f32>(0.0, 0.0);
  for (var c = tid; c < cols; c = c + WG) {
    if (initially_pruned(c)) { acc = df_add(acc, d64(c)); }
  }
  // Two levels (16 runs of 16, then the run sums): few barriers.
  red[tid] = acc;
  workgroupBarrier();
  if (tid < 16u) {
    var run = red[16u * tid];
    for (var i = 1u; i < 16u; i = i + 1u) { run = df_add(run, red[16u * tid + i]); }
    red[16u * tid] = run;
  }
  workgroupBarrier();
  if (tid == 0u) {
    var total = red[0];
    for (var i = 1u; i < 16u; i = i + 1u) { total = df_add(total, red[16u * i]); }
    let e = (params.row_base + r) * ERR_STRIDE;
    errs[e] = bitcast<u32>(total.x);
    errs[e + 1u] = bitcast<u32>(total.y);
  }

  if (T == 0u) { return; } // no refinement: only e_init was wanted
  let base = list_base(r);
  var npairs = 2u;
  if (params.nm_m != 0u) { npairs = 1u; }
  let wants = vec2<u32>(T, T);
  for (var pr = 0u; pr < npairs; pr = pr + 1u) {
    pair = pr; // read by radix_keys
    let t = radix_select2(cols, wants, tid);
    if (tid < 2u) { atomicStore(&taken_count[tid], 0u); }
    workgroupBarrier();
    // List 0 walks from the right: of equal G, the higher column comes first.
    let from_end = vec2<bool>(pr == 0u, false);
    var equal_before = vec2<u32>(0u, 0u);
    for (var b = 0u; b < cols; b = b + WG) {
      let c = b + tid;
      var k = vec2<u32>(KEY_NONE, KEY_NONE);
      if (c < cols) { k = radix_keys(c); }
      let taken = radix_take2(k, t, wants, equal_before, from_end, tid);
      equal_before = radix_equal_after(t, wants, equal_before);
      for (var s = 0u; s < 2u; s = s + 1u) {
        if (taken[s]) {
          let list = 2u * pr + s;
          let slot = atomicAdd(&taken_count[s], 1u);
          lists[base + 4u + 4u * T + list * T + slot] = k[s];
          lists[base + 4u + 8u * T + list * T + slot] = c;
        }
      }
    }
    workgroupBarrier();
    if (tid < 2u) { taken_total[tid] = atomicLoad(&taken_count[tid]); }
    let n = workgroupUniformLoad(&taken_total);
    storageBarrier();
    // The taken entries arrived in any order: place each by its rank in (key, column) order,
    // columns descending on ties for list 0.
    for (var s = 0u; s < 2u; s = s + 1u) {
      let list = 2u * pr + s;
      let keys = base + 4u + 4u * T + list * T;
      let cols_at = base + 4u + 8u * T + list * T;
      for (var i = tid; i < n[s]; i = i + WG) {
        let ki = lists[keys + i];
        let ci = lists[cols_at + i];
        var rank = 0u;
        for (var j = 0u; j < n[s]; j = j + 1u) {
          let kj = lists[keys + j];
          let cj = lists[cols_at + j];
          if (kj < ki || (kj == ki && ((list == 0u && cj > ci) || (list != 0u && cj < ci)))) { rank = rank + 1u; }
        }
        lists[base + 4u + list * T + rank] = ci;
      }
      if (tid == 0u) { lists[base + list] = n[s]; }
    }
    storageBarrier();
    workgroupBarrier();
  }
}

// mask byte of column c of the current row := v (0 or 1).
fn set_mask(c: u32, v: u32) {
  let i = row_m + c;
  let sh = (i & 3u) * 8u;
  atomicAnd(&mask_atomic[i >> 2u], ~(0xFFu << sh));
  if (v != 0u) { atomicOr(&mask_atomic[i >> 2u], 1u << sh); }
}

fn kept_unchosen(c: u32) -> bool {
  let i = row_m + c;
  return byte_of(mask0[i >> 2u], i) == 0u && byte_of(atomicLoad(&mask_atomic[i >> 2u]), i) == 0u;
}

@compute @workgroup_size(64)
fn dsnot_loop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  OPAQUE_ZERO = params.opaque_zero;
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= params.rows) { return; }
  let cols = params.cols;
  let T = params.list_len;
  let m = params.nm_m;
  row_w = params.weight_off + r * cols;
  row_m = params.mask_off + r * cols;
  let base = list_base(r);
  let eslot = (params.row_base + r) * ERR_STRIDE;
  let e_init = vec2<f32>(bitcast<f32>(errs[eslot]), bitcast<f32>(errs[eslot + 1u]));
  let sign0 = df_sign(e_init);
  let thr = vec2<f32>(params.thr_hi, params.thr_lo);
  let sign_test = params.same_sign != 0u || m != 0u;
  var e = e_init;
  var next = vec4<u32>(0u, 0u, 0u, 0u); // how far each list has been consumed
  var stopped_at = params.max_cycles + 1u;
  for (var it = 1u; it <= params.max_cycles; it = it + 1u) {
    if (df_abs_le(e, thr)) { stopped_at = it; break; }
    let s = df_sign(e);
    // Growing candidate: list 0 when e > 0, else list 1.
    var gl = 1u;
    if (s > 0) { gl = 0u; }
    if (next[gl] >= lists[base + gl]) { stopped_at = it; break; }
    let g = lists[base + 4u + gl * T + next[gl]];
    if (is_nan_bits(grow_score(g))) { stopped_at = it; break; } // NaN is not G > 0
    // Pruning candidate.
    var q = 0u;
    var pl = 2u;
    if (m == 0u) {
      if (s < 0) { pl = 3u; }
      if (next[pl] >= lists[base + pl]) { stopped_at = it; break; }
      q = lists[base + 4u + pl * T + next[pl]];
    } else {
      // The kept, not yet chosen weight with the smallest initial metric in g's group (lower column on ties).
      let start = g - g % m;
      var best_key = KEY_NONE;
      var found = false;
      for (var j = start; j < start + m; j = j + 1u) {
        if (kept_unchosen(j)) {
          let kj = key_of_bits(init_metric[params.metric_off + r * cols + j]);
          if (!found || kj < best_key) {
            found = true;
            best_key = kj;
            q = j;
          }
        }
      }
      if (!found) { stopped_at = it; break; }
    }
    let after = df_add(df_add(e, d64(q)), -d64(g));
    if (sign_test && df_sign(after) != sign0) { stopped_at = it; break; }
    set_mask(q, 1u);
    set_mask(g, 0u);
    e = after;
    next[gl] = next[gl] + 1u;
    if (m == 0u) { next[pl] = next[pl] + 1u; }
  }
  errs[eslot + 2u] = bitcast<u32>(e.x);
  errs[eslot + 3u] = bitcast<u32>(e.y);
  errs[eslot + 4u] = stopped_at;
}

@compute @workgroup_size(256)
fn apply_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count) { return; }
  let b = params.mask_off + i;
  if (byte_of(mask_read[b >> 2u], b) != 0u) { weight_rw[params.weight_off + i] = 0u; }
}

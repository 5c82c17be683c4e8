// Initial-mask selection (ALGORITHM.md §3): per-row k smallest, per-group N:M, and the
// magnitude baseline's one threshold per matrix. Ties always go to the lower column (a stable
// ascending sort). Keys are numerics.wgsl's order-preserving u32 (-0 == +0, NaN last).
// #import numerics
// #import select_radix

struct Params {
  rows: u32,        // rows in this launch (row chunk)
  cols: u32,
  k: u32,           // select_rows: pruned per row; select_nm: n
  m: u32,           // select_nm: group size
  metric_off: u32,  // element index of this chunk's first metric in the bound range
  mask_off: u32,    // byte index of this chunk's first mask byte in the bound range
  count: u32,       // threshold_*: elements in this chunk
  pass_index: u32,  // threshold_hist: which 8-bit digit (0 = most significant)
  opaque_zero: u32,
}

@group(0) @binding(0) var<storage, read> metric: array<u32>;
// Rows of a row-wise selection share mask words when cols % 4 != 0: written atomically.
@group(0) @binding(1) var<storage, read_write> mask_atomic: array<atomic<u32>>;
// Kernels that own whole words write them plainly.
@group(0) @binding(1) var<storage, read_write> mask_words: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;
// threshold_*: 256 histogram bins, then prefix, fixed bits, remaining rank.
@group(0) @binding(3) var<storage, read_write> state: array<atomic<u32>, 259>;

const STATE_PREFIX: u32 = 256u;
const STATE_FIXED: u32 = 257u;
const STATE_REMAINING: u32 = 258u;

var<private> row_base: u32;

// One list (the row's metrics); the second list of the radix pair is left empty.
fn radix_keys(pos: u32) -> vec2<u32> {
  return vec2<u32>(key_of_bits(metric[row_base + pos]), KEY_NONE);
}

var<workgroup> flags: array<u32, 256>;

// Mask bytes g0 .. g0+n-1 of the bound range take flags[0 .. n): each word once, whole words
// plainly, words shared with a neighbour row through atomic and/or.
fn write_flags(g0: u32, n: u32, tid: u32) {
  let g = g0 + tid;
  if (tid >= n || (tid != 0u && (g & 3u) != 0u)) { return; }
  let first = g & 3u;
  var bits = 0u;
  var own = 0u;
  for (var b = first; b < 4u; b = b + 1u) {
    let t = tid + b - first;
    if (t < n) {
      own = own | (0xFFu << (8u * b));
      bits = bits | (flags[t] << (8u * b));
    }
  }
  let w = g >> 2u;
  if (own == 0xFFFFFFFFu) {
    atomicStore(&mask_atomic[w], bits);
  } else {
    atomicAnd(&mask_atomic[w], ~own);
    atomicOr(&mask_atomic[w], bits);
  }
}

// One workgroup per row: mask = 1 for the k smallest metrics of the row.
@compute @workgroup_size(256)
fn select_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) tid: u32) {
  OPAQUE_ZERO = params.opaque_zero;
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let cols = params.cols;
  let want = params.k;
  row_base = params.metric_off + row * cols;
  let wants = vec2<u32>(want, 0u);
  let t = radix_select2(cols, wants, tid);
  var equal_before = vec2<u32>(0u, 0u);
  for (var base = 0u; base < cols; base = base + WG) {
    let p = base + tid;
    var k = vec2<u32>(KEY_NONE, KEY_NONE);
    if (p < cols) { k = radix_keys(p); }
    let taken = radix_take2(k, t, wants, equal_before, vec2<bool>(false, false), tid);
    equal_before = radix_equal_after(t, wants, equal_before);
    flags[tid] = select(0u, 1u, taken.x);
    workgroupBarrier();
    write_flags(params.mask_off + row * cols + base, min(WG, cols - base), tid);
    workgroupBarrier();
  }
}

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// One invocation per mask word: mask = 1 for the n smallest of every m consecutive columns.
// Row chunks start on word boundaries, so every word belongs to this launch.
@compute @workgroup_size(256)
fn select_nm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = thread_index(gid, nwg);
  let count = params.rows * params.cols;
  if (w * 4u >= count) { return; }
  let m = params.m;
  var bits = 0u;
  for (var b = 0u; b < 4u; b = b + 1u) {
    let i = w * 4u + b;
    if (i < count) {
      let start = i - i % m; // columns % m == 0: groups never straddle rows
      let ki = key_of_bits(metric[params.metric_off + i]);
      var rank = 0u;
      for (var j = start; j < start + m; j = j + 1u) {
        let kj = key_of_bits(metric[params.metric_off + j]);
        if (kj < ki || (kj == ki && j < i)) { rank = rank + 1u; }
      }
      if (rank < params.k) { bits = bits | (1u << (8u * b)); }
    }
  }
  mask_words[params.mask_off / 4u + w] = bits;
}

var<workgroup> wg_hist: array<atomic<u32>, 256>;

// Magnitude baseline, pass p of 4: histogram of digit p of the keys that match the prefix so far.
@compute @workgroup_size(256)
fn threshold_hist(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) tid: u32) {
  atomicStore(&wg_hist[tid], 0u);
  workgroupBarrier();
  let shift = 24u - 8u * params.pass_index;
  let prefix = atomicLoad(&state[STATE_PREFIX]);
  let fixed = atomicLoad(&state[STATE_FIXED]);
  let i = thread_index(gid, nwg);
  if (i < params.count) {
    let k = key_of_bits(metric[params.metric_off + i]);
    if ((k & fixed) == prefix) { atomicAdd(&wg_hist[(k >> shift) & 0xFFu], 1u); }
  }
  workgroupBarrier();
  let c = atomicLoad(&wg_hist[tid]);
  if (c != 0u) { atomicAdd(&state[tid], c); }
}

// One workgroup: fix digit p of the threshold from the histogram, then clear it for the next pass.
@compute @workgroup_size(256)
fn threshold_pick(@builtin(local_invocation_index) tid: u32) {
  let count = atomicLoad(&state[tid]);
  let incl = wg_inclusive_scan(count, tid);
  let excl = incl - count;
  let remaining = atomicLoad(&state[STATE_REMAINING]);
  workgroupBarrier();
  let shift = 24u - 8u * params.pass_index;
  if (excl < remaining && remaining <= incl) {
    atomicStore(&state[STATE_REMAINING], remaining - excl);
    atomicOr(&state[STATE_PREFIX], tid << shift);
    atomicOr(&state[STATE_FIXED], 0xFFu << shift);
  }
  atomicStore(&state[tid], 0u);
}

// mask = 1 where key ≤ the threshold key (ties at the threshold are all pruned, as the authors' ≤ does).
@compute @workgroup_size(256)
fn threshold_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = thread_index(gid, nwg);
  if (w * 4u >= params.count) { return; }
  let t = atomicLoad(&state[STATE_PREFIX]);
  var bits = 0u;
  for (var b = 0u; b < 4u; b = b + 1u) {
    let i = w * 4u + b;
    if (i < params.count && key_of_bits(metric[params.metric_off + i]) <= t) { bits = bits | (1u << (8u * b)); }
  }
  mask_words[params.mask_off / 4u + w] = bits;
}

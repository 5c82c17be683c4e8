// Per-row radix selection, shared by the select and dsnot kernels (imported with
// `// #import select_radix`). One workgroup of 256 invocations handles one row.
//
// The importing module defines `fn radix_key(list: u32, pos: u32) -> u32`: the order-preserving
// key (numerics.wgsl key_of_bits) of position `pos` of list `list`, or KEY_NONE when that
// position is not a member. Selecting the `want` smallest members with ties broken by the
// lower position is what a stable ascending sort's first `want` entries are:
//   1. radix_select finds the want-th smallest key T (four 8-bit digit passes) and how many
//      members are below it;
//   2. the caller walks the positions in order, taking every key < T and the first
//      (want − below) keys == T (radix_equal_rank gives each its rank among the equal ones).

const WG: u32 = 256u;

var<workgroup> rx_hist: array<atomic<u32>, 256>;
var<workgroup> rx_scan: array<u32, 256>;
var<workgroup> rx_part: array<u32, 16>;
var<workgroup> rx_total: u32;

struct RoundResult {
  digit: u32,
  remaining: u32,
  count: u32, // keys in the chosen bucket
  total: u32, // keys in all buckets
}
var<workgroup> rx_round: RoundResult;

struct Threshold {
  key: u32,   // the want-th smallest key; KEY_NONE when all members are taken
  below: u32, // members with a key < key
  equal: u32, // members with a key == key
}

// Inclusive prefix sum of v over the workgroup; the total is left in rx_total. Two levels
// (16 runs of 16, then the 16 run totals) keep it to three barriers: barriers are what a CPU
// implementation of WebGPU (SwiftShader) pays most for.
fn wg_inclusive_scan(v: u32, tid: u32) -> u32 {
  rx_scan[tid] = v;
  workgroupBarrier();
  if (tid < 16u) {
    var run = 0u;
    for (var i = 0u; i < 16u; i = i + 1u) {
      run = run + rx_scan[16u * tid + i];
      rx_scan[16u * tid + i] = run;
    }
    rx_part[tid] = run;
  }
  workgroupBarrier();
  if (tid == 0u) {
    var acc = 0u;
    for (var i = 0u; i < 16u; i = i + 1u) {
      acc = acc + rx_part[i];
      rx_part[i] = acc;
    }
    rx_total = acc;
  }
  workgroupBarrier();
  let run = tid / 16u;
  var before = 0u;
  if (run > 0u) { before = rx_part[run - 1u]; }
  return rx_scan[tid] + before;
}

// The want-th smallest key of list `list` over positions [0, len). Must be called by the whole
// workgroup with uniform arguments.
fn radix_select(list: u32, len: u32, want: u32, tid: u32) -> Threshold {
  if (want == 0u) { return Threshold(0u, 0u, 0u); } // key 0 is never produced: nothing is taken
  var prefix = 0u;
  var fixed = 0u; // bits of the key already decided
  var remaining = want;
  var equal = 0u;
  for (var round = 0u; round < 4u; round = round + 1u) {
    let shift = 24u - 8u * round;
    atomicStore(&rx_hist[tid], 0u);
    workgroupBarrier();
    for (var p = tid; p < len; p = p + WG) {
      let k = radix_key(list, p);
      if (k != KEY_NONE && (k & fixed) == prefix) {
        atomicAdd(&rx_hist[(k >> shift) & 0xFFu], 1u);
      }
    }
    workgroupBarrier();
    let count = atomicLoad(&rx_hist[tid]);
    let incl = wg_inclusive_scan(count, tid);
    let excl = incl - count;
    if (excl < remaining && remaining <= incl) {
      rx_round = RoundResult(tid, remaining - excl, count, rx_total);
    } else if (tid == 0u && rx_total < remaining) {
      rx_round = RoundResult(0u, 0u, 0u, rx_total);
    }
    let r = workgroupUniformLoad(&rx_round);
    if (r.total < remaining) {
      return Threshold(KEY_NONE, r.total, 0u); // fewer members than wanted (first round only): take them all
    }
    remaining = r.remaining;
    equal = r.count;
    prefix = prefix | (r.digit << shift);
    fixed = fixed | (0xFFu << shift);
  }
  return Threshold(prefix, want - remaining, equal);
}

// Whether the ties at the threshold need ranking: only when some, not all, keys == T are taken.
fn radix_ties_split(t: Threshold, want: u32) -> bool {
  return t.key != KEY_NONE && t.below + t.equal > want;
}

// For one chunk of positions (one per invocation, in position order): whether this position is
// taken, given the threshold and how many keys == T earlier chunks held (`equal_before`).
// Call with split = radix_ties_split(t, want) (uniform). When split, afterwards
// workgroupUniformLoad(&rx_total) is the number of keys == T in this chunk.
fn radix_take(k: u32, t: Threshold, want: u32, equal_before: u32, tid: u32, split: bool) -> bool {
  let is_equal = k == t.key && k != KEY_NONE;
  if (!split) { return k < t.key || is_equal; }
  let e = select(0u, 1u, is_equal);
  let rank = wg_inclusive_scan(e, tid) - e + equal_before;
  return k < t.key || (is_equal && t.below + rank < want);
}

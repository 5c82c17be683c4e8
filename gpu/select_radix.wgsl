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
var<workgroup> rx_digit: u32;
var<workgroup> rx_remaining: u32;
var<workgroup> rx_total: u32;

struct Threshold {
  key: u32,   // the want-th smallest key; KEY_NONE when all members are taken
  below: u32, // members with a key < key
}

// Inclusive prefix sum of v over the workgroup (Hillis-Steele in rx_scan); the total is in rx_total.
fn wg_inclusive_scan(v: u32, tid: u32) -> u32 {
  rx_scan[tid] = v;
  workgroupBarrier();
  for (var off = 1u; off < WG; off = off << 1u) {
    var add = 0u;
    if (tid >= off) { add = rx_scan[tid - off]; }
    workgroupBarrier();
    rx_scan[tid] = rx_scan[tid] + add;
    workgroupBarrier();
  }
  let incl = rx_scan[tid];
  if (tid == WG - 1u) { rx_total = incl; }
  workgroupBarrier();
  return incl;
}

// The want-th smallest key of list `list` over positions [0, len). Must be called by the whole
// workgroup with uniform arguments.
fn radix_select(list: u32, len: u32, want: u32, tid: u32) -> Threshold {
  if (want == 0u) { return Threshold(0u, 0u); } // key 0 is never produced: nothing is taken
  var prefix = 0u;
  var fixed = 0u; // bits of the key already decided
  var remaining = want;
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
      rx_digit = tid;
      rx_remaining = remaining - excl;
    }
    let total = workgroupUniformLoad(&rx_total);
    if (round == 0u && total < want) {
      return Threshold(KEY_NONE, total); // fewer members than wanted: take them all
    }
    let digit = workgroupUniformLoad(&rx_digit);
    remaining = workgroupUniformLoad(&rx_remaining);
    prefix = prefix | (digit << shift);
    fixed = fixed | (0xFFu << shift);
  }
  return Threshold(prefix, want - remaining);
}

// For one chunk of positions (one per invocation, in position order): whether this position is
// taken, given the threshold and how many keys == T earlier chunks held (`equal_before`).
// Afterwards workgroupUniformLoad(&rx_total) is the number of keys == T in this chunk.
fn radix_take(k: u32, t: Threshold, want: u32, equal_before: u32, tid: u32) -> bool {
  let is_equal = k == t.key && k != KEY_NONE;
  let e = select(0u, 1u, is_equal);
  let rank = wg_inclusive_scan(e, tid) - e + equal_before;
  return k < t.key || (is_equal && t.below + rank < want);
}

// Per-row radix selection, shared by the select and dsnot kernels (imported with
// `// #import select_radix`). One workgroup of 256 invocations handles one row, and selects
// from TWO lists at once (one sweep over the row computes both keys: DSnoT's growing lists share
// G, its pruning lists share the Wanda metric; select_rows leaves the second list empty).
//
// The importing module defines `fn radix_keys(pos: u32) -> vec2<u32>`: the order-preserving keys
// (numerics.wgsl key_of_bits) of position `pos` in list 0 and list 1, KEY_NONE where `pos` is not
// a member. Taking the `want` smallest members of a list with ties broken by position (lower
// first, or higher first with from_end) is what a stable sort's first `want` entries are:
//   1. radix_select2 finds each list's want-th smallest key T (four 8-bit digit rounds) and how
//      many members are below it and equal to it;
//   2. the caller walks the positions in order, taking every key < T and, of the keys == T, the
//      first (or last) want − below; radix_take2 ranks the equal ones only when they straddle.

const WG: u32 = 256u;

var<workgroup> rx_hist: array<array<atomic<u32>, 256>, 2>;
var<workgroup> rx_scan: array<u32, 256>;
var<workgroup> rx_part: array<u32, 16>;
var<workgroup> rx_total: u32;

struct RoundResult {
  digit: u32,
  remaining: u32,
  count: u32, // keys in the chosen bucket
  total: u32, // keys in all buckets
}
var<workgroup> rx_round: array<RoundResult, 2>;
var<workgroup> rx_equal_chunk: array<u32, 2>;

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

// The want[s]-th smallest key of list s over positions [0, len), for both lists. Must be called
// by the whole workgroup with uniform arguments.
fn radix_select2(len: u32, want: vec2<u32>, tid: u32) -> array<Threshold, 2> {
  var prefix = vec2<u32>(0u, 0u);
  var fixed = vec2<u32>(0u, 0u); // bits of each key already decided
  var remaining = want;
  var equal = vec2<u32>(0u, 0u);
  var total = vec2<u32>(0u, 0u);
  var all = vec2<bool>(false, false); // fewer members than wanted: take them all
  for (var round = 0u; round < 4u; round = round + 1u) {
    let shift = 24u - 8u * round;
    let live = vec2<bool>(remaining.x > 0u && !all.x, remaining.y > 0u && !all.y);
    if (!live.x && !live.y) { break; }
    atomicStore(&rx_hist[0][tid], 0u);
    atomicStore(&rx_hist[1][tid], 0u);
    workgroupBarrier();
    for (var p = tid; p < len; p = p + WG) {
      let k = radix_keys(p);
      for (var s = 0u; s < 2u; s = s + 1u) {
        if (live[s] && k[s] != KEY_NONE && (k[s] & fixed[s]) == prefix[s]) {
          atomicAdd(&rx_hist[s][(k[s] >> shift) & 0xFFu], 1u);
        }
      }
    }
    workgroupBarrier();
    for (var s = 0u; s < 2u; s = s + 1u) {
      if (live[s]) {
        let count = atomicLoad(&rx_hist[s][tid]);
        let incl = wg_inclusive_scan(count, tid);
        let excl = incl - count;
        if (excl < remaining[s] && remaining[s] <= incl) {
          rx_round[s] = RoundResult(tid, remaining[s] - excl, count, rx_total);
        } else if (tid == 0u && rx_total < remaining[s]) {
          rx_round[s] = RoundResult(0u, 0u, 0u, rx_total);
        }
        let r = workgroupUniformLoad(&rx_round[s]);
        if (r.total < remaining[s]) {
          all[s] = true;
          total[s] = r.total;
        } else {
          remaining[s] = r.remaining;
          equal[s] = r.count;
          prefix[s] = prefix[s] | (r.digit << shift);
          fixed[s] = fixed[s] | (0xFFu << shift);
        }
      }
    }
  }
  var out: array<Threshold, 2>;
  for (var s = 0u; s < 2u; s = s + 1u) {
    if (want[s] == 0u) {
      out[s] = Threshold(0u, 0u, 0u); // key 0 is never produced: nothing is taken
    } else if (all[s]) {
      out[s] = Threshold(KEY_NONE, total[s], 0u);
    } else {
      out[s] = Threshold(prefix[s], want[s] - remaining[s], equal[s]);
    }
  }
  return out;
}

// Whether the ties at a threshold need ranking: only when some, not all, keys == T are taken.
fn radix_ties_split(t: Threshold, want: u32) -> bool {
  return t.key != KEY_NONE && t.below + t.equal > want;
}

// For one chunk of positions (one per invocation, in position order): whether this position is
// taken in each list. equal_before[s]: keys == T of list s in earlier chunks; afterwards
// rx_equal_chunk[s] (read with workgroupUniformLoad) holds this chunk's, where ties were split.
// from_end[s]: among equal keys the higher positions come first.
fn radix_take2(k: vec2<u32>, t: array<Threshold, 2>, want: vec2<u32>, equal_before: vec2<u32>,
               from_end: vec2<bool>, tid: u32) -> vec2<bool> {
  var taken = vec2<bool>(false, false);
  for (var s = 0u; s < 2u; s = s + 1u) {
    let is_equal = k[s] == t[s].key && k[s] != KEY_NONE;
    if (!radix_ties_split(t[s], want[s])) {
      taken[s] = k[s] < t[s].key || is_equal;
    } else {
      let e = select(0u, 1u, is_equal);
      var rank = wg_inclusive_scan(e, tid) - e + equal_before[s];
      if (tid == 0u) { rx_equal_chunk[s] = rx_total; }
      if (from_end[s]) { rank = t[s].equal - 1u - rank; }
      taken[s] = k[s] < t[s].key || (is_equal && t[s].below + rank < want[s]);
    }
  }
  return taken;
}

// equal_before after a chunk (uniform).
fn radix_equal_after(t: array<Threshold, 2>, want: vec2<u32>, equal_before: vec2<u32>) -> vec2<u32> {
  var out = equal_before;
  for (var s = 0u; s < 2u; s = s + 1u) {
    if (radix_ties_split(t[s], want[s])) { out[s] = out[s] + workgroupUniformLoad(&rx_equal_chunk[s]); }
  }
  return out;
}

// Shared numerics of the pruning kernels (imported with `// #import numerics`).
//
// Why this file exists: masks must be bit-identical to the wasm backend, and WGSL does not
// promise IEEE f32 behaviour everywhere: `/` may be off by 2.5 ULP, subnormals may be flushed
// to zero, and a driver may fuse a*b+c. So:
//   * sort keys (metrics, the DSnoT growing score G) are computed by integer emulation of
//     correctly rounded f32 multiply and divide (f32_mul_cr, f32_div_cr): exact IEEE results,
//     subnormals included, whatever the float unit does;
//   * the DSnoT error and the calibration sums use double-float (hi, lo) pairs built from
//     error-free transformations whose products are exact (bit-mask splits), so contraction
//     cannot change them, and whose intermediate sums pass through `opq`, an identity the
//     compiler cannot see through, so no reassociation can cancel the error terms.

// Each entry point sets this from its uniform block (always 0 there). XOR with an unknown
// value makes `opq` opaque to the optimiser.
var<private> OPAQUE_ZERO: u32 = 0u;

fn opq(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ OPAQUE_ZERO);
}

// ---- order-preserving sort keys ---------------------------------------------------------

const CANONICAL_NAN: u32 = 0x7FC00000u;
// Marks "not a member" in selections; no canonical float maps to it.
const KEY_NONE: u32 = 0xFFFFFFFFu;

// u32 whose unsigned order is the f32 order; -0 and +0 are one key; every NaN is one key above +inf
// (as a stable sort that puts NaN last sees them).
fn key_of_bits(bits: u32) -> u32 {
  var b = bits;
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) { b = CANONICAL_NAN; }
  if (b == 0x80000000u) { b = 0u; }
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

fn is_nan_bits(b: u32) -> bool {
  return (b & 0x7FFFFFFFu) > 0x7F800000u;
}

// Zero of either sign.
fn is_zero_bits(b: u32) -> bool {
  return (b & 0x7FFFFFFFu) == 0u;
}

// ---- correctly rounded f32 multiply and divide on bit patterns --------------------------

// Round (sig, rest, sticky) to nearest-even and pack. sig holds 24 significant bits (bit 23
// set), rest the next bits with the round bit at bit 23 and the rest below it, sticky any
// nonzero bits further down; e is the biased exponent of bit 23 of sig (may be ≤ 0: subnormal).
fn round_pack(sign: u32, e: i32, sig: u32, rest: u32, sticky: bool) -> u32 {
  if (e >= 255) { return sign | 0x7F800000u; }
  if (e >= 1) {
    let round_bit = (rest >> 23u) & 1u;
    let lower = (rest & 0x7FFFFFu) != 0u || sticky;
    let up = select(0u, 1u, round_bit == 1u && (lower || (sig & 1u) == 1u));
    // (e-1)<<23 + sig = e<<23 + fraction; a carry out of the fraction bumps the exponent (to inf at the top).
    return sign | ((u32(e - 1) << 23u) + sig + up);
  }
  let shift = u32(1 - e);
  if (shift >= 25u) { return sign; }
  let kept = sig >> shift;
  let dropped = sig & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  let round_bit = dropped >= half;
  let lower = (dropped & (half - 1u)) != 0u || rest != 0u || sticky;
  let up = select(0u, 1u, round_bit && (lower || (kept & 1u) == 1u));
  return sign | (kept + up);
}

struct Unpacked {
  sig: u32, // 24 bits with bit 23 set
  exp: i32, // biased exponent; ≤ 0 for normalised subnormals
}

// Finite nonzero input only.
fn unpack_finite(b: u32) -> Unpacked {
  let e = i32((b >> 23u) & 0xFFu);
  let m = b & 0x7FFFFFu;
  if (e == 0) {
    let sh = countLeadingZeros(m) - 8u;
    return Unpacked(m << sh, 1 - i32(sh));
  }
  return Unpacked(m | 0x800000u, e);
}

// IEEE a*b, round to nearest even, subnormals kept; every NaN result is the canonical NaN.
fn f32_mul_cr(a: u32, b: u32) -> u32 {
  let sign = (a ^ b) & 0x80000000u;
  if (is_nan_bits(a) || is_nan_bits(b)) { return CANONICAL_NAN; }
  let a_inf = (a & 0x7FFFFFFFu) == 0x7F800000u;
  let b_inf = (b & 0x7FFFFFFFu) == 0x7F800000u;
  if (a_inf || b_inf) {
    if (is_zero_bits(a) || is_zero_bits(b)) { return CANONICAL_NAN; }
    return sign | 0x7F800000u;
  }
  if (is_zero_bits(a) || is_zero_bits(b)) { return sign; }
  let ua = unpack_finite(a);
  let ub = unpack_finite(b);
  // 48-bit product from 12-bit limbs: P = hh·2^24 + mid·2^12 + ll.
  let ah = ua.sig >> 12u;
  let al = ua.sig & 0xFFFu;
  let bh = ub.sig >> 12u;
  let bl = ub.sig & 0xFFFu;
  let hh = ah * bh;
  let mid = ah * bl + al * bh;
  let ll = al * bl;
  let t = ll + ((mid & 0xFFFu) << 12u);
  let low = t & 0xFFFFFFu;
  let high = hh + (mid >> 12u) + (t >> 24u); // P = high·2^24 + low, high < 2^24
  if (high >= 0x800000u) {
    return round_pack(sign, ua.exp + ub.exp - 126, high, low, false);
  }
  let sig = (high << 1u) | (low >> 23u);
  return round_pack(sign, ua.exp + ub.exp - 127, sig, (low << 1u) & 0xFFFFFFu, false);
}

// IEEE a/b, round to nearest even, subnormals kept (restoring long division of the significands).
fn f32_div_cr(a: u32, b: u32) -> u32 {
  let sign = (a ^ b) & 0x80000000u;
  if (is_nan_bits(a) || is_nan_bits(b)) { return CANONICAL_NAN; }
  let a_inf = (a & 0x7FFFFFFFu) == 0x7F800000u;
  let b_inf = (b & 0x7FFFFFFFu) == 0x7F800000u;
  if (a_inf) {
    if (b_inf) { return CANONICAL_NAN; }
    return sign | 0x7F800000u;
  }
  if (b_inf) { return sign; }
  if (is_zero_bits(b)) {
    if (is_zero_bits(a)) { return CANONICAL_NAN; }
    return sign | 0x7F800000u;
  }
  if (is_zero_bits(a)) { return sign; }
  let ua = unpack_finite(a);
  let ub = unpack_finite(b);
  var num = ua.sig;
  var e = ua.exp - ub.exp + 127;
  if (num < ub.sig) {
    num = num << 1u;
    e = e - 1;
  }
  // num/den in [1, 2): 24 quotient bits and one round bit; the remainder gives the sticky bit.
  var q = 0u;
  var r = num;
  for (var i = 0u; i < 25u; i = i + 1u) {
    q = q << 1u;
    if (r >= ub.sig) {
      r = r - ub.sig;
      q = q | 1u;
    }
    r = r << 1u;
  }
  return round_pack(sign, e, q >> 1u, (q & 1u) << 23u, r != 0u);
}

// IEEE a+b for a, b ≥ +0 (sign bits clear, finite or +inf), round to nearest even, subnormals
// kept: the native `+` may flush subnormals, and RIA's sums of |W| (metric.wgsl) must give the
// bits of wasm's f32 additions. Significands carry 3 extra bits (guard, round, sticky).
fn f32_add_nonneg_cr(a: u32, b: u32) -> u32 {
  let x = max(a, b); // for non-negative floats the bit order is the value order
  let y = min(a, b);
  if (x >= 0x7F800000u) { return select(x, CANONICAL_NAN, x > 0x7F800000u); }
  if (y == 0u) { return x; }
  // value = sig · 2^(e − 150) with e ≥ 1 for normals and subnormals alike.
  let ex = max(i32(x >> 23u), 1);
  let ey = max(i32(y >> 23u), 1);
  let sx = ((x & 0x7FFFFFu) | select(0u, 0x800000u, x >= 0x800000u)) << 3u;
  var sy = ((y & 0x7FFFFFu) | select(0u, 0x800000u, y >= 0x800000u)) << 3u;
  let d = u32(ex - ey);
  if (d >= 27u) {
    sy = 1u; // all of y lies below the round bit
  } else if (d > 0u) {
    let lost = sy & ((1u << d) - 1u);
    sy = (sy >> d) | select(0u, 1u, lost != 0u);
  }
  var s = sx + sy;
  var e = ex;
  if (s >= 0x8000000u) {
    s = (s >> 1u) | (s & 1u);
    e = e + 1;
  }
  let low = s & 7u;
  var q = s >> 3u;
  if (low > 4u || (low == 4u && (q & 1u) == 1u)) { q = q + 1u; }
  // (e−1)<<23 + q = e<<23 + fraction for q ≥ 2^23, the subnormal bits for e = 1, q < 2^23, and a
  // rounding carry to 2^24 bumps the exponent (to inf at the top).
  return min((u32(e - 1) << 23u) + q, 0x7F800000u);
}

// ---- double-float arithmetic: value = hi + lo, |lo| ≤ ulp(hi)/2 ---------------------------

// hi + lo = a + b exactly (Knuth's TwoSum).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = opq(a + b);
  let bb = opq(s - a);
  let err = (a - opq(s - bb)) + (b - bb);
  return vec2<f32>(s, err);
}

// Same, when |a| ≥ |b| or a == 0 (Dekker's FastTwoSum).
fn fast_two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = opq(a + b);
  let err = b - opq(s - a);
  return vec2<f32>(s, err);
}

// a = hi + lo, each with at most 12 significant bits, by clearing the low 12 mantissa bits
// (never the 4097·a Veltkamp split, which a fused multiply-add would break).
fn split12(a: f32) -> vec2<f32> {
  let hi = bitcast<f32>(bitcast<u32>(a) & 0xFFFFF000u);
  return vec2<f32>(hi, a - hi);
}

// p + err = a·b exactly (Dekker's TwoProduct on exact partial products; finite, no underflow).
fn two_prod(a: f32, b: f32) -> vec2<f32> {
  let p = opq(a * b);
  let sa = split12(a);
  let sb = split12(b);
  let t1 = opq(sa.x * sb.x - p);
  let t2 = opq(t1 + sa.x * sb.y);
  let t3 = opq(t2 + sa.y * sb.x);
  return vec2<f32>(p, t3 + sa.y * sb.y);
}

fn df_add(x: vec2<f32>, y: vec2<f32>) -> vec2<f32> {
  // Joldes-Muller-Popescu AccurateDWPlusDW: relative error ≤ 3·2^-48.
  let s = two_sum(x.x, y.x);
  let t = two_sum(x.y, y.y);
  let v = fast_two_sum(s.x, opq(s.y + t.x));
  return fast_two_sum(v.x, opq(t.y + v.y));
}

fn df_add_f(x: vec2<f32>, y: f32) -> vec2<f32> {
  let s = two_sum(x.x, y);
  return fast_two_sum(s.x, opq(x.y + s.y));
}

fn df_neg(x: vec2<f32>) -> vec2<f32> {
  return -x;
}

// x·y for an f32 x and a double-float y (the DSnoT D64 = W·sum64).
fn df_mul_f(y: vec2<f32>, x: f32) -> vec2<f32> {
  let p = two_prod(x, y.x);
  let cross = opq(x * y.y);
  return fast_two_sum(p.x, opq(p.y + cross));
}

fn df_sq(x: vec2<f32>) -> vec2<f32> {
  let p = two_prod(x.x, x.x);
  let cross = opq(2.0 * opq(x.x * x.y));
  return fast_two_sum(p.x, opq(p.y + cross));
}

// x / n for a positive integer-valued f32 n: quotient estimate corrected by an exact remainder.
fn df_div_f(x: vec2<f32>, n: f32) -> vec2<f32> {
  let q1 = opq(x.x / n);
  let p = two_prod(q1, n);
  let r = opq(opq(opq(x.x - p.x) - p.y) + x.y);
  let q2 = opq(r / n);
  return fast_two_sum(q1, q2);
}

// -1, 0 or 1 (a normalised pair has the sign of hi).
fn df_sign(x: vec2<f32>) -> i32 {
  if (x.x > 0.0) { return 1; }
  if (x.x < 0.0) { return -1; }
  return 0;
}

// |x| ≤ t for double-floats.
fn df_abs_le(x: vec2<f32>, t: vec2<f32>) -> bool {
  var a = x;
  if (x.x < 0.0 || (x.x == 0.0 && x.y < 0.0)) { a = -x; }
  let d = df_add(t, -a);
  return d.x > 0.0 || (d.x == 0.0 && d.y >= 0.0);
}

// ---- packed u8 masks (four bytes per word) ----------------------------------------------

// Bytes of neighbouring rows share words, so writes go through atomics.
fn mask_byte_mask(i: u32) -> u32 {
  return 0xFFu << ((i & 3u) * 8u);
}

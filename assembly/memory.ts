// Where the host may start placing tensors: everything below belongs to the module's static data.
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * 1 + the first index in [from, to) of f32 values at p whose exponent bits are all ones (NaN or
 * ±inf), or 0 when all are finite: the host's check of a weight it uploads, split over threads.
 */
export function nonFiniteRange(p: usize, from: i32, to: i32): i32 {
  const expMask = i32x4.splat(0x7f800000);
  let i = from;
  for (; i + 4 <= to; i += 4) {
    const bits = v128.and(v128.load(p + (<usize>i << 2)), expMask);
    if (v128.any_true(i32x4.eq(bits, expMask))) break; // the scalar loop below finds which
  }
  for (; i < to; i++) {
    if ((load<u32>(p + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) return i + 1;
  }
  return 0;
}

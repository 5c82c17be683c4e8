// Order-preserving u32 keys of f32 values, shared by the selection kernels (select.ts, dsnot.ts):
// unsigned order of the keys = numeric order of the values, with −0 folded onto +0 (−0 + 0 = +0
// in round-to-nearest) so the two tie as they do in torch. NaN never reaches these kernels.
// Also the table that left-packs 32-bit lanes (stream compaction without branches).
// Not re-exported from index.ts: v128 values cannot cross into JavaScript.

@inline export function orderKey(x: f32): u32 {
  const b = reinterpret<u32>(x + <f32>0);
  return b ^ (<u32>(<i32>b >> 31) | 0x80000000);
}

@inline export function orderKeys(x: v128): v128 {
  const b = f32x4.add(x, f32x4.splat(0));
  return v128.xor(b, v128.or(i32x4.shr_s(b, 31), i32x4.splat(0x80000000)));
}

// Left-packing of 32-bit lanes: row `bits` of the table moves the lanes set in `bits` to the
// front, in lane order (i8x16.swizzle controls; 0x80 gives 0).
export const PACK: usize = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
], 16);

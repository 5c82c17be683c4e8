// Vector math shared by the forward kernels (not a kernel family: nothing here is exported
// from the module). expf4 is the Cephes expf (range reduction by ln 2 split in two constants,
// degree-6 polynomial), four lanes at once; ≤ 2 ulp against a correctly rounded exp over the
// softmax range, where a scalar Mathf.exp per element was the attention kernel's main cost.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_MAX: f32 = 88.3762626647949;
const EXP_MIN: f32 = -87.3365447505531; // below this e^x is subnormal: the result flushes to ~1e-38

// @ts-ignore: decorator
@inline
export function expf4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_MIN)), f32x4.splat(EXP_MAX));
  // n = round(x / ln 2), r = x − n·ln 2 in two steps (exact high part, small correction).
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, f32x4.mul(r, r)), r), f32x4.splat(1));
  // 2^n built in the exponent field.
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

/**
 * tanh, four lanes: sign(x)·(1 − e^(−2|x|)) / (1 + e^(−2|x|)). Never overflows (e ≤ 1), so large
 * arguments give exactly ±1; the absolute error stays within a few 1e-8, which is what the two
 * users need (attention/logit soft-capping multiplies it by the cap, GELU adds it to 1).
 * gpu/act.wgsl and gpu/attention.wgsl use the same formula.
 */
// @ts-ignore: decorator
@inline
export function tanhf4(x: v128): v128 {
  const e = expf4(f32x4.mul(f32x4.abs(x), f32x4.splat(-2)));
  const one = f32x4.splat(1);
  const t = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  // Copy x's sign bit onto |tanh|.
  return v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
}

// gpu/numerics.wgsl: correctly rounded f32 multiply/divide by integer emulation, and the
// double-float operations, against JavaScript's f64 arithmetic (f64 then fround is a correct
// f32 rounding for + - * / of f32 inputs: 53 ≥ 2·24 + 2).
import { describe, expect, it } from 'vitest';
import { rng } from '../support/random.js';
import { runWords, testGpu } from './helpers.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);
const floatOf = (b: number) => ((u32[0] = b), f32[0]);

/** Random f32 bit patterns over every exponent (subnormals, huge, tiny), plus special values. */
function operands(n: number, seed: number): Uint32Array {
  const next = rng(seed);
  const specials = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x3f800000, 0x40000000, 0x3f7fffff];
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.04) out[i] = specials[Math.floor(next() * specials.length)];
    else if (r < 0.15) out[i] = Math.floor(next() * 0x00800000) | (next() < 0.5 ? 0x80000000 : 0); // subnormal
    else if (r < 0.5) out[i] = Math.floor(next() * 2 ** 32) >>> 0 & 0xff7fffff; // any finite exponent
    else out[i] = bitsOf(Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 40 - 20)));
  }
  return out;
}

const sameFloat = (got: number, want: number) => (Number.isNaN(floatOf(want)) ? got === 0x7fc00000 : got === want);

describe('correctly rounded f32 mul and div (integer emulation in WGSL)', () => {
  it('equals Math.fround(a*b) and Math.fround(a/b) bit for bit, subnormals and specials included', async () => {
    const gpu = await testGpu();
    const n = 40000;
    const a = operands(n, 1);
    const b = operands(n, 2);
    // Ratios whose quotient lands in the subnormal range or overflows, and exact halfway cases.
    for (let i = 0; i < 2000; i++) {
      a[i] = (a[i] & 0x807fffff) | (((i % 40) + 1) << 23);
      b[i] = (b[i] & 0x807fffff) | ((200 + (i % 54)) << 23);
    }
    const input = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) [input[2 * i], input[2 * i + 1]] = [a[i], b[i]];
    const out = await runWords(gpu, 'test_cr', `
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  OPAQUE_ZERO = params.x;
  let i = g.x;
  if (i >= arrayLength(&inp) / 2u) { return; }
  outp[2u * i] = f32_mul_cr(inp[2u * i], inp[2u * i + 1u]);
  outp[2u * i + 1u] = f32_div_cr(inp[2u * i], inp[2u * i + 1u]);
}`, input, 2 * n, n);
    let badMul = 0;
    let badDiv = 0;
    const examples: string[] = [];
    for (let i = 0; i < n; i++) {
      const x = floatOf(a[i]);
      const y = floatOf(b[i]);
      const m = bitsOf(Math.fround(x * y));
      const d = bitsOf(Math.fround(x / y));
      if (!sameFloat(out[2 * i], m)) {
        badMul++;
        if (examples.length < 5) examples.push(`${x} * ${y}: got ${floatOf(out[2 * i])} want ${floatOf(m)}`);
      }
      if (!sameFloat(out[2 * i + 1], d)) {
        badDiv++;
        if (examples.length < 5) examples.push(`${x} / ${y}: got ${floatOf(out[2 * i + 1])} want ${floatOf(d)}`);
      }
    }
    expect(examples).toEqual([]);
    expect(badMul + badDiv).toBe(0);
    // The inputs did reach the hard cases.
    expect(Array.from({ length: n }, (_, i) => out[2 * i + 1]).filter((q) => q !== 0 && (q & 0x7f800000) === 0).length).toBeGreaterThan(100);
  });
});

describe('double-float arithmetic', () => {
  it('two_prod is exact and df_mul_f / sums / df_div_f are accurate to ~2^-46 of f64', async () => {
    const gpu = await testGpu();
    const next = rng(7);
    const n = 4096;
    const w = Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * 16 - 8));
    const s64 = Float64Array.from({ length: n }, () => (next() - 0.5) * 2 ** Math.floor(next() * 20 - 4));
    const hi = Float32Array.from(s64, (x) => Math.fround(x));
    const lo = Float32Array.from(s64, (x, i) => Math.fround(x - hi[i]));
    const input = new Uint32Array(3 * n);
    const view = new Float32Array(input.buffer);
    for (let i = 0; i < n; i++) [view[3 * i], view[3 * i + 1], view[3 * i + 2]] = [w[i], hi[i], lo[i]];
    // out per i: two_prod(w, hi) (2), df_mul_f (2), running sum of df_mul_f over 0..i by one thread (2 at the end), df_div_f(df, 7) (2)
    const out = await runWords(gpu, 'test_df', `
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  OPAQUE_ZERO = params.x;
  let n = arrayLength(&inp) / 3u;
  let i = g.x;
  if (i >= n) { return; }
  let w = bitcast<f32>(inp[3u * i]);
  let s = vec2<f32>(bitcast<f32>(inp[3u * i + 1u]), bitcast<f32>(inp[3u * i + 2u]));
  let p = two_prod(w, s.x);
  let d = df_mul_f(s, w);
  let q = df_div_f(d, 7.0);
  outp[8u * i] = bitcast<u32>(p.x);
  outp[8u * i + 1u] = bitcast<u32>(p.y);
  outp[8u * i + 2u] = bitcast<u32>(d.x);
  outp[8u * i + 3u] = bitcast<u32>(d.y);
  outp[8u * i + 6u] = bitcast<u32>(q.x);
  outp[8u * i + 7u] = bitcast<u32>(q.y);
  if (i == 0u) {
    var acc = vec2<f32>(0.0, 0.0);
    for (var j = 0u; j < n; j = j + 1u) {
      let wj = bitcast<f32>(inp[3u * j]);
      let sj = vec2<f32>(bitcast<f32>(inp[3u * j + 1u]), bitcast<f32>(inp[3u * j + 2u]));
      acc = df_add(acc, df_mul_f(sj, wj));
      if (j % 3u == 0u) { acc = df_add_f(acc, wj); }
    }
    outp[8u * i + 4u] = bitcast<u32>(acc.x);
    outp[8u * i + 5u] = bitcast<u32>(acc.y);
  }
}`, input, 8 * n, n);
    const o = new Float32Array(out.buffer);
    let sum = 0;
    let sumAbs = 0;
    for (let i = 0; i < n; i++) {
      // two_prod: p + err equals the exact product (representable in f64: 24 + 24 bits).
      expect(o[8 * i] + o[8 * i + 1]).toBe(w[i] * hi[i]);
      expect(o[8 * i]).toBe(Math.fround(w[i] * hi[i]));
      const d = w[i] * s64[i];
      expect(Math.abs(o[8 * i + 2] + o[8 * i + 3] - d)).toBeLessThanOrEqual(Math.abs(d) * 2 ** -45);
      const q = (o[8 * i + 2] + o[8 * i + 3]) / 7;
      expect(Math.abs(o[8 * i + 6] + o[8 * i + 7] - q)).toBeLessThanOrEqual(Math.abs(q) * 2 ** -44);
      sum += d;
      sumAbs += Math.abs(d);
      if (i % 3 === 0) {
        sum += w[i];
        sumAbs += Math.abs(w[i]);
      }
    }
    expect(Math.abs(o[4] + o[5] - sum)).toBeLessThanOrEqual(sumAbs * 2 ** -40);
    // Far better than f32 accumulation would be.
    expect(Math.abs(o[5])).toBeGreaterThan(0);
  });
});

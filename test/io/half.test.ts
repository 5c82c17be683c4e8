// 16-bit float conversions against plain references written here: exhaustive for decoding,
// seeded random (plus the edge cases) for round-to-nearest-even encoding.
import { describe, expect, it } from 'vitest';
import { decodeBF16, decodeF16, encodeBF16, encodeF16, floatBitsToBFloat16, floatBitsToHalf } from '../../src/io/half.js';
import { rng } from '../support/random.js';

/** Value of a half bit pattern, by the definition (no bit tricks). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function bf16Value(h: number): number {
  const f = new Float32Array(new Uint32Array([h << 16]).buffer);
  return f[0];
}

/** Round x to the nearest representable value in a sorted table, ties to the even pattern. */
function nearest(x: number, values: Float64Array, patterns: Uint16Array, infinity: number, overflowAt: number): number {
  if (x >= overflowAt) return infinity;
  let lo = 0;
  let hi = values.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid;
    else hi = mid;
  }
  const dl = x - values[lo];
  const dh = values[hi] - x;
  if (dl < dh) return patterns[lo];
  if (dh < dl) return patterns[hi];
  return (patterns[lo] & 1) === 0 ? patterns[lo] : patterns[hi];
}

describe('F16', () => {
  it('decodes all 65,536 patterns to the value the definition gives', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = new Float32Array(65536).fill(12345);
    decodeF16(new Uint8Array(all.buffer), out);
    for (let h = 0; h < 65536; h++) {
      const v = halfValue(h);
      if (Number.isNaN(v)) expect(Number.isNaN(out[h]), `0x${h.toString(16)}`).toBe(true);
      else if (out[h] !== v || Object.is(out[h], -0) !== Object.is(v, -0)) expect(out[h], `0x${h.toString(16)}`).toBe(v);
    }
  });

  it('decode → encode gives back every pattern, NaN payloads included', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = new Float32Array(65536);
    decodeF16(new Uint8Array(all.buffer), f);
    const back = new Uint16Array(encodeF16(f).buffer);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) if (back[h] !== h) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('encodes float32 with round-to-nearest-even, subnormals, overflow to Inf', () => {
    // Sorted table of all non-negative finite halves.
    const patterns = new Uint16Array(0x7c00).map((_, i) => i);
    const values = Float64Array.from(patterns, halfValue);
    const overflowAt = 65520; // halfway between 65504 and 2^16: ties round to even = Inf
    const next = rng(1);
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const cases: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      // Random exponents over the whole half range and beyond; random mantissas.
      const e = Math.floor(next() * 50) + 127 - 30;
      cases.push(((next() < 0.5 ? 1 : 0) << 31 | (e << 23) | Math.floor(next() * 0x800000)) >>> 0);
    }
    for (const v of [0, 0x80000000, 0x3f800000, 0x477fe000, 0x477ff000, 0x477fefff, 0x33800000, 0x33000000, 0x33000001, 0x387fc000, 0x7f800000, 0xff800000, 1]) cases.push(v >>> 0);
    for (const c of cases) {
      bits[0] = c;
      const x = f[0];
      const expected = (c & 0x80000000 ? 0x8000 : 0) | nearest(Math.abs(x), values, patterns, 0x7c00, overflowAt);
      const got = floatBitsToHalf(c);
      if (got !== expected) expect(got.toString(16), `f32 ${c.toString(16)} = ${x}`).toBe(expected.toString(16));
    }
  });

  it('keeps NaN a NaN when the payload would shift out', () => {
    expect(floatBitsToHalf(0x7f800001) & 0x7c00).toBe(0x7c00);
    expect(floatBitsToHalf(0x7f800001) & 0x3ff).not.toBe(0);
    expect(floatBitsToHalf(0xffc00000)).toBe(0xfe00);
  });
});

describe('BF16', () => {
  it('decodes by shifting, every pattern', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = new Float32Array(65536);
    decodeBF16(new Uint8Array(all.buffer), out);
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 65536; h += 1) if (bits[h] !== h << 16 >>> 0) expect(bits[h]).toBe(h << 16 >>> 0);
  });

  it('encodes with round-to-nearest-even against a nearest-value reference; NaN stays NaN', () => {
    const patterns = new Uint16Array(0x7f80).map((_, i) => i);
    const values = Float64Array.from(patterns, bf16Value);
    const overflowAt = (bf16Value(0x7f7f) + 2 ** 128) / 2;
    const next = rng(2);
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    for (let i = 0; i < 200_000; i++) {
      const c = (next() * 2 ** 32) >>> 0;
      bits[0] = c;
      const x = f[0];
      const got = floatBitsToBFloat16(c);
      if (Number.isNaN(x)) {
        expect((got & 0x7f80) === 0x7f80 && (got & 0x7f) !== 0, c.toString(16)).toBe(true);
        continue;
      }
      const expected = (c & 0x80000000 ? 0x8000 : 0) | nearest(Math.abs(x), values, patterns, 0x7f80, overflowAt);
      if (got !== expected) expect(got.toString(16), `f32 ${c.toString(16)}`).toBe(expected.toString(16));
    }
    expect(floatBitsToBFloat16(0x7f800001)).toBe(0x7f80 | 0x40);
    const roundTrip = new Float32Array([1.5, -2, Infinity, -Infinity, 0, -0]);
    const back = new Float32Array(roundTrip.length);
    decodeBF16(encodeBF16(roundTrip), back);
    expect(back).toEqual(roundTrip);
  });
});

// 16-bit floats ⇄ float32, bit-exact. Everything works on integer views so NaN payloads survive
// (a Float32Array store of a JS number may canonicalise NaN; a Uint32Array store never does).

let f16Table: Uint32Array | null = null;

/** float32 bit patterns of all 65,536 half-precision values (256 KiB, built once on first use). */
function halfToFloatTable(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      t[h] = sign | 0x7f800000 | (mant << 13); // Inf / NaN, payload kept
    } else if (exp !== 0) {
      t[h] = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant === 0) {
      t[h] = sign; // ±0
    } else {
      // Subnormal half: normalise into a float32 (always representable).
      let e = 113;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      t[h] = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
  }
  f16Table = t;
  return t;
}

/** Decode `count` little-endian F16 values from `bytes` into float32 bit patterns in `out`. */
export function decodeF16(bytes: Uint8Array, out: Float32Array): void {
  const table = halfToFloatTable();
  const src = u16View(bytes);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = dst.length; // hoisted: a length read per iteration costs ~40% here
  for (let i = 0; i < n; i++) dst[i] = table[src[i]];
}

/** Decode little-endian BF16 (the top half of a float32) by a 16-bit shift. */
export function decodeBF16(bytes: Uint8Array, out: Float32Array): void {
  const src = u16View(bytes);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = dst.length;
  for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
}

/** float32 bits → half bits, round to nearest even; overflow → ±Inf; NaN stays NaN (payload's top bits kept). */
export function floatBitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m); // a NaN whose payload shifts out becomes a quiet NaN
  }
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const full = mant | 0x800000;
    const shift = 14 - e;
    const m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (m + (rem > half || (rem === half && (m & 1)) ? 1 : 0));
  }
  const m = mant >>> 13;
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to Inf: exactly what RNE wants.
  return (sign | (e << 10) | m) + (rem > 0x1000 || (rem === 0x1000 && (m & 1)) ? 1 : 0);
}

/** float32 bits → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function floatBitsToBFloat16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const h = x >>> 16;
    return (h & 0x7f) === 0 ? h | 0x40 : h;
  }
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** Encode float32 values as little-endian F16 bytes: into `into` (2 bytes a value, returned) or a new array. */
export function encodeF16(values: Float32Array, into?: Uint8Array): Uint8Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = halfTarget(values.length, into);
  const n = src.length;
  for (let i = 0; i < n; i++) out[i] = floatBitsToHalf(src[i]);
  return into ?? new Uint8Array(out.buffer);
}

/** Encode float32 values as little-endian BF16 bytes: into `into` (2 bytes a value, returned) or a new array. */
export function encodeBF16(values: Float32Array, into?: Uint8Array): Uint8Array {
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = halfTarget(values.length, into);
  const n = src.length;
  for (let i = 0; i < n; i++) out[i] = floatBitsToBFloat16(src[i]);
  return into ?? new Uint8Array(out.buffer);
}

/** 16-bit words to encode n values into: the caller's bytes (a reused buffer) or new ones. */
function halfTarget(n: number, into: Uint8Array | undefined): Uint16Array {
  if (!into) return new Uint16Array(n);
  if (into.length !== 2 * n || into.byteOffset % 2 !== 0) {
    throw new RangeError(`encode: ${n} values need ${2 * n} bytes at an even offset (got ${into.length} at ${into.byteOffset})`);
  }
  return new Uint16Array(into.buffer, into.byteOffset, n);
}

function u16View(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return new Uint16Array(bytes.slice().buffer, 0, bytes.length >> 1); // unaligned: copy once
}

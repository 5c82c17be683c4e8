// The portable SHA-256 (browsers: @noble/hashes behind our interface) agrees with node:crypto on random data fed in random pieces,
// across the block and padding boundaries (55, 56, 63, 64 bytes …), and on the FIPS vectors.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSha256, PortableSha256, sha256 } from '../../src/io/sha256.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('sha256', () => {
  it('FIPS 180-4 vectors', async () => {
    const p = (s: string) => { const h = new PortableSha256(); h.update(new TextEncoder().encode(s)); return h.hex(); };
    expect(p('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(p('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(p('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(await sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('equals node:crypto on random lengths, fed in random pieces', async () => {
    const r = rng(7);
    const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099, ...Array.from({ length: 20 }, () => Math.floor(r() * 20_000))];
    for (const n of lengths) {
      const data = new Uint8Array(n).map(() => Math.floor(r() * 256));
      const portable = new PortableSha256();
      const native = await createSha256();
      for (let at = 0; at < n;) {
        const k = Math.min(n - at, Math.floor(r() * 200));
        portable.update(data.subarray(at, at + k));
        native.update(data.subarray(at, at + k));
        at += k;
      }
      const want = createHash('sha256').update(data).digest('hex');
      expect(portable.hex(), `length ${n}`).toBe(want);
      expect(native.hex(), `length ${n}`).toBe(want);
    }
  });
});

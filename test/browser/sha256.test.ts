// In a browser there is no node:crypto: createSha256 must hand out the portable hasher, and it
// must give the standard digests, fed in pieces across block boundaries (the output writer's
// integrity hashes depend on it).
import { describe, expect, it } from 'vitest';
import { createSha256, sha256 } from '../../src/io/sha256.js';

describe('sha256 in the browser', () => {
  it('gives the FIPS 180-4 digests through the portable hasher', async () => {
    expect(await sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const h = await createSha256();
    const text = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    for (let at = 0; at < text.length; at += 7) h.update(text.subarray(at, at + 7));
    expect(h.hex()).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('agrees with Web Crypto on random bytes', async () => {
    let s = 12345;
    const data = new Uint8Array(70_001).map(() => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 24));
    const h = await createSha256();
    for (let at = 0; at < data.length; at += 4093) h.update(data.subarray(at, at + 4093));
    const want = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(h.hex()).toBe(want);
  });
});

// Incremental SHA-256 of the bytes of a tensor or a file. Web Crypto has no streaming digest,
// and a large tensor (an embedding table, an lm head) is written and re-read in pieces, never
// whole; so: node:crypto's hash where the runtime has one (Node, Deno: fast, native), else a
// plain FIPS 180-4 implementation (browsers: only tensors written through a sink, a few MB/s
// cost that is small next to the pruning). Both give the standard digest, so a tensor's hash can
// be recomputed by any tool (`sha256sum` over the byte range).

export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** Lowercase hex; the hasher is finished afterwards. */
  hex(): string;
}

type NodeCrypto = typeof import('node:crypto');
let nodeCrypto: Promise<NodeCrypto | null> | null = null;

function loadNodeCrypto(): Promise<NodeCrypto | null> {
  const isNodeLike = typeof process !== 'undefined' && typeof process.versions === 'object' && process.versions !== null
    && (typeof process.versions.node === 'string' || typeof (process.versions as Record<string, unknown>).deno === 'string');
  nodeCrypto ??= isNodeLike ? import('node:crypto').catch(() => null) : Promise.resolve(null);
  return nodeCrypto;
}

/** A new hasher: node:crypto's where available, else the portable one. */
export async function createSha256(): Promise<Sha256> {
  const c = await loadNodeCrypto();
  if (!c) return new PortableSha256();
  const h = c.createHash('sha256');
  return { update: (b) => void h.update(b), hex: () => h.digest('hex') };
}

/** SHA-256 of some bytes (or UTF-8 text), as lowercase hex. */
export async function sha256(bytes: Uint8Array | string): Promise<string> {
  const h = await createSha256();
  h.update(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  return h.hex();
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 SHA-256 in plain TypeScript (exported for its test against node:crypto). */
export class PortableSha256 implements Sha256 {
  private readonly h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private readonly block = new Uint8Array(64);
  private readonly w = new Uint32Array(64);
  private filled = 0;
  private length = 0;

  update(bytes: Uint8Array): void {
    this.length += bytes.length;
    let at = 0;
    if (this.filled > 0) {
      const n = Math.min(64 - this.filled, bytes.length);
      this.block.set(bytes.subarray(0, n), this.filled);
      this.filled += n;
      at = n;
      if (this.filled < 64) return;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    // Whole blocks straight from the input; the tail waits in `block`.
    for (; at + 64 <= bytes.length; at += 64) this.compress(bytes, at);
    this.block.set(bytes.subarray(at), 0);
    this.filled = bytes.length - at;
  }

  hex(): string {
    const bits = this.length * 8;
    const pad = new Uint8Array(((this.filled < 56 ? 56 : 120) - this.filled) + 8);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    // The message length in bits, big-endian over 64 bits (2^53 bits is far beyond any file).
    view.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(pad.length - 4, bits >>> 0);
    const length = this.length;
    this.update(pad);
    this.length = length;
    return [...this.h].map((v) => v.toString(16).padStart(8, '0')).join('');
  }

  private compress(b: Uint8Array, at: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const o = at + 4 * i;
      w[i] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const h = this.h;
    let [a, bb, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
}

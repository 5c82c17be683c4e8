// Incremental SHA-256 of the bytes of a tensor or a file. Web Crypto has no streaming digest,
// and a large tensor (an embedding table, an lm head) is written and re-read in pieces, never
// whole; so: node:crypto's hash where the runtime has one (Node, Deno: fast, native), else
// @noble/hashes' streaming SHA-256 (browsers: only tensors written through a sink; its cost is
// small next to the pruning). Both give the standard digest, so a tensor's hash can
// be recomputed by any tool (`sha256sum` over the byte range).

import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

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

/** The browsers' hasher: @noble/hashes' audited streaming SHA-256 (pure JS, no dependencies). */
export class PortableSha256 implements Sha256 {
  private readonly h = nobleSha256.create();

  update(bytes: Uint8Array): void {
    this.h.update(bytes);
  }

  hex(): string {
    return bytesToHex(this.h.digest());
  }
}

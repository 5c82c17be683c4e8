// What a finished output must hold, as hashes: every tensor's bytes, every shard's header, every
// side file, and one content hash over them all. prune() records them while writing (the report's
// `integrity`), checks the written shards against them before the final rename (a torn or
// overwritten file is caught before it is published), and `dsnot verify` checks a finished folder
// against them. The shard scan below serves both.
import { SafetensorsError, headerLength, parseHeader, type SafetensorsDType, type TensorEntry } from '../io/safetensors.js';
import { createSha256, sha256 } from '../io/sha256.js';

/** The report's `integrity` field. All hashes are SHA-256, lowercase hex, of the raw bytes. */
export interface Integrity {
  algorithm: 'sha256';
  /** Each tensor's bytes as stored in its shard, by tensor name. */
  tensors: Record<string, string>;
  /** Each shard's header: the 8-byte length prefix and the JSON, by shard file. */
  headers: Record<string, string>;
  /** Side files (config, tokenizer) and the index, whole, by file name. */
  files: Record<string, string>;
  /** SHA-256 of the lines `header F H`, `tensor N H`, `file F H`, each kind sorted by name, joined by '\n'. */
  contentHash: string;
}

const sortedLines = (kind: string, m: Record<string, string>) => Object.keys(m).sort().map((k) => `${kind} ${k} ${m[k]}`);

export async function contentHashOf(i: Pick<Integrity, 'tensors' | 'headers' | 'files'>): Promise<string> {
  return sha256([...sortedLines('header', i.headers), ...sortedLines('tensor', i.tensors), ...sortedLines('file', i.files)].join('\n'));
}

export async function makeIntegrity(tensors: Record<string, string>, headers: Record<string, string>, files: Record<string, string>): Promise<Integrity> {
  const sort = (m: Record<string, string>) => Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
  const parts = { tensors: sort(tensors), headers: sort(headers), files: sort(files) };
  return { algorithm: 'sha256', ...parts, contentHash: await contentHashOf(parts) };
}

/** Read access to the files being checked (a Source fits). */
export interface ReadableFiles {
  size(file: string): Promise<number | null>;
  read(file: string, offset: number, length: number): Promise<Uint8Array>;
}

export interface ScannedTensor {
  entry: TensorEntry;
  hash: string;
  /** Exact zeros (floating-point dtypes; -0 counts), else null. */
  zeros: number | null;
}

/** Bytes per read while hashing: big tensors pass through in pieces, never whole. */
const PIECE = 16 * 2 ** 20;

/**
 * Parse one shard's header and hash its tensors (all, or those in `only`), counting zeros on
 * the way. Throws SafetensorsError when the file is missing or its header is damaged.
 */
export async function scanShard(files: ReadableFiles, file: string, only?: ReadonlySet<string>): Promise<{ headerHash: string; tensors: Map<string, ScannedTensor> }> {
  const size = await files.size(file);
  if (size === null) throw new SafetensorsError(`${file}: missing`);
  let header;
  let headerBytes: Uint8Array;
  try {
    const prefix = await files.read(file, 0, Math.min(8, size));
    const n = headerLength(prefix, size);
    const json = await files.read(file, 8, n);
    header = parseHeader(json, size - 8 - n);
    headerBytes = new Uint8Array(8 + n);
    headerBytes.set(prefix, 0);
    headerBytes.set(json, 8);
  } catch (e) {
    throw new SafetensorsError(`${file}: ${(e as Error).message}`);
  }
  const tensors = new Map<string, ScannedTensor>();
  for (const entry of header.tensors) {
    if (only && !only.has(entry.name)) continue;
    const hash = await createSha256();
    const counter = zeroCounter(entry.dtype);
    for (let at = entry.begin; at < entry.end; at += PIECE) {
      const piece = await files.read(file, header.dataStart + at, Math.min(PIECE, entry.end - at));
      hash.update(piece);
      counter?.add(piece);
    }
    tensors.set(entry.name, { entry, hash: hash.hex(), zeros: counter ? counter.zeros : null });
  }
  return { headerHash: await sha256(headerBytes), tensors };
}

/** Counts ±0 in little-endian float bytes (pieces hold whole elements: PIECE is a multiple of 8). */
function zeroCounter(dtype: SafetensorsDType): { add(piece: Uint8Array): void; zeros: number } | null {
  const size = dtype === 'F64' ? 8 : dtype === 'F32' ? 4 : dtype === 'F16' || dtype === 'BF16' ? 2 : 0;
  if (!size) return null;
  const c = {
    zeros: 0,
    add(piece: Uint8Array) {
      const v = new DataView(piece.buffer, piece.byteOffset, piece.byteLength);
      for (let i = 0; i + size <= piece.length; i += size) {
        const zero = size === 2 ? (v.getUint16(i, true) & 0x7fff) === 0
          : size === 4 ? (v.getUint32(i, true) & 0x7fffffff) === 0
            : v.getUint32(i, true) === 0 && (v.getUint32(i + 4, true) & 0x7fffffff) === 0;
        if (zero) c.zeros++;
      }
    },
  };
  return c;
}

/**
 * Check written shards against the hashes recorded while writing: each header, and each tensor
 * (the set of names too). Returns one line per problem (empty: all good).
 */
export async function checkShards(
  files: ReadableFiles, headers: Record<string, string>, tensors: Record<string, string>,
): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of Object.keys(headers)) {
    let scanned;
    try {
      scanned = await scanShard(files, file);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (scanned.headerHash !== headers[file]) problems.push(`${file}: its header differs from the one written`);
    for (const [name, t] of scanned.tensors) {
      seen.add(name);
      if (!(name in tensors)) problems.push(`${file}: tensor ${name} was never written`);
      else if (t.hash !== tensors[name]) problems.push(`${file}: tensor ${name} differs from the bytes written (sha256 ${t.hash.slice(0, 12)}…, expected ${tensors[name].slice(0, 12)}…)`);
    }
  }
  for (const name of Object.keys(tensors)) if (!seen.has(name)) problems.push(`tensor ${name} is in no shard`);
  return problems;
}

/**
 * Check that the tensors in `expected` sit, with those hashes, in some of `shards` (a resumed
 * run's partial files, whose other tensors may be unwritten). Returns one line per problem.
 */
export async function checkTensorsIn(files: ReadableFiles, shards: readonly string[], expected: Record<string, string>): Promise<string[]> {
  const want = new Set(Object.keys(expected));
  const problems: string[] = [];
  const unreadable: string[] = [];
  const found = new Set<string>();
  for (const file of shards) {
    let scanned;
    try {
      scanned = await scanShard(files, file, want);
    } catch (e) {
      // A shard whose header was never written holds nothing finished: a problem only if a
      // finished tensor is then missing.
      unreadable.push((e as Error).message);
      continue;
    }
    for (const [name, t] of scanned.tensors) {
      found.add(name);
      if (t.hash !== expected[name]) problems.push(`${file}: tensor ${name} differs from the bytes written`);
    }
  }
  const missing = [...want].filter((n) => !found.has(n));
  if (missing.length) problems.push(`${missing.length} finished tensor(s) are in no readable shard, e.g. ${missing[0]}${unreadable.length ? ` (${unreadable[0]})` : ''}`);
  return problems;
}

/** SHA-256 of a whole file, read in pieces. */
export async function hashFile(files: ReadableFiles, file: string): Promise<{ size: number; hash: string } | null> {
  const size = await files.size(file);
  if (size === null) return null;
  const h = await createSha256();
  for (let at = 0; at < size; at += PIECE) h.update(await files.read(file, at, Math.min(PIECE, size - at)));
  return { size, hash: h.hex() };
}

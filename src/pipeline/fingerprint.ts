// The fingerprint of a prune run: a SHA-256 over everything that determines its output bytes.
// A resumed run continues only when its fingerprint equals the interrupted one's.
//   model        weight files (names, sizes, the first and last MiB of each), every tensor's
//                name/dtype/shape, config.json: a model replaced under the same path is noticed
//                without reading all of it
//   options      sparsity, init, refinement and its options, skip, seqlen, seed, nsamples
//   calibration  the token windows themselves
//   evaluation   the evaluation token ids, seqlen and protocol (when asked for)
//   device       the backend kind that runs (wasm and WebGPU round the forward pass differently)
import type { OpenedModel } from '../io/model.js';

/** Bumped whenever the partial-state layout or the pipeline's arithmetic changes. */
export const PIPELINE_VERSION = 3;

const EDGE_BYTES = 1 << 20;

export async function sha256Hex(...parts: Array<Uint8Array | string>): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const total = new Uint8Array(chunks.reduce((n, c) => n + c.length + 8, 0));
  let at = 0;
  for (const c of chunks) {
    // Length-prefixed so that ('ab','c') and ('a','bc') differ.
    new DataView(total.buffer).setFloat64(at, c.length);
    total.set(c, at + 8);
    at += c.length + 8;
  }
  const digest = await crypto.subtle.digest('SHA-256', total as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Token id arrays as int32 bytes with their lengths. */
export function idsBytes(arrays: ReadonlyArray<ArrayLike<number>>): Uint8Array {
  const n = arrays.reduce((s, a) => s + a.length + 1, 0);
  const out = new Int32Array(n);
  let at = 0;
  for (const a of arrays) {
    out[at++] = a.length;
    for (let i = 0; i < a.length; i++) out[at++] = a[i];
  }
  return new Uint8Array(out.buffer);
}

/** The files holding the weights (llama2.c: the .bin; safetensors: the shards and the index). */
export function weightFiles(model: OpenedModel): string[] {
  const r = model.reader as { file?: unknown };
  if (model.format === 'llama2c' && typeof r.file === 'string') return [r.file];
  const files = model.reader.layout.shards.map((s) => s.file);
  if (model.reader.layout.indexMetadata) files.push('model.safetensors.index.json');
  return files;
}

export async function modelIdentity(model: OpenedModel, signal?: AbortSignal): Promise<string> {
  const files: Array<{ name: string; size: number; head: string; tail: string }> = [];
  for (const name of weightFiles(model)) {
    const size = await model.source.size(name);
    if (size === null) continue;
    const n = Math.min(size, EDGE_BYTES);
    const head = await sha256Hex(await model.source.read(name, 0, n, { signal }));
    const tail = await sha256Hex(await model.source.read(name, size - n, n, { signal }));
    files.push({ name, size, head, tail });
  }
  const tensors = model.reader.tensors.map((t) => [t.name, t.dtype, t.shape.join('x')].join(' '));
  return sha256Hex(JSON.stringify({ format: model.format, files, config: model.config }), tensors.join('\n'));
}

/**
 * The input's weight files as name, size and modification time (mtime where the source is a
 * local path; size alone for URLs and Blobs). Cheap (one stat per file), so it is taken again
 * before every layer and before the commit: a model replaced or rewritten during a run is
 * noticed there, which the fingerprint's edge bytes alone would miss in the middle of a file.
 */
export async function inputStamp(model: OpenedModel): Promise<string> {
  const files = weightFiles(model);
  const local = await localStat(model.source.location);
  const parts: string[] = [];
  for (const name of files) {
    if (local) {
      const s = await local(name);
      parts.push(`${name} ${s ? `${s.size} ${s.mtimeMs}` : 'missing'}`);
    } else {
      parts.push(`${name} ${(await model.source.size(name).catch(() => null)) ?? 'missing'}`);
    }
  }
  return parts.join('\n');
}

/** stat() of files in a local folder (Node/Deno path sources), or null elsewhere. */
async function localStat(location: string): Promise<((name: string) => Promise<{ size: number; mtimeMs: number } | null>) | null> {
  if (typeof process === 'undefined' || !/^(\/|[A-Za-z]:[\\/])/.test(location)) return null;
  try {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    return (name) => fs.stat(path.join(location, name)).then((s) => ({ size: s.size, mtimeMs: s.mtimeMs }), () => null);
  } catch {
    return null;
  }
}

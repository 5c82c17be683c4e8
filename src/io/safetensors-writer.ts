// Write a model as safetensors, tensor by tensor, in any order: the plan (names, dtypes, shapes,
// shard files) fixes every header and every offset up front, so each tensor goes straight to
// its place and only one tensor is ever held. Files are committed (renamed into place) only in
// finish(), after every planned tensor was written: an interrupted run leaves no file under a
// final name. The index file, when there is one, is committed last.
import { WriterError } from './errors.js';
import { encodeBF16, encodeF16 } from './half.js';
import type { ModelReader } from './model-reader.js';
import { DTYPE_BYTES, encodeHeader, type SafetensorsDType } from './safetensors.js';
import { INDEX_FILE } from './safetensors-reader.js';
import type { Sink, SinkFile } from './sink.js';
import type { ReadOptions } from './source.js';
import { createSha256, sha256 } from './sha256.js';

export interface PlannedTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
}

export interface PlannedShard {
  file: string;
  metadata: Record<string, string>;
  /** In the order their bytes will sit in the file. */
  tensors: PlannedTensor[];
}

export interface WritePlan {
  shards: PlannedShard[];
  /** Write model.safetensors.index.json (with this `metadata`; total_size is recomputed). Null: no index. */
  index: { file: string; metadata: Record<string, unknown> } | null;
}

export interface PlanOptions {
  /** Store every floating-point tensor in this dtype instead of the input's (default: keep). */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

const FLOATS = new Set<SafetensorsDType>(['F64', 'F32', 'F16', 'BF16']);

/** The input's layout: same shard files, same names in the same order, same dtypes and metadata. */
export function planFromReader(reader: ModelReader, options: PlanOptions = {}): WritePlan {
  const shards = reader.layout.shards.map((s) => ({
    file: s.file,
    metadata: { ...s.metadata },
    tensors: s.tensors.map((name) => {
      const t = reader.info(name)!;
      const dtype = options.floatDtype && FLOATS.has(t.dtype) ? options.floatDtype : t.dtype;
      return { name, dtype, shape: t.shape };
    }),
  }));
  const index = reader.layout.indexMetadata ? { file: INDEX_FILE, metadata: { ...reader.layout.indexMetadata } } : null;
  return { shards, index };
}

interface Slot {
  shard: number;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute offset in the shard file. */
  offset: number;
  bytes: number;
  written: boolean;
  /** SHA-256 of the bytes handed to the sink (set once the tensor is written). */
  hash: string | null;
}

export class SafetensorsWriter {
  private readonly slots = new Map<string, Slot>();
  private readonly headers: Uint8Array[] = [];
  private readonly sizes: number[] = [];
  private readonly files: Array<Promise<SinkFile> | null>;
  private remaining: number;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(private readonly sink: Sink, readonly plan: WritePlan) {
    const names = new Set<string>();
    for (const [i, shard] of plan.shards.entries()) {
      if (names.has(shard.file)) throw new WriterError(`shard file ${shard.file} is planned twice`);
      names.add(shard.file);
      const header = encodeHeader(shard.tensors, shard.metadata);
      let offset = header.length;
      for (const t of shard.tensors) {
        if (this.slots.has(t.name)) throw new WriterError(`tensor "${t.name}" is planned twice`);
        const bytes = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
        this.slots.set(t.name, { shard: i, dtype: t.dtype, shape: t.shape, offset, bytes, written: false, hash: null });
        offset += bytes;
      }
      this.headers.push(header);
      this.sizes.push(offset);
    }
    if (plan.index && names.has(plan.index.file)) throw new WriterError(`index file ${plan.index.file} is also a shard`);
    this.files = plan.shards.map(() => null);
    this.remaining = this.slots.size;
  }

  /** Names of planned tensors not written yet. */
  pending(): string[] {
    return [...this.slots].filter(([, s]) => !s.written).map(([n]) => n);
  }

  /**
   * Count tensors as written without writing them: their bytes are already in the sink's files
   * (a resumed prune run whose sink reopens the files an interrupted run left). `hashes` are the
   * SHA-256 recorded when they were written (the journal's), checked again before commit.
   */
  markWritten(names: Iterable<string>, hashes: Readonly<Record<string, string>>): void {
    for (const name of names) {
      const slot = this.slot(name);
      const hash = hashes[name];
      if (typeof hash !== 'string') throw new WriterError(`tensor "${name}" is marked written without its hash`);
      slot.written = true;
      slot.hash = hash;
      this.remaining--;
    }
  }

  /** SHA-256 (hex) of every tensor written so far, by name. */
  tensorHashes(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, s] of this.slots) if (s.written && s.hash) out[name] = s.hash;
    return out;
  }

  /** Each shard's header bytes (length prefix + JSON), which finish() writes at offset 0. */
  headerBytes(): Array<{ file: string; bytes: Uint8Array }> {
    return this.plan.shards.map((s, i) => ({ file: s.file, bytes: this.headers[i] }));
  }

  /** The index file finish() writes (sharded plans), or null. */
  indexFile(): { file: string; bytes: Uint8Array } | null {
    return this.plan.index ? { file: this.plan.index.file, bytes: this.indexBytes() } : null;
  }

  /** Write a tensor from float32 values, converted to its planned dtype (F16/BF16: round to nearest even). */
  async writeFloat32(name: string, values: Float32Array, options?: ReadOptions): Promise<void> {
    const slot = this.slot(name);
    if (values.length * DTYPE_BYTES[slot.dtype] !== slot.bytes) {
      throw new WriterError(`tensor "${name}": ${values.length} values given, shape [${slot.shape.join(', ')}] needs ${slot.bytes / DTYPE_BYTES[slot.dtype]}`);
    }
    await this.put(name, slot, toDtype(slot.dtype, values, name), options);
  }

  /** Write a tensor's bytes, already in its planned dtype (tensors copied unchanged). */
  async writeBytes(name: string, bytes: Uint8Array, options?: ReadOptions): Promise<void> {
    const slot = this.slot(name);
    if (bytes.length !== slot.bytes) {
      throw new WriterError(`tensor "${name}": ${bytes.length} bytes given, ${slot.dtype} [${slot.shape.join(', ')}] needs ${slot.bytes}`);
    }
    await this.put(name, slot, bytes, options);
  }

  /**
   * Copy a tensor from a reader unchanged (converting only when the planned dtype differs). With
   * `buffer`, unchanged bytes pass through it in pieces (ranged reads and writes): a tensor larger
   * than the buffer never sits in memory whole.
   */
  async copyFrom(reader: ModelReader, name: string, options?: ReadOptions & { buffer?: Uint8Array }): Promise<void> {
    const info = reader.info(name);
    const slot = this.slot(name);
    const buffer = options?.buffer;
    if (info && info.dtype === slot.dtype && buffer && buffer.length > 0) await this.copyInPieces(reader, name, slot, buffer, options);
    else if (info && info.dtype === slot.dtype) await this.writeBytes(name, await reader.readBytes(name, options), options);
    else await this.writeFloat32(name, await reader.readFloat32(name, options), options);
  }

  private async copyInPieces(reader: ModelReader, name: string, slot: Slot, buffer: Uint8Array, options?: ReadOptions): Promise<void> {
    if (reader.info(name)!.byteLength !== slot.bytes) {
      throw new WriterError(`tensor "${name}": ${reader.info(name)!.byteLength} bytes in the reader, ${slot.dtype} [${slot.shape.join(', ')}] needs ${slot.bytes}`);
    }
    options?.signal?.throwIfAborted();
    slot.written = true; // claimed before the first await, as put() does; counted once complete
    try {
      const file = await this.file(slot.shard);
      const hash = await createSha256();
      for (let at = 0; at < slot.bytes; at += buffer.length) {
        const piece = await reader.readByteRange(name, at, buffer.subarray(0, Math.min(buffer.length, slot.bytes - at)), options);
        hash.update(piece);
        await file.write(piece, slot.offset + at);
      }
      slot.hash = hash.hex();
    } catch (e) {
      slot.written = false;
      slot.hash = null;
      throw e;
    }
    this.remaining--;
  }

  /** Commit every file (shards, then the index). Fails, committing nothing, if a tensor is missing. */
  async finish(): Promise<void> {
    this.assertOpen();
    if (this.remaining > 0) {
      const missing = this.pending();
      throw new WriterError(`${missing.length} planned tensor(s) were never written, e.g. "${missing[0]}"`);
    }
    try {
      // Shards with no tensors still get their header written.
      for (let i = 0; i < this.files.length; i++) await this.file(i);
      for (const f of this.files) await (await f!).commit();
      if (this.plan.index) await writeWholeFile(this.sink, this.plan.index.file, this.indexBytes());
      this.state = 'finished';
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  /** Remove every partial file. Nothing already committed is touched. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await Promise.all(this.files.map(async (f) => {
      if (!f) return;
      try {
        await (await f).abort();
      } catch { /* a file that failed to open has nothing to remove */ }
    }));
  }

  /** model.safetensors.index.json as transformers writes it: sorted weight_map, indent 2, newline. */
  private indexBytes(): Uint8Array {
    let total = 0;
    const weightMap: Record<string, string> = Object.create(null);
    for (const name of [...this.slots.keys()].sort()) {
      const s = this.slots.get(name)!;
      weightMap[name] = this.plan.shards[s.shard].file;
      total += s.bytes;
    }
    const metadata = Object.assign(Object.create(null), this.plan.index!.metadata, { total_size: total });
    return new TextEncoder().encode(JSON.stringify({ metadata, weight_map: weightMap }, null, 2) + '\n');
  }

  private slot(name: string): Slot {
    this.assertOpen();
    const s = this.slots.get(name);
    if (!s) throw new WriterError(`tensor "${name}" is not in the write plan`);
    if (s.written) throw new WriterError(`tensor "${name}" was already written`);
    return s;
  }

  private async put(name: string, slot: Slot, bytes: Uint8Array, options?: ReadOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    slot.written = true; // claimed before the await: a concurrent second write of it fails
    try {
      // Hashed before the write: the caller may reuse `bytes` once this resolves.
      slot.hash = await sha256(bytes);
      await (await this.file(slot.shard)).write(bytes, slot.offset);
    } catch (e) {
      slot.written = false;
      slot.hash = null;
      throw e;
    }
    this.remaining--;
  }

  private file(i: number): Promise<SinkFile> {
    let f = this.files[i];
    if (!f) {
      f = this.sink.create(this.plan.shards[i].file, this.sizes[i]).then(async (file) => {
        try {
          await file.write(this.headers[i], 0);
        } catch (e) {
          await file.abort(); // abort() cannot reach a file whose promise rejected: clean up here
          throw e;
        }
        return file;
      });
      this.files[i] = f;
    }
    return f;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new WriterError(`the writer is ${this.state}`);
  }
}

/** Write a small file (config, tokenizer, index) through a sink: temporary name, then commit. */
export async function writeWholeFile(sink: Sink, name: string, bytes: Uint8Array): Promise<void> {
  const f = await sink.create(name, bytes.length);
  try {
    if (bytes.length > 0) await f.write(bytes, 0);
    await f.commit();
  } catch (e) {
    await f.abort();
    throw e;
  }
}

function toDtype(dtype: SafetensorsDType, values: Float32Array, name: string): Uint8Array {
  switch (dtype) {
    case 'F32': return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': return encodeF16(values);
    case 'BF16': return encodeBF16(values);
    case 'F64': return new Uint8Array(Float64Array.from(values).buffer);
    default: throw new WriterError(`tensor "${name}" is stored as ${dtype}: write its bytes with writeBytes, not float32 values`);
  }
}

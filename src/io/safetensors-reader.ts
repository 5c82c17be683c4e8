// Safetensors read from a Source one tensor at a time: a file's header is read and validated
// (safetensors.ts) before any offset in it is trusted; a tensor costs one ranged read of its
// own bytes. Sharded models come through model.safetensors.index.json, whose shard names are
// untrusted: plain file names in the same folder only, and every entry must be in its shard.
import { decodeBF16, decodeF16 } from './half.js';
import { checkByteRange, outputBuffer, type ModelLayout, type ModelReader, type ShardLayout, type TensorInfo } from './model-reader.js';
import {
  DTYPE_BYTES, headerLength, MAX_HEADER_BYTES, parseHeader, SafetensorsError,
  type SafetensorsDType, type SafetensorsHeader,
} from './safetensors.js';
import { assertPlainFileName, readInto, type ReadOptions, type Source } from './source.js';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';
/** Index files larger than this are refused (the largest real ones are a few MB). */
export const MAX_INDEX_BYTES = 64_000_000;

interface Located extends TensorInfo {
  file: string;
  /** Absolute byte offset in the file. */
  offset: number;
}

/** Read and validate one safetensors file's header: at most 8 + min(header length, file size) bytes are requested. */
export async function readSafetensorsHeader(source: Source, file: string, options?: ReadOptions): Promise<SafetensorsHeader> {
  const where = `${source.location}/${file}`;
  const size = await source.size(file);
  if (size === null) throw new SafetensorsError(`${where}: file not found`);
  try {
    const prefix = await source.read(file, 0, Math.min(8, size), options);
    const n = headerLength(prefix, size);
    return parseHeader(await source.read(file, 8, n, options), size - 8 - n);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${where}: ${e.message}`);
    throw e;
  }
}

export interface OpenSafetensorsOptions extends ReadOptions {
  /** One .safetensors file to read (default: the index file if present, else model.safetensors). */
  file?: string;
}

export class SafetensorsReader implements ModelReader {
  readonly format = 'safetensors' as const;
  readonly tensors: readonly TensorInfo[];
  private readonly byName = new Map<string, Located>();
  /** Free scratch buffers for streamed conversion (one per concurrent read). */
  private readonly scratch: Uint8Array[] = [];

  private constructor(private readonly source: Source, readonly layout: ModelLayout, located: Located[]) {
    for (const t of located) this.byName.set(t.name, t);
    this.tensors = located.map(({ name, dtype, shape, byteLength }) => ({ name, dtype, shape, byteLength }));
  }

  /** Open a single file or a sharded model. Every header (and the index) is validated here. */
  static async open(source: Source, options: OpenSafetensorsOptions = {}): Promise<SafetensorsReader> {
    let file = options.file;
    if (!file) file = (await source.size(INDEX_FILE)) !== null ? INDEX_FILE : SINGLE_FILE;
    assertPlainFileName(file, source.location);
    if (file.endsWith('.index.json')) {
      const { layout, located } = await openSharded(source, file, options);
      return new SafetensorsReader(source, layout, located);
    }
    const header = await readSafetensorsHeader(source, file, options);
    const located = locate(file, header);
    const layout = { shards: [{ file, metadata: { ...header.metadata }, tensors: located.map((t) => t.name) }], indexMetadata: null };
    checkUnique(located, source.location);
    return new SafetensorsReader(source, layout, located);
  }

  info(name: string): TensorInfo | undefined {
    const t = this.byName.get(name);
    return t && { name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength };
  }

  /** The file holding a tensor (sharded models). */
  fileOf(name: string): string | undefined {
    return this.byName.get(name)?.file;
  }

  async readBytes(name: string, options?: ReadOptions & { into?: Uint8Array }): Promise<Uint8Array> {
    const t = this.located(name);
    if (!options?.into) return this.source.read(t.file, t.offset, t.byteLength, options);
    const out = outputBuffer(options.into, t.byteLength, (n) => new Uint8Array(n), name);
    await readInto(this.source, t.file, t.offset, out, options);
    return out;
  }

  async readByteRange(name: string, begin: number, into: Uint8Array, options?: ReadOptions): Promise<Uint8Array> {
    const t = this.located(name);
    checkByteRange(name, t.byteLength, begin, into.length);
    await readInto(this.source, t.file, t.offset + begin, into, options);
    return into;
  }

  async readFloat32(name: string, options?: ReadOptions & { into?: Float32Array }): Promise<Float32Array> {
    const t = this.located(name);
    const where = `${this.source.location}/${t.file}: tensor "${name}"`;
    const size = DTYPE_BYTES[t.dtype];
    if (!FLOAT_DTYPES.has(t.dtype)) throw new SafetensorsError(`${where}: dtype ${t.dtype} cannot be read as float32`);
    const n = t.byteLength / size;
    if (t.dtype === 'F32') {
      if (!options?.into) return toFloat32('F32', await this.source.read(t.file, t.offset, t.byteLength, options));
      const out = outputBuffer(options.into, n, (k) => new Float32Array(k), name);
      await readInto(this.source, t.file, t.offset, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), options);
      return out;
    }
    const out = outputBuffer(options?.into, n, (k) => new Float32Array(k), name);
    if (!this.source.readInto) {
      // No zero-copy reads (URL, Blob): one request for the tensor, then decode.
      decodeInto(t.dtype, await this.source.read(t.file, t.offset, t.byteLength, options), out);
      return out;
    }
    // Stream through a small reused scratch buffer: memory is the output, never output + input.
    const scratch = this.scratch.pop() ?? new Uint8Array(SCRATCH_BYTES);
    try {
      const perChunk = SCRATCH_BYTES / size;
      for (let e = 0; e < n; e += perChunk) {
        const m = Math.min(perChunk, n - e);
        const part = scratch.subarray(0, m * size);
        await readInto(this.source, t.file, t.offset + e * size, part, options);
        decodeInto(t.dtype, part, out.subarray(e, e + m));
      }
    } finally {
      this.scratch.push(scratch);
    }
    return out;
  }

  private located(name: string): Located {
    const t = this.byName.get(name);
    if (!t) throw new SafetensorsError(`${this.source.location}: no tensor named ${JSON.stringify(name)}`);
    return t;
  }

  async close(): Promise<void> {
    this.scratch.length = 0;
    await this.source.close();
  }
}

/** Bytes per chunk when a half-precision tensor is streamed into float32 (fits in L2/L3 caches' reach, few syscalls). */
const SCRATCH_BYTES = 8 * 2 ** 20;
const FLOAT_DTYPES = new Set<SafetensorsDType>(['F32', 'F16', 'BF16', 'F64']);

function decodeInto(dtype: SafetensorsDType, bytes: Uint8Array, out: Float32Array): void {
  if (dtype === 'F16') decodeF16(bytes, out);
  else if (dtype === 'BF16') decodeBF16(bytes, out);
  else out.set(toFloat32(dtype, bytes));
}

/** Convert stored little-endian bytes to float32. */
export function toFloat32(dtype: SafetensorsDType, bytes: Uint8Array, where = 'tensor'): Float32Array {
  const n = bytes.length / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      // A fresh read is aligned: reinterpret it rather than copy.
      return bytes.byteOffset % 4 === 0
        ? new Float32Array(bytes.buffer, bytes.byteOffset, n)
        : new Float32Array(bytes.slice().buffer);
    case 'F16': {
      const out = new Float32Array(n);
      decodeF16(bytes, out);
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      decodeBF16(bytes, out);
      return out;
    }
    case 'F64': {
      const src = bytes.byteOffset % 8 === 0 ? new Float64Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.slice().buffer);
      return Float32Array.from(src);
    }
    default:
      throw new SafetensorsError(`${where}: dtype ${dtype} cannot be read as float32`);
  }
}

function locate(file: string, header: SafetensorsHeader): Located[] {
  return header.tensors.map((t) => ({
    name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin, file, offset: header.dataStart + t.begin,
  }));
}

function checkUnique(located: Located[], where: string): void {
  const seen = new Map<string, string>();
  for (const t of located) {
    const other = seen.get(t.name);
    if (other !== undefined) throw new SafetensorsError(`${where}: tensor "${t.name}" is in both ${other} and ${t.file}`);
    seen.set(t.name, t.file);
  }
}

async function openSharded(source: Source, indexFile: string, options: ReadOptions): Promise<{ layout: ModelLayout; located: Located[] }> {
  const where = `${source.location}/${indexFile}`;
  const size = await source.size(indexFile);
  if (size === null) throw new SafetensorsError(`${where}: file not found`);
  if (size > MAX_INDEX_BYTES) throw new SafetensorsError(`${where}: ${size} bytes is more than the ${MAX_INDEX_BYTES}-byte cap for an index file`);
  const index = parseIndex(await source.read(indexFile, 0, size, options), where);
  for (const shard of index.shards) {
    if ((await source.size(shard)) === null) throw new SafetensorsError(`${where}: shard ${shard} named in the index is not found`);
  }
  const shards: ShardLayout[] = [];
  const located: Located[] = [];
  for (const shard of index.shards) {
    const header = await readSafetensorsHeader(source, shard, options);
    const inShard = locate(shard, header);
    for (const t of inShard) {
      const listed = index.weightMap.get(t.name);
      if (listed === undefined) throw new SafetensorsError(`${where}: shard ${shard} holds tensor "${t.name}" that the index does not list`);
      if (listed !== shard) throw new SafetensorsError(`${where}: tensor "${t.name}" is listed in ${listed} but stored in ${shard}`);
    }
    shards.push({ file: shard, metadata: { ...header.metadata }, tensors: inShard.map((t) => t.name) });
    located.push(...inShard);
  }
  checkUnique(located, where);
  const found = new Set(located.map((t) => t.name));
  for (const [name, shard] of index.weightMap) {
    if (!found.has(name)) throw new SafetensorsError(`${where}: tensor "${name}" is listed in ${shard} but that shard does not hold it`);
  }
  return { layout: { shards, indexMetadata: index.metadata }, located };
}

interface ParsedIndex {
  metadata: Record<string, unknown> | null;
  weightMap: Map<string, string>;
  /** Shard file names, sorted (model-00001-of-00003.safetensors, …). */
  shards: string[];
}

export function parseIndex(bytes: Uint8Array, where: string): ParsedIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SafetensorsError(`${where}: not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SafetensorsError(`${where}: not a JSON object`);
  const obj = parsed as Record<string, unknown>;
  const wm = Object.hasOwn(obj, 'weight_map') ? obj.weight_map : undefined;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw new SafetensorsError(`${where}: weight_map must be an object`);
  const md = Object.hasOwn(obj, 'metadata') ? obj.metadata : null;
  if (md !== null && (typeof md !== 'object' || Array.isArray(md))) throw new SafetensorsError(`${where}: metadata must be an object`);
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  const seen = new Set<string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw new SafetensorsError(`${where}: weight_map["${name}"] is not a file name`);
    if (!seen.has(shard)) {
      try {
        assertPlainFileName(shard, where);
      } catch (e) {
        throw new SafetensorsError((e as Error).message);
      }
      seen.add(shard);
      shards.push(shard);
    }
    weightMap.set(name, shard);
  }
  if (shards.length === 0) throw new SafetensorsError(`${where}: weight_map is empty`);
  shards.sort();
  return { metadata: md === null ? null : Object.assign(Object.create(null), md), weightMap, shards };
}

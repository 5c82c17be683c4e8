// Safetensors format: an 8-byte little-endian header length, a JSON header, then the data
// section. This file is the format itself (validation, in-memory decode and encode); streamed
// reading from a Source lives beside it (safetensors-reader.ts).
import { ModelIOError } from './errors.js';

export type SafetensorsDType =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8'
  | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1,
};

export class SafetensorsError extends ModelIOError {
  override name = 'SafetensorsError';
}

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section: [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Total header bytes including the 8-byte length prefix: the data section starts here. */
  dataStart: number;
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/** Refuse headers larger than this (the format's reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Read the header length from the first 8 bytes and check it against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (prefix.length < 8 || fileSize < 8) throw new SafetensorsError(`file too short for a safetensors header (${fileSize} bytes)`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte cap`);
  if (Number(n) + 8 > fileSize) throw new SafetensorsError(`header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

/** Dtypes of the format this package does not read (named so the error can say so). */
const UNSUPPORTED_DTYPES = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

/**
 * Parse and validate the JSON header. `dataBytes` is the size of the data section. Checks, as
 * the format's reference implementation does: the header starts with '{'; it is UTF-8 JSON; every
 * dtype is known; shape × element size equals the byte range; the ranges tile the data section
 * exactly (no overlap, no hole, nothing past the end); `__metadata__` maps strings to strings.
 * Tensors come back in the order of their bytes in the file.
 */
export function parseHeader(json: Uint8Array, dataBytes: number): SafetensorsHeader {
  if (json.length === 0 || json[0] !== 0x7b) {
    throw new SafetensorsError(`header does not start with '{' (first byte ${json.length ? '0x' + json[0].toString(16) : 'missing'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SafetensorsError('header is not a JSON object');
  }
  const metadata: Record<string, string> = Object.create(null);
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SafetensorsError('__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(name, value));
  }
  checkRanges(tensors, dataBytes);
  return { dataStart: 8 + json.length, tensors, metadata };
}

function parseEntry(name: string, value: unknown): TensorEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(`tensor "${name}": entry is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype === 'string' && UNSUPPORTED_DTYPES.has(dtype)) {
    throw new SafetensorsError(`tensor "${name}": dtype ${dtype} is not supported (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new SafetensorsError(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`tensor "${name}": shape must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(`tensor "${name}": data_offsets must be two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(`tensor "${name}": data_offsets end before they begin`);
  let elements = 1;
  for (const d of shape as number[]) {
    elements *= d;
    if (!Number.isSafeInteger(elements)) throw new SafetensorsError(`tensor "${name}": shape is too large`);
  }
  const bytes = elements * DTYPE_BYTES[dtype as SafetensorsDType];
  if (bytes !== end - begin) {
    throw new SafetensorsError(`tensor "${name}": shape [${shape.join(', ')}] × ${dtype} is ${bytes} bytes but its range holds ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end };
}

function checkRanges(tensors: TensorEntry[], dataBytes: number): void {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let last = 0;
  let lastName = '';
  for (const t of tensors) {
    if (t.end > dataBytes) {
      throw new SafetensorsError(`tensor "${t.name}": data range [${t.begin}, ${t.end}) runs past the ${dataBytes}-byte data section`);
    }
    if (t.begin < last) throw new SafetensorsError(`tensors "${lastName}" and "${t.name}" overlap`);
    if (t.begin > last) throw new SafetensorsError(`bytes [${last}, ${t.begin}) of the data section belong to no tensor`);
    last = t.end;
    lastName = t.name;
  }
  if (last !== dataBytes) {
    throw new SafetensorsError(`the data section is ${dataBytes} bytes but its tensors cover ${last}`);
  }
}

/** Decode a whole safetensors file held in memory (small files: test vectors, `dsnot layer`). */
export function decodeSafetensors(bytes: Uint8Array): { header: SafetensorsHeader; tensor(name: string): Uint8Array } {
  const n = headerLength(bytes, bytes.length);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    header,
    tensor(name: string): Uint8Array {
      const t = byName.get(name);
      if (!t) throw new SafetensorsError(`no tensor named "${name}"`);
      return bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
    },
  };
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Little-endian bytes (a typed array's view is fine on little-endian hosts). */
  data: ArrayBufferView;
}

/**
 * Header bytes (length prefix + JSON padded with spaces to a multiple of 8), for tensors laid
 * out in the given order. Keys are written in the order given, `__metadata__` first.
 */
export function encodeHeader(tensors: Array<Omit<TensorToWrite, 'data'>>, metadata?: Record<string, string>): Uint8Array {
  // Null prototype: a tensor named "__proto__" must become a key, not the object's prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new SafetensorsError('a tensor cannot be named __metadata__');
    if (Object.hasOwn(header, t.name)) throw new SafetensorsError(`tensor "${t.name}" is given twice`);
    if (!Object.hasOwn(DTYPE_BYTES, t.dtype)) throw new SafetensorsError(`tensor "${t.name}": unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor "${t.name}": shape must be non-negative integers`);
    }
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length) % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** Encode a whole file in memory (small outputs such as `dsnot layer`'s). */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const head = encodeHeader(tensors, metadata);
  let total = head.length;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new SafetensorsError(`tensor "${t.name}": ${t.data.byteLength} bytes given, shape × dtype needs ${expected}`);
    }
    total += expected;
  }
  const out = new Uint8Array(total);
  out.set(head, 0);
  let at = head.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Copy a tensor's little-endian bytes into a new typed array of its dtype (unaligned-safe). */
export function typedArrayOf(dtype: SafetensorsDType, bytes: Uint8Array): ArrayBufferView {
  const copy = bytes.slice().buffer;
  switch (dtype) {
    case 'F64': return new Float64Array(copy);
    case 'F32': return new Float32Array(copy);
    case 'I64': return new BigInt64Array(copy);
    case 'I32': return new Int32Array(copy);
    case 'I16': return new Int16Array(copy);
    case 'I8': return new Int8Array(copy);
    case 'U64': return new BigUint64Array(copy);
    case 'U32': return new Uint32Array(copy);
    case 'U16': return new Uint16Array(copy);
    case 'U8':
    case 'BOOL': return new Uint8Array(copy);
    case 'F16':
    case 'BF16': return new Uint16Array(copy);
  }
}

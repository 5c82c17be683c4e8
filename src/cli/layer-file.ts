// `dsnot layer`'s files, without a whole-file copy on either side: IN's header is parsed on its
// own and each tensor is read straight into an array of its own (X3 one sequence at a time) or
// into memory the caller gives (W into a wasm tensor); OUT is written tensor by tensor from the
// result's arrays (or views of wasm memory) behind its header, fsynced, then renamed into place
// (never a half file under the real name).
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { DTYPE_BYTES, headerLength, parseHeader, type SafetensorsHeader, type TensorEntry, type TensorToWrite, encodeHeader, SafetensorsError } from '../io/safetensors.js';
import { writeFully } from '../io/sinks/path.js';

export interface LayerInput {
  header: SafetensorsHeader;
  entries: Map<string, TensorEntry>;
  /** The bytes [from, from + length) of a tensor's data, in a fresh 8-byte-aligned buffer. */
  read(e: TensorEntry, from?: number, length?: number): Promise<ArrayBuffer>;
  /** The bytes [from, from + into.length) of a tensor's data into `into` (no buffer of its own). */
  readInto(e: TensorEntry, into: Uint8Array, from?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openLayerInput(path: string): Promise<LayerInput> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = await readAt(fh, new Uint8Array(8), 0);
    const n = headerLength(prefix, size);
    const header = parseHeader(await readAt(fh, new Uint8Array(n), 8), size - 8 - n);
    return {
      header,
      entries: new Map(header.tensors.map((t) => [t.name, t])),
      async read(e, from = 0, length = e.end - e.begin - from) {
        const buffer = new ArrayBuffer(length);
        await readAt(fh, new Uint8Array(buffer), header.dataStart + e.begin + from);
        return buffer;
      },
      async readInto(e, into, from = 0) {
        if (from < 0 || from + into.length > e.end - e.begin) throw new RangeError(`read: bytes [${from}, ${from + into.length}) of tensor "${e.name}" (${e.end - e.begin} bytes)`);
        await readAt(fh, into, header.dataStart + e.begin + from);
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readAt(fh: FileHandle, into: Uint8Array, position: number): Promise<Uint8Array> {
  for (let done = 0; done < into.length;) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`the file ends ${into.length - done} bytes early`);
    done += bytesRead;
  }
  return into;
}

/** Header, then each tensor's bytes from its own array, fsync, rename: no whole-file buffer. */
export async function writeLayerOutput(path: string, tensors: TensorToWrite[], metadata: Record<string, string>): Promise<void> {
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) throw new SafetensorsError(`tensor "${t.name}": ${t.data.byteLength} bytes given, shape × dtype needs ${expected}`);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    const head = encodeHeader(tensors, metadata);
    await writeFully(fh, head, 0);
    let at = head.length;
    for (const t of tensors) {
      await writeFully(fh, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
      at += t.data.byteLength;
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

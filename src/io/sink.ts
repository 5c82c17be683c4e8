// Where output files go. A file is written at explicit offsets (the pipeline produces tensors
// layer by layer, not in file order) and appears under its final name only on commit(); until
// then it lives under a temporary name, so an interrupted run never leaves a half file behind.
import { SourceError, WriterError } from './errors.js';
import { assertPlainFileName } from './source.js';

export interface SinkFile {
  /** Write bytes at a byte offset. Writes may come in any order. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** All bytes are written: make the file appear under its final name (replacing any old one). */
  commit(): Promise<void>;
  /** Discard the partial file; nothing appears under the final name. Safe to call twice. */
  abort(): Promise<void>;
}

export interface Sink {
  /** Human-readable location for messages. */
  readonly location: string;
  /** Start the file `name` (a plain file name) of exactly `size` bytes. */
  create(name: string, size: number): Promise<SinkFile>;
}

/** The check every SinkFile.write makes: the bytes fall inside the file's planned size. */
export function checkPlannedWrite(where: string, length: number, position: number, size: number): void {
  if (position < 0 || position + length > size) {
    throw new WriterError(`${where}: write of ${length} bytes at ${position} is outside the planned ${size} bytes`);
  }
}

/** Everything `openSink` accepts (the `output` option of prune). */
export type OutputTarget = string | FileSystemDirectoryHandle | Sink;

/** A folder path (Node/Deno; created if missing), a browser directory handle (picked folder or OPFS), or a Sink. */
export async function openSink(output: OutputTarget): Promise<Sink> {
  if (typeof output === 'object' && output !== null && typeof (output as Sink).create === 'function') return output as Sink;
  if (typeof output === 'object' && output !== null && (output as FileSystemDirectoryHandle).kind === 'directory') {
    const { DirectoryHandleSink } = await import('./sinks/directory-handle.js');
    return new DirectoryHandleSink(output as FileSystemDirectoryHandle);
  }
  if (typeof output === 'string') {
    const { PathSink } = await import('./sinks/path.js');
    return PathSink.open(output);
  }
  throw new SourceError(`cannot write to ${String(output)}: give a folder path, a directory handle or a Sink`);
}

/**
 * Files kept as Blobs (browser downloads, tests). Pieces are kept as written and assembled into
 * one Blob on commit; a browser may back large Blobs by disk.
 */
export class BlobSink implements Sink {
  readonly location = 'memory';
  /** Committed files by name. */
  readonly files = new Map<string, Blob>();

  async create(name: string, size: number): Promise<SinkFile> {
    assertPlainFileName(name, this.location);
    const pieces: Array<{ position: number; bytes: Uint8Array }> = [];
    let state: 'open' | 'done' = 'open';
    return {
      write: async (bytes, position) => {
        if (state !== 'open') throw new WriterError(`${name}: write after commit or abort`);
        checkPlannedWrite(name, bytes.length, position, size);
        pieces.push({ position, bytes: bytes.slice() });
      },
      commit: async () => {
        if (state !== 'open') throw new WriterError(`${name}: commit after commit or abort`);
        pieces.sort((a, b) => a.position - b.position);
        let at = 0;
        for (const p of pieces) {
          if (p.position !== at) throw new WriterError(`${name}: bytes ${Math.min(at, p.position)}.. were written ${p.position < at ? 'twice' : 'never'}`);
          at += p.bytes.length;
        }
        if (at !== size) throw new WriterError(`${name}: ${at} of ${size} bytes written`);
        state = 'done';
        this.files.set(name, new Blob(pieces.map((p) => p.bytes as BlobPart)));
      },
      abort: async () => {
        state = 'done';
        pieces.length = 0;
      },
    };
  }

  /** The committed bytes of a file (tests). */
  async bytes(name: string): Promise<Uint8Array> {
    const b = this.files.get(name);
    if (!b) throw new WriterError(`${name} was not written`);
    return new Uint8Array(await b.arrayBuffer());
  }
}

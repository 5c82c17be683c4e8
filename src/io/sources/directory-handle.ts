// A browser folder: FileSystemDirectoryHandle from showDirectoryPicker() or OPFS
// (navigator.storage.getDirectory()). Each file is read through File.slice, which is lazy.
import { SourceError } from '../errors.js';
import { assertPlainFileName, checkRange, type ReadOptions, type Source } from '../source.js';

export class DirectoryHandleSource implements Source {
  readonly location: string;
  readonly entry = null;
  private readonly files = new Map<string, Promise<File | null>>();

  constructor(private readonly dir: FileSystemDirectoryHandle) {
    this.location = dir.name || 'folder';
  }

  async list(): Promise<string[]> {
    const names: string[] = [];
    // values() is in the File System Access spec; TypeScript's DOM lib types it only with DOM.AsyncIterable.
    const entries = (this.dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
    for await (const h of entries) if (h.kind === 'file') names.push(h.name);
    return names.sort();
  }

  async size(file: string): Promise<number | null> {
    return (await this.file(file))?.size ?? null;
  }

  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    const f = await this.file(file);
    if (!f) throw new SourceError(`${this.location}: no file ${JSON.stringify(file)}`);
    checkRange(this.location, file, f.size, offset, length);
    const bytes = new Uint8Array(await f.slice(offset, offset + length).arrayBuffer());
    if (bytes.length !== length) throw new SourceError(`${this.location}/${file}: short read (${bytes.length} of ${length} bytes at ${offset})`);
    return bytes;
  }

  private file(name: string): Promise<File | null> {
    assertPlainFileName(name, this.location);
    let f = this.files.get(name);
    if (!f) {
      f = this.dir.getFileHandle(name).then(
        (h) => h.getFile(),
        (e: DOMException) => {
          if (e?.name === 'NotFoundError' || e?.name === 'TypeMismatchError') return null;
          throw new SourceError(`${this.location}/${name}: ${e?.message ?? String(e)}`);
        },
      );
      this.files.set(name, f);
    }
    return f;
  }

  async close(): Promise<void> {
    this.files.clear();
  }
}

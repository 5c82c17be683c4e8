// The files of one folder picked with <input type=file webkitdirectory> (browsers without
// showDirectoryPicker): File objects whose webkitRelativePath is `folder/name`. Only the files
// directly in the picked folder count, as with a directory handle. Reads are File.slice, lazy.
import { SourceError } from '../errors.js';
import { assertPlainFileName, checkRange, type ReadOptions, type Source } from '../source.js';

export class FileListSource implements Source {
  readonly location: string;
  readonly entry = null;
  private readonly files = new Map<string, Blob>();

  /** `files`: the picked files with the path inside the pick (`webkitRelativePath`, or `path` given). */
  constructor(files: ReadonlyArray<File | { path: string; file: Blob }>) {
    let folder = '';
    for (const f of files) {
      const path = f instanceof Blob ? (f as File).webkitRelativePath || (f as File).name : f.path;
      const blob = f instanceof Blob ? f : f.file;
      const parts = path.split('/');
      // A file in a subfolder of the pick is not the model's (HF folders keep none we read).
      if (parts.length > 2) continue;
      if (parts.length === 2) folder ||= parts[0];
      this.files.set(parts[parts.length - 1], blob);
    }
    this.location = folder || 'picked files';
  }

  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }

  async size(file: string): Promise<number | null> {
    assertPlainFileName(file, this.location);
    return this.files.get(file)?.size ?? null;
  }

  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    const blob = this.files.get(file);
    if (!blob) throw new SourceError(`${this.location}: no file ${JSON.stringify(file)}`);
    checkRange(this.location, file, blob.size, offset, length);
    const bytes = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    if (bytes.length !== length) throw new SourceError(`${this.location}/${file}: short read (${bytes.length} of ${length} bytes at ${offset})`);
    return bytes;
  }

  async close(): Promise<void> {
    this.files.clear();
  }
}

// One Blob or File (a browser file picker, a drag-and-drop, or a Blob built in memory).
// Blob.slice is lazy: reading a range never loads the rest of the file.
import { SourceError } from '../errors.js';
import { checkRange, type ReadOptions, type Source } from '../source.js';

export class BlobSource implements Source {
  readonly location: string;
  readonly entry: string;

  /** `name`: the file name the blob stands for (default: File.name, else 'model.safetensors'). */
  constructor(private readonly blob: Blob, name?: string) {
    const fileName = name ?? ((blob as File).name || 'model.safetensors');
    // A File's name is just the picked file's name; keep only the last path component.
    this.entry = fileName.split(/[/\\]/).pop() || 'model.safetensors';
    this.location = this.entry;
  }

  async list(): Promise<string[]> {
    return [this.entry];
  }

  async size(file: string): Promise<number | null> {
    return file === this.entry ? this.blob.size : null;
  }

  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    if (file !== this.entry) throw new SourceError(`${this.location}: a single file holds no ${JSON.stringify(file)}`);
    checkRange(this.location, file, this.blob.size, offset, length);
    const bytes = new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    if (bytes.length !== length) throw new SourceError(`${this.location}: short read (${bytes.length} of ${length} bytes at ${offset})`);
    return bytes;
  }

  async close(): Promise<void> {}
}

// Output to a browser folder: OPFS (navigator.storage.getDirectory()) or a folder the user picked.
// A FileSystemWritableFileStream writes to a swap file and applies it on close(); the file is
// created under a temporary name and moved into place with FileSystemHandle.move() where the
// browser has it, so nothing, not even an empty file, appears under the final name early.
import { WriterError } from '../errors.js';
import { checkPlannedWrite, type Sink, type SinkFile } from '../sink.js';
import { assertPlainFileName } from '../source.js';

interface MovableHandle extends FileSystemFileHandle {
  move?(newName: string): Promise<void>;
}

export class DirectoryHandleSink implements Sink {
  readonly location: string;

  constructor(private readonly dir: FileSystemDirectoryHandle) {
    this.location = dir.name || 'folder';
  }

  async create(name: string, size: number): Promise<SinkFile> {
    assertPlainFileName(name, this.location);
    const probe = (await this.dir.getFileHandle(`.${name}.probe`, { create: true })) as MovableHandle;
    const canMove = typeof probe.move === 'function';
    await this.dir.removeEntry(`.${name}.probe`);
    // Without move(), the file is written under its final name; remember whether it existed so
    // an abort can remove the empty file getFileHandle() creates.
    const existed = canMove ? true : await this.dir.getFileHandle(name).then(() => true, () => false);
    const tempName = canMove ? `.${name}.${Math.random().toString(36).slice(2, 10)}.partial` : name;
    const handle = (await this.dir.getFileHandle(tempName, { create: true })) as MovableHandle;
    let stream: FileSystemWritableFileStream | null = await handle.createWritable({ keepExistingData: false });
    let written = 0;
    const where = `${this.location}/${name}`;
    return {
      write: async (bytes, position) => {
        if (!stream) throw new WriterError(`${where}: write after commit or abort`);
        checkPlannedWrite(where, bytes.length, position, size);
        await stream.write({ type: 'write', position, data: bytes as BufferSource });
        written += bytes.length;
      },
      commit: async () => {
        if (!stream) throw new WriterError(`${where}: commit after commit or abort`);
        const s = stream;
        stream = null;
        if (written !== size) {
          await s.abort();
          if (canMove || !existed) await this.dir.removeEntry(tempName).catch(() => {});
          throw new WriterError(`${where}: ${written} of ${size} bytes written`);
        }
        await s.close();
        if (canMove) {
          await this.dir.removeEntry(name).catch(() => {}); // move() does not replace on every browser
          await handle.move!(name);
        }
      },
      abort: async () => {
        const s = stream;
        stream = null;
        if (s) await s.abort().catch(() => {});
        if (canMove || !existed) await this.dir.removeEntry(tempName).catch(() => {});
      },
    };
  }
}

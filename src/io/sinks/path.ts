// Output to a folder on disk (Node/Deno). Each file is written to a hidden temporary name in the
// same folder (same file system, so the rename is atomic), flushed with fsync, then renamed
// over the final name. A crash leaves at most a `.NAME.*.partial` file, never a half NAME.
import type { FileHandle } from 'node:fs/promises';
import { WriterError } from '../errors.js';
import type { Sink, SinkFile } from '../sink.js';
import { assertPlainFileName } from '../source.js';

type Fs = typeof import('node:fs/promises');
type PathModule = typeof import('node:path');

export class PathSink implements Sink {
  private constructor(private readonly fs: Fs, private readonly path: PathModule, readonly location: string) {}

  static async open(dir: string): Promise<PathSink> {
    const fs: Fs = await import('node:fs/promises');
    const path: PathModule = await import('node:path');
    const full = path.resolve(dir);
    try {
      await fs.mkdir(full, { recursive: true });
    } catch (e) {
      throw new WriterError(`cannot create output folder ${full}: ${(e as Error).message}`);
    }
    return new PathSink(fs, path, full);
  }

  async create(name: string, size: number): Promise<SinkFile> {
    assertPlainFileName(name, this.location);
    const final = this.path.join(this.location, name);
    const temp = this.path.join(this.location, `.${name}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.partial`);
    let handle: FileHandle | null = await this.fs.open(temp, 'wx').catch((e: Error) => {
      throw new WriterError(`cannot create ${temp}: ${e.message}`);
    });
    const where = final;
    let written = 0;
    return {
      write: async (bytes, position) => {
        if (!handle) throw new WriterError(`${where}: write after commit or abort`);
        if (position < 0 || position + bytes.length > size) {
          throw new WriterError(`${where}: write of ${bytes.length} bytes at ${position} is outside the planned ${size} bytes`);
        }
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
          done += bytesWritten;
        }
        written += bytes.length;
      },
      commit: async () => {
        if (!handle) throw new WriterError(`${where}: commit after commit or abort`);
        const h = handle;
        handle = null;
        try {
          const { size: onDisk } = await h.stat();
          if (written !== size || onDisk !== size) throw new WriterError(`${where}: ${written} of ${size} bytes written`);
          await h.sync();
          await h.close();
          await this.fs.rename(temp, final);
        } catch (e) {
          await h.close().catch(() => {});
          await this.fs.rm(temp, { force: true });
          throw e instanceof WriterError ? e : new WriterError(`${where}: ${(e as Error).message}`);
        }
      },
      abort: async () => {
        const h = handle;
        handle = null;
        if (h) await h.close().catch(() => {});
        await this.fs.rm(temp, { force: true });
      },
    };
  }
}

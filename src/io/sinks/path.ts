// Output to a folder on disk (Node/Deno). Each file is written to a hidden temporary name in the
// same folder (same file system, so the rename is atomic), flushed with fsync, then renamed
// over the final name. A crash leaves at most a `.NAME.*.partial` file, never a half NAME.
import type { FileHandle } from 'node:fs/promises';
import { WriterError } from '../errors.js';
import { checkPlannedWrite, type Sink, type SinkFile } from '../sink.js';
import { assertPlainFileName } from '../source.js';

export type Fs = typeof import('node:fs/promises');
export type PathModule = typeof import('node:path');

/**
 * node:fs/promises and node:path (imported here, on first use: bundles for the browser never
 * load them) and the output folder `dir`, created if missing, as an absolute path.
 */
export async function openOutputFolder(dir: string): Promise<{ fs: Fs; path: PathModule; location: string }> {
  const fs: Fs = await import('node:fs/promises');
  const path: PathModule = await import('node:path');
  const location = path.resolve(dir);
  try {
    await fs.mkdir(location, { recursive: true });
  } catch (e) {
    throw new WriterError(`cannot create output folder ${location}: ${(e as Error).message}`, { cause: e });
  }
  return { fs, path, location };
}

/** Write all of `bytes` at `position` (one write call may write less). */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

export class PathSink implements Sink {
  private constructor(private readonly fs: Fs, private readonly path: PathModule, readonly location: string) {}

  static async open(dir: string): Promise<PathSink> {
    const { fs, path, location } = await openOutputFolder(dir);
    return new PathSink(fs, path, location);
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
        checkPlannedWrite(where, bytes.length, position, size);
        await writeFully(handle, bytes, position);
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

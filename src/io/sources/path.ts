// A folder (or one file) on a local disk, for Node and Deno. node:fs is imported lazily so a
// browser bundle that never opens a path never loads it. Reads are positional reads on open
// file handles: a 100 GB shard costs one handle, never its size in memory.
// Hugging Face's cache is read as it sits on disk: the files of snapshots/<rev>/ are symlinks
// into ../../blobs/, so a symlink to a regular file counts as a file; and a models--org--name
// folder opens the snapshot that refs/main names.
import type { FileHandle } from 'node:fs/promises';
import { SourceError } from '../errors.js';
import { assertPlainFileName, checkRange, type ReadOptions, type Source } from '../source.js';

type Fs = typeof import('node:fs/promises');
type PathModule = typeof import('node:path');

export async function openPathSource(path: string): Promise<Source> {
  const fs: Fs = await import('node:fs/promises');
  const nodePath: PathModule = await import('node:path');
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (e) {
    throw new SourceError(`cannot open model path ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (stat.isDirectory()) return new PathSource(fs, nodePath, await hfCacheSnapshot(fs, nodePath, nodePath.resolve(path)), null);
  if (stat.isFile()) {
    const full = nodePath.resolve(path);
    return new PathSource(fs, nodePath, nodePath.dirname(full), nodePath.basename(full));
  }
  throw new SourceError(`model path ${path} is neither a folder nor a file`);
}

class PathSource implements Source {
  private readonly handles = new Map<string, Promise<{ handle: FileHandle; size: number }>>();
  private closed = false;

  constructor(
    private readonly fs: Fs,
    private readonly path: PathModule,
    readonly location: string,
    readonly entry: string | null,
  ) {}

  async list(): Promise<string[]> {
    const entries = await this.fs.readdir(this.location, { withFileTypes: true });
    const files: string[] = [];
    for (const e of entries) {
      if (e.isFile()) files.push(e.name);
      else if (e.isSymbolicLink() && (await this.size(e.name)) !== null) files.push(e.name); // HF cache: a link into blobs/
    }
    return files.sort();
  }

  async size(file: string): Promise<number | null> {
    assertPlainFileName(file, this.location);
    try {
      const s = await this.fs.stat(this.path.join(this.location, file));
      return s.isFile() ? s.size : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new SourceError(`${this.location}/${file}: ${(e as Error).message}`);
    }
  }

  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    // Check against the real size before allocating: a lying length must not cost memory.
    checkRange(this.location, file, (await this.open(file)).size, offset, length);
    const out = new Uint8Array(length);
    await this.readInto(file, offset, out, options);
    return out;
  }

  async readInto(file: string, offset: number, out: Uint8Array, options?: ReadOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    const { handle, size } = await this.open(file);
    const length = out.length;
    checkRange(this.location, file, size, offset, length);
    let done = 0;
    // Positional reads may return short counts (large reads, network file systems): loop.
    while (done < length) {
      options?.signal?.throwIfAborted();
      const chunk = Math.min(length - done, 1 << 30);
      const { bytesRead } = await handle.read(out, done, chunk, offset + done);
      if (bytesRead === 0) {
        throw new SourceError(`${this.location}/${file}: file ended at ${offset + done} while reading ${length} bytes at ${offset} (changed while open?)`);
      }
      done += bytesRead;
    }
  }

  private open(file: string): Promise<{ handle: FileHandle; size: number }> {
    if (this.closed) throw new SourceError(`${this.location}: source is closed`);
    assertPlainFileName(file, this.location);
    let h = this.handles.get(file);
    if (!h) {
      h = (async () => {
        let handle: FileHandle;
        try {
          handle = await this.fs.open(this.path.join(this.location, file), 'r');
        } catch (e) {
          throw new SourceError(`${this.location}/${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        const stat = await handle.stat();
        return { handle, size: stat.size };
      })();
      h.catch(() => this.handles.delete(file));
      this.handles.set(file, h);
    }
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(open.map(async (h) => {
      try {
        await (await h).handle.close();
      } catch { /* a handle that failed to open has nothing to close */ }
    }));
  }
}

/**
 * A Hugging Face cache folder (models--org--name: refs/, snapshots/, blobs/, no config.json of
 * its own) → the snapshot folder refs/main names; any other folder is returned as it is.
 */
async function hfCacheSnapshot(fs: Fs, path: PathModule, dir: string): Promise<string> {
  const exists = async (p: string) => fs.stat(p).then(() => true, () => false);
  if (await exists(path.join(dir, 'config.json')) || !(await exists(path.join(dir, 'snapshots')))) return dir;
  let rev: string;
  try {
    rev = (await fs.readFile(path.join(dir, 'refs', 'main'), 'utf8')).trim();
  } catch {
    const have = await fs.readdir(path.join(dir, 'snapshots')).catch(() => []);
    throw new SourceError(`${dir} is a Hugging Face cache folder without refs/main: open one of its snapshots (${have.map((s) => `snapshots/${s}`).join(', ') || 'none found'})`);
  }
  if (!/^[0-9a-zA-Z._-]+$/.test(rev) || rev === '.' || rev === '..') throw new SourceError(`${dir}/refs/main holds ${JSON.stringify(rev)}, not a revision`);
  const snapshot = path.join(dir, 'snapshots', rev);
  if (!(await exists(snapshot))) throw new SourceError(`${dir}: refs/main names revision ${rev}, but snapshots/${rev} is missing (an interrupted download?)`);
  return snapshot;
}

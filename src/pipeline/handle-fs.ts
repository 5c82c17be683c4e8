// The part of node:fs/promises that FolderState uses, over a browser folder (OPFS or a folder the
// user picked). With it, a browser output is the same resumable folder as on disk: the same
// .dsnot-partial journal, hidden states, checks and commit (folder-state.ts), not a second
// implementation. Paths are `${root.name}/a/b`, joined with '/'.
//
// Files open for writing use a FileSystemSyncAccessHandle where there is one (OPFS, in a
// dedicated worker: where the app runs prune): writes land in place and sync() is flush().
// Elsewhere (a picked folder, the main thread) a FileSystemWritableFileStream writes into a swap
// file that replaces the file on close(), so the handle keeps one stream open across writes and
// sync() closes it (a copy of the whole file per sync: fine for small files, slow for shards of
// gigabytes). Either way, what a journal names as written is in the file. Reads flush first, as
// an OS file's reads see its own writes.
import type { Fs, PathModule } from '../io/sinks/path.js';

/** An error shaped like Node's (the pipeline reads `code`: ENOENT, ENOSPC, …). */
function fsError(code: string, message: string, cause?: unknown): Error {
  return Object.assign(new Error(`${code}: ${message}`, { cause }), { code });
}

/** A DOMException from the File System API as the Node error the pipeline expects. */
function asFsError(e: unknown, path: string): Error {
  const name = (e as DOMException)?.name;
  const code = name === 'NotFoundError' ? 'ENOENT' : name === 'QuotaExceededError' ? 'ENOSPC'
    : name === 'NotAllowedError' || name === 'NoModificationAllowedError' ? 'EACCES' : name === 'TypeMismatchError' ? 'ENOTDIR' : 'EIO';
  return fsError(code, `${path}: ${(e as Error)?.message ?? String(e)}`, e);
}

interface MovableFile extends FileSystemFileHandle {
  move?(dir: FileSystemDirectoryHandle, name: string): Promise<void>;
}

/** The FileSystemSyncAccessHandle methods used here (TypeScript's DOM lib lacks some). */
interface SyncAccess {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

/** What FolderState calls on an open file (node:fs/promises FileHandle's subset). */
interface OpenFile {
  write(bytes: Uint8Array, offset?: number, length?: number, position?: number): Promise<{ bytesWritten: number }>;
  writeFile(text: string): Promise<void>;
  truncate(size?: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
  stat(): Promise<{ size: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** A file opened for writing in OPFS from a dedicated worker: in-place writes through a sync access handle. */
class AccessFile implements OpenFile {
  private closed = false;

  constructor(private readonly access: SyncAccess, private readonly path: string) {}

  private run<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw asFsError(e, this.path);
    }
  }

  async write(bytes: Uint8Array, offset = 0, length = bytes.length - offset, position = 0): Promise<{ bytesWritten: number }> {
    return { bytesWritten: this.run(() => this.access.write(bytes.subarray(offset, offset + length), { at: position })) };
  }

  async writeFile(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    this.run(() => {
      this.access.truncate(0);
      this.access.write(bytes, { at: 0 });
    });
  }

  async truncate(size = 0): Promise<void> {
    this.run(() => this.access.truncate(size));
  }

  async sync(): Promise<void> {
    if (!this.closed) this.run(() => this.access.flush());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.run(() => {
      this.access.flush();
      this.access.close();
    });
  }

  async stat(): Promise<{ size: number }> {
    return { size: this.run(() => this.access.getSize()) };
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return { bytesRead: this.run(() => this.access.read(buffer.subarray(offset, offset + length), { at: position })) };
  }
}

/** A sync access handle for writing where the browser gives one here, else null. */
async function syncAccess(handle: FileSystemFileHandle): Promise<SyncAccess | null> {
  const create = (handle as unknown as { createSyncAccessHandle?: () => Promise<SyncAccess> }).createSyncAccessHandle;
  if (typeof create !== 'function') return null;
  return create.call(handle).catch(() => null); // not OPFS, or not a dedicated worker
}

/** One open file: a lazily opened writable stream, flushed by sync() and close(). */
class HandleFile implements OpenFile {
  private stream: FileSystemWritableFileStream | null = null;

  constructor(private readonly handle: FileSystemFileHandle, private readonly path: string) {}

  private async writable(): Promise<FileSystemWritableFileStream> {
    this.stream ??= await this.handle.createWritable({ keepExistingData: true }).catch((e: unknown) => { throw asFsError(e, this.path); });
    return this.stream;
  }

  async write(bytes: Uint8Array, offset = 0, length = bytes.length - offset, position = 0): Promise<{ bytesWritten: number }> {
    const s = await this.writable();
    await s.write({ type: 'write', position, data: bytes.subarray(offset, offset + length) as BufferSource }).catch((e: unknown) => { throw asFsError(e, this.path); });
    return { bytesWritten: length };
  }

  async writeFile(text: string): Promise<void> {
    await this.truncate(0);
    await this.write(new TextEncoder().encode(text));
  }

  async truncate(size = 0): Promise<void> {
    await (await this.writable()).truncate(size).catch((e: unknown) => { throw asFsError(e, this.path); });
  }

  async sync(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    await s?.close().catch((e: unknown) => { throw asFsError(e, this.path); });
  }

  close(): Promise<void> {
    return this.sync();
  }

  async stat(): Promise<{ size: number }> {
    await this.sync();
    return { size: (await this.handle.getFile()).size };
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    await this.sync();
    const bytes = new Uint8Array(await (await this.handle.getFile()).slice(position, position + length).arrayBuffer());
    buffer.set(bytes, offset);
    return { bytesRead: bytes.length };
  }
}

/**
 * `fs` and `path` for FolderState over `root`; the folder's location (its paths' prefix) is
 * `root.name` (or 'folder' for OPFS's nameless root).
 */
export function handleFs(root: FileSystemDirectoryHandle): { fs: Fs; path: PathModule; location: string } {
  const location = root.name || 'folder';
  const parts = (path: string): string[] => {
    if (path !== location && !path.startsWith(`${location}/`)) throw fsError('EINVAL', `${path} is outside ${location}`);
    return path.slice(location.length).split('/').filter(Boolean);
  };
  const dir = async (names: string[], create = false): Promise<FileSystemDirectoryHandle> => {
    let d = root;
    for (const n of names) d = await d.getDirectoryHandle(n, { create });
    return d;
  };
  /** The folder holding `path` and the last name in it. */
  const parent = async (path: string): Promise<[FileSystemDirectoryHandle, string]> => {
    const p = parts(path);
    if (!p.length) throw fsError('EINVAL', `${path}: the folder itself`);
    return [await dir(p.slice(0, -1)).catch((e: unknown) => { throw asFsError(e, path); }), p[p.length - 1]];
  };
  const fileHandle = async (path: string, create = false): Promise<FileSystemFileHandle> => {
    const [d, name] = await parent(path);
    return d.getFileHandle(name, { create }).catch((e: unknown) => { throw asFsError(e, path); });
  };

  const fs = {
    async open(path: string, flag = 'r'): Promise<OpenFile> {
      if (flag === 'wx' && (await fileHandle(path).then(() => true, () => false))) throw fsError('EEXIST', path);
      const handle = await fileHandle(path, flag.startsWith('w'));
      const access = flag === 'r' ? null : await syncAccess(handle);
      const f = access ? new AccessFile(access, path) : new HandleFile(handle, path);
      if (flag.startsWith('w')) await f.truncate(0);
      return f;
    },
    async readFile(path: string): Promise<string> {
      return (await (await fileHandle(path)).getFile()).text();
    },
    async readdir(path: string): Promise<string[]> {
      const d = await dir(parts(path)).catch((e: unknown) => { throw asFsError(e, path); });
      const names: string[] = [];
      // values() is in the File System Access spec; TypeScript's DOM lib types it only with DOM.AsyncIterable.
      for await (const h of (d as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) names.push(h.name);
      return names.sort();
    },
    async mkdir(path: string): Promise<void> {
      await dir(parts(path), true).catch((e: unknown) => { throw asFsError(e, path); });
    },
    async rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
      try {
        const [d, name] = await parent(path);
        await d.removeEntry(name, { recursive: options.recursive === true });
      } catch (e) {
        // Ours carry a string code; a DOMException's code is a number.
        const err = typeof (e as { code?: unknown }).code === 'string' ? e as Error : asFsError(e, path);
        if (!(options.force && (err as { code?: string }).code === 'ENOENT')) throw err;
      }
    },
    async stat(path: string): Promise<{ size: number; isFile(): boolean; isDirectory(): boolean }> {
      const [d, name] = parts(path).length ? await parent(path) : [null, ''];
      if (!d) return { size: 0, isFile: () => false, isDirectory: () => true };
      const file = await d.getFileHandle(name).then((h) => h.getFile(), () => null);
      if (file) return { size: file.size, isFile: () => true, isDirectory: () => false };
      await d.getDirectoryHandle(name).catch((e: unknown) => { throw asFsError(e, path); });
      return { size: 0, isFile: () => false, isDirectory: () => true };
    },
    async rename(from: string, to: string): Promise<void> {
      const source = (await fileHandle(from)) as MovableFile;
      const [toDir, toName] = await parent(to);
      // move() does not replace an existing file on every browser.
      await toDir.removeEntry(toName).catch(() => {});
      if (typeof source.move === 'function') {
        await source.move(toDir, toName).catch((e: unknown) => { throw asFsError(e, to); });
        return;
      }
      // No move(): copy and remove (not atomic; the journal makes the commit idempotent).
      const target = await toDir.getFileHandle(toName, { create: true });
      const w = await target.createWritable();
      await w.write(await source.getFile());
      await w.close();
      await fs.rm(from);
    },
  };
  const path = { join: (...names: string[]) => names.join('/').replace(/\/+/g, '/') };
  // FolderState types its file system as node:fs/promises; this is the subset it calls.
  return { fs: fs as unknown as Fs, path: path as unknown as PathModule, location };
}

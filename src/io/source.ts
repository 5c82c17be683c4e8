// Where a model's files come from. Every reader works against this one interface, so a model
// on disk, behind a URL, in a Blob or in a browser directory handle is read the same way: by
// byte ranges, never as a whole file unless the source itself has no other way.
import { SourceError } from './errors.js';

export interface ReadOptions {
  signal?: AbortSignal;
}

export interface Source {
  /** Human-readable location, used in error messages (a path, a URL, a file name). */
  readonly location: string;
  /** The file the user pointed at when they named a file rather than a folder (else null). */
  readonly entry: string | null;
  /** Plain file names the source holds (URL sources: the well-known names that exist). */
  list(): Promise<string[]>;
  /** Size in bytes, or null when the file does not exist. */
  size(file: string): Promise<number | null>;
  /** Exactly `length` bytes from `offset` (throws SourceError on a short file). */
  read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
  /** Optional: fill `target` with the bytes at `offset`, without allocating (path sources have it). */
  readInto?(file: string, offset: number, target: Uint8Array, options?: ReadOptions): Promise<void>;
  /** Release file handles and connections. The source is unusable afterwards. */
  close(): Promise<void>;
}

/** Everything `openSource` accepts (the `model` option of prune / evaluate). */
export type ModelInput = string | URL | Blob | FileSystemDirectoryHandle | Source;

export interface OpenSourceOptions {
  /** URL sources: the fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** URL sources: headers sent with every request (e.g. Authorization). */
  headers?: Record<string, string>;
  /** URL sources whose server ignores Range: largest file read whole into memory (default 1 GiB). */
  maxUnrangedBytes?: number;
  /** Called with a warning a user should see (e.g. a server that ignores Range). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** Open a model location: a path (Node/Deno), an http(s) URL, a Blob/File, a directory handle, or a Source. */
export async function openSource(model: ModelInput, options: OpenSourceOptions = {}): Promise<Source> {
  if (isSource(model)) return model;
  if (typeof Blob !== 'undefined' && model instanceof Blob) {
    const { BlobSource } = await import('./sources/blob.js');
    return new BlobSource(model);
  }
  if (isDirectoryHandle(model)) {
    const { DirectoryHandleSource } = await import('./sources/directory-handle.js');
    return new DirectoryHandleSource(model);
  }
  const url = model instanceof URL ? model : typeof model === 'string' && /^https?:\/\//i.test(model) ? new URL(model) : null;
  if (url) {
    const { UrlSource } = await import('./sources/url.js');
    return new UrlSource(url, options);
  }
  if (typeof model === 'string') {
    if (model.startsWith('file:')) model = decodeURIComponent(new URL(model).pathname);
    const { openPathSource } = await import('./sources/path.js');
    return openPathSource(model);
  }
  throw new SourceError(`cannot open ${String(model)} as a model: give a path, an http(s) URL, a Blob/File or a directory handle`);
}

function isSource(x: unknown): x is Source {
  return typeof x === 'object' && x !== null && typeof (x as Source).read === 'function' && typeof (x as Source).size === 'function';
}

function isDirectoryHandle(x: unknown): x is FileSystemDirectoryHandle {
  return typeof x === 'object' && x !== null && (x as FileSystemDirectoryHandle).kind === 'directory'
    && typeof (x as FileSystemDirectoryHandle).getFileHandle === 'function';
}

/**
 * File names inside a source are plain names in one folder: no separators, no `..`, nothing
 * absolute. A shard name in an index file is untrusted input; this is what keeps it in the folder.
 */
export function assertPlainFileName(name: string, where: string): void {
  if (
    typeof name !== 'string' || name.length === 0 || name.length > 255 || name === '.' || name === '..'
    || /[/\\\0]/.test(name) || /^[a-zA-Z]:/.test(name)
  ) {
    throw new SourceError(`${where}: ${JSON.stringify(name)} is not a plain file name in the model's folder`);
  }
}

/** Fill `target` from a source: its own readInto when it has one, else a read and a copy. */
export async function readInto(source: Source, file: string, offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
  if (source.readInto) await source.readInto(file, offset, target, options);
  else target.set(await source.read(file, offset, target.length, options));
}

/** Validate a read request before touching the source. */
export function checkRange(location: string, file: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SourceError(`${location}/${file}: bad read range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new SourceError(`${location}/${file}: read of ${length} bytes at ${offset} runs past the end of the ${size}-byte file`);
  }
}

/** Wraps a source and counts what is asked of it (tests and progress reporting). */
export class CountingSource implements Source {
  bytesRequested = 0;
  largestRead = 0;
  reads = 0;
  constructor(private readonly inner: Source) {}
  get location(): string { return this.inner.location; }
  get entry(): string | null { return this.inner.entry; }
  list(): Promise<string[]> { return this.inner.list(); }
  size(file: string): Promise<number | null> { return this.inner.size(file); }
  read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    this.reads++;
    this.bytesRequested += length;
    this.largestRead = Math.max(this.largestRead, length);
    return this.inner.read(file, offset, length, options);
  }
  async readInto(file: string, offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    this.reads++;
    this.bytesRequested += target.length;
    this.largestRead = Math.max(this.largestRead, target.length);
    await readInto(this.inner, file, offset, target, options);
  }
  close(): Promise<void> { return this.inner.close(); }
}

/** A source over files held in memory (tests, and models assembled in a page). */
export class MemorySource implements Source {
  readonly entry: string | null;
  constructor(private readonly files: Map<string, Uint8Array>, readonly location = 'memory', entry: string | null = null) {
    for (const name of files.keys()) assertPlainFileName(name, location);
    this.entry = entry;
  }
  async list(): Promise<string[]> { return [...this.files.keys()]; }
  async size(file: string): Promise<number | null> { return this.files.get(file)?.length ?? null; }
  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    const bytes = this.files.get(file);
    if (!bytes) throw new SourceError(`${this.location}: no file ${JSON.stringify(file)}`);
    checkRange(this.location, file, bytes.length, offset, length);
    return bytes.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}

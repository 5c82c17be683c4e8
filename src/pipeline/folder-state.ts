// Interrupt-and-resume for an output folder (Node/Deno). Everything of an unfinished run lives in
// one hidden folder inside the output, OUT/.dsnot-partial/:
//   journal.json     what is done: the run's fingerprint, layers done, tensors written and their
//                    SHA-256, the report entries so far; replaced atomically (temp + fsync +
//                    rename) after each layer. Its first line is the SHA-256 of the JSON after it:
//                    a truncated or damaged journal is told from a good one, never trusted.
//   hidden-K.f32     the hidden states after K layers (every calibration window, then the
//                    evaluation chains), written atomically before the journal that names it (with
//                    its SHA-256)
//   <shard files>    the output shards under their final names, written in place at their final
//                    offsets; reopened (not truncated) by a resumed run, which rewrites the layer
//                    it was in the middle of with the same bytes
// The output folder itself only ever receives finished files, by rename from the partial folder,
// the model's weights last: a folder that holds them holds a complete model. An interruption at
// any point leaves either nothing new in OUT, or a partial folder a rerun resumes from.
import type { FileHandle } from 'node:fs/promises';
import { WriterError } from '../io/errors.js';
import { checkPlannedWrite, type Sink, type SinkFile } from '../io/sink.js';
import { openOutputFolder, writeFully, type Fs, type PathModule } from '../io/sinks/path.js';
import { createSha256, sha256 } from '../io/sha256.js';
import { assertPlainFileName } from '../io/source.js';
import type { DeviceKind } from '../backends/backend.js';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';
import { handleFs } from './handle-fs.js';
import type { ReadableFiles } from './integrity.js';

export const PARTIAL_DIR = '.dsnot-partial';
export const REPORT_FILE = 'dsnot-report.json';
const JOURNAL = 'journal.json';

/** The journal: JSON, versioned through the fingerprint (which includes PIPELINE_VERSION). */
export interface Journal<Entry = unknown> {
  fingerprint: string;
  device: DeviceKind;
  layers: number;
  layersDone: number;
  /** Tensors already in the partial shard files. */
  written: string[];
  /** Report entries of the finished layers. */
  entries: Entry[];
  /** The run's per-layer sparsity profile (OWL), computed once before the first layer; null: uniform. */
  profile?: unknown;
  /** SHA-256 of each tensor in `written` (checked before a resumed run trusts them). */
  hashes: Record<string, string>;
  /** The input's weight files as size and mtime (fingerprint.ts inputStamp): a resume of a changed input starts over. */
  stamp: string;
  /** The hidden-state file after layersDone layers, the length of each array in it, its SHA-256. */
  hidden: SavedHidden | null;
  /** 'commit': every file is ready in the partial folder and is being renamed into place. */
  phase: 'layers' | 'commit';
  /** In rename order (weights last). */
  commitFiles?: string[];
  /** The final report, kept for a resumed commit. */
  report?: unknown;
}

export interface SavedHidden {
  file: string;
  lengths: number[];
  sha256: string;
}

/** What reading the journal found: none, a verified one, or one that fails its checksum. */
export type JournalRead<E> = { kind: 'none' } | { kind: 'ok'; journal: Journal<E> } | { kind: 'damaged'; why: string };

const JOURNAL_MAGIC = 'dsnot-journal sha256=';

export class FolderState {
  private readonly files = new Map<string, { handle: FileHandle; size: number }>();

  private constructor(
    private readonly fs: Fs,
    private readonly path: PathModule,
    /** The output folder (absolute). */
    readonly location: string,
  ) {}

  /** `fs` replaces node:fs/promises (tests inject faults through it). */
  static async open(dir: string, fs?: Fs): Promise<FolderState> {
    const opened = await openOutputFolder(dir);
    return new FolderState(fs ?? opened.fs, opened.path, opened.location);
  }

  /**
   * A browser folder (OPFS, or one the user picked) as the same resumable folder, through the
   * File System API (handle-fs.ts). Its lock is the Web Lock openOutput takes, not lock().
   */
  static onHandle(dir: FileSystemDirectoryHandle): FolderState {
    const { fs, path, location } = handleFs(dir);
    return new FolderState(fs, path, location);
  }

  /** The folder's one-writer lock (folder-lock.ts); throws OutputBusyError when another run holds it. */
  lock(notice: (message: string) => void): Promise<FolderLock> {
    return acquireFolderLock(this.fs, this.path, this.location, notice);
  }

  get partialDir(): string {
    return this.path.join(this.location, PARTIAL_DIR);
  }

  private partial(name: string): string {
    return this.path.join(this.partialDir, name);
  }

  /** The journal of an unfinished run: none, one whose checksum and shape check out, or a damaged one. */
  async readJournal<E>(): Promise<JournalRead<E>> {
    let text: string;
    try {
      text = await this.fs.readFile(this.partial(JOURNAL), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'damaged', why: `unreadable: ${(e as Error).message}` };
    }
    const nl = text.indexOf('\n');
    if (!text.startsWith(JOURNAL_MAGIC) || nl < 0) return { kind: 'damaged', why: text.length ? 'no checksum line' : 'empty' };
    const body = text.slice(nl + 1);
    if ((await sha256(body)) !== text.slice(JOURNAL_MAGIC.length, nl)) return { kind: 'damaged', why: 'its checksum does not match (truncated or corrupt)' };
    try {
      const j = JSON.parse(body) as Journal<E>;
      const ok = typeof j.fingerprint === 'string' && Number.isInteger(j.layersDone) && Array.isArray(j.written) && Array.isArray(j.entries)
        && typeof j.hashes === 'object' && j.hashes !== null && typeof j.stamp === 'string';
      return ok ? { kind: 'ok', journal: j } : { kind: 'damaged', why: 'fields are missing' };
    } catch {
      return { kind: 'damaged', why: 'not JSON' };
    }
  }

  /**
   * Start over: remove any partial state, and the files of a previous finished dsnot run (named
   * in its dsnot-report.json). Any other visible file makes the folder unusable: never
   * overwrite what dsnot did not write.
   */
  async startFresh(): Promise<void> {
    await this.fs.rm(this.partialDir, { recursive: true, force: true });
    const names = (await this.fs.readdir(this.location)).filter((n) => !n.startsWith('.'));
    if (names.length) {
      const previous = await this.previousOutputFiles();
      const foreign = names.filter((n) => !previous.has(n));
      if (foreign.length) {
        throw new WriterError(`output folder ${this.location} is not empty (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}): choose an empty or new folder`);
      }
      // The report goes first: a crash midway leaves model files without a report, which the
      // next fresh start refuses to delete; so remove the weights first, the report last.
      for (const n of names.filter((x) => x !== REPORT_FILE)) await this.fs.rm(this.path.join(this.location, n), { force: true });
      await this.fs.rm(this.path.join(this.location, REPORT_FILE), { force: true });
    }
    await this.fs.mkdir(this.partialDir, { recursive: true });
  }

  private async previousOutputFiles(): Promise<Set<string>> {
    try {
      const r = JSON.parse(await this.fs.readFile(this.path.join(this.location, REPORT_FILE), 'utf8')) as { files?: unknown };
      if (Array.isArray(r.files)) return new Set([...r.files.filter((f): f is string => typeof f === 'string'), REPORT_FILE]);
    } catch { /* no readable report: nothing is ours */ }
    return new Set();
  }

  /** A sink whose files are created (or reopened) in the partial folder; commit() only flushes. */
  sink(): Sink {
    return {
      location: this.location,
      create: async (name, size) => this.openFile(name, size),
    };
  }

  private async openFile(name: string, size: number): Promise<SinkFile> {
    assertPlainFileName(name, this.location);
    const file = this.partial(name);
    const existing = await this.fs.stat(file).catch(() => null);
    // Reopen a file a previous session started (resume); anything else starts empty.
    const handle = await this.fs.open(file, existing?.isFile() && existing.size === size ? 'r+' : 'w+');
    if (!existing || existing.size !== size) await handle.truncate(size);
    this.files.set(name, { handle, size });
    let open = true;
    return {
      write: async (bytes, position) => {
        if (!open) throw new WriterError(`${file}: write after commit`);
        checkPlannedWrite(file, bytes.length, position, size);
        await writeFully(handle, bytes, position);
      },
      // Flushed and closed; the rename into the output folder is commitFiles()'s.
      commit: async () => {
        if (!open) return;
        open = false;
        this.files.delete(name);
        await handle.sync();
        await handle.close();
      },
      // Kept: a later run resumes into it.
      abort: async () => {
        if (!open) return;
        open = false;
        this.files.delete(name);
        await handle.close().catch(() => {});
      },
    };
  }

  /** fsync every open partial file (before a journal says their layer is done). */
  async syncFiles(): Promise<void> {
    for (const { handle } of this.files.values()) await handle.sync();
  }

  /** Close every open partial file, keeping it (interruption). */
  async closeFiles(): Promise<void> {
    for (const { handle } of this.files.values()) await handle.close().catch(() => {});
    this.files.clear();
  }

  /** The hidden states, written atomically; returns the file name, lengths and hash for the journal. */
  async saveHidden(layersDone: number, arrays: readonly Float32Array[]): Promise<SavedHidden> {
    const name = `hidden-${layersDone}.f32`;
    const tmp = this.partial(`${name}.tmp`);
    const hash = await createSha256();
    const h = await this.fs.open(tmp, 'w');
    try {
      let at = 0;
      for (const a of arrays) {
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        hash.update(bytes);
        await writeFully(h, bytes, at);
        at += bytes.length;
      }
      await h.sync();
    } finally {
      await h.close();
    }
    await this.fs.rename(tmp, this.partial(name));
    return { file: name, lengths: arrays.map((a) => a.length), sha256: hash.hex() };
  }

  /** The saved hidden states; throws WriterError when the file's size or SHA-256 is not the journal's. */
  async loadHidden(saved: SavedHidden): Promise<Float32Array[]> {
    const h = await this.fs.open(this.partial(saved.file), 'r');
    try {
      const { size } = await h.stat();
      const total = saved.lengths.reduce((n, l) => n + l * 4, 0);
      if (size !== total) throw new WriterError(`${this.partial(saved.file)}: ${size} bytes, the journal expects ${total}`);
      const out: Float32Array[] = [];
      let at = 0;
      for (const len of saved.lengths) {
        const a = new Float32Array(len);
        const bytes = new Uint8Array(a.buffer);
        let done = 0;
        while (done < bytes.length) {
          const { bytesRead } = await h.read(bytes, done, bytes.length - done, at + done);
          if (bytesRead === 0) throw new WriterError(`${this.partial(saved.file)} ended early`);
          done += bytesRead;
        }
        at += bytes.length;
        out.push(a);
      }
      const hash = await createSha256();
      for (const a of out) hash.update(new Uint8Array(a.buffer));
      if (hash.hex() !== saved.sha256) throw new WriterError(`${this.partial(saved.file)}: its SHA-256 is not the one the journal recorded (the file was damaged)`);
      return out;
    } finally {
      await h.close();
    }
  }

  /** Replace the journal atomically, then drop hidden-state files it no longer names. */
  async writeJournal<E>(j: Journal<E>): Promise<void> {
    const tmp = this.partial(`${JOURNAL}.tmp`);
    const body = JSON.stringify(j);
    const h = await this.fs.open(tmp, 'w');
    try {
      await h.writeFile(`${JOURNAL_MAGIC}${await sha256(body)}\n${body}`);
      await h.sync();
    } finally {
      await h.close();
    }
    await this.fs.rename(tmp, this.partial(JOURNAL));
    for (const n of await this.fs.readdir(this.partialDir)) {
      if (/^hidden-\d+\.f32(\.tmp)?$/.test(n) && n !== j.hidden?.file) await this.fs.rm(this.partial(n), { force: true });
    }
  }

  /**
   * Read access to the run's files for checks: from the partial folder, or from the output folder
   * for a file an interrupted commit already moved there.
   */
  readable(): ReadableFiles {
    const where = async (name: string) => {
      assertPlainFileName(name, this.location);
      const p = this.partial(name);
      return (await this.fs.stat(p).catch(() => null))?.isFile() ? p : this.path.join(this.location, name);
    };
    return {
      size: async (name) => {
        const s = await this.fs.stat(await where(name)).catch(() => null);
        return s?.isFile() ? s.size : null;
      },
      read: async (name, offset, length) => {
        const h = await this.fs.open(await where(name), 'r');
        try {
          const out = new Uint8Array(length);
          for (let done = 0; done < length;) {
            const { bytesRead } = await h.read(out, done, length - done, offset + done);
            if (bytesRead === 0) throw new WriterError(`${name} ended early (${offset + done} bytes)`);
            done += bytesRead;
          }
          return out;
        } finally {
          await h.close();
        }
      },
    };
  }

  /** Names of the safetensors files in the partial folder. */
  async partialShards(): Promise<string[]> {
    return (await this.fs.readdir(this.partialDir)).filter((n) => n.endsWith('.safetensors'));
  }

  /**
   * Throw the partial state away so that the next run starts over: the partial folder, and the
   * files an interrupted commit had already moved into the output folder (`moved`: the journal's
   * commit list, all dsnot's own). The report goes last, as in startFresh.
   */
  async discard(moved: readonly string[] = []): Promise<void> {
    await this.fs.rm(this.partialDir, { recursive: true, force: true });
    for (const n of [...moved].sort((a, b) => Number(a === REPORT_FILE) - Number(b === REPORT_FILE))) {
      await this.fs.rm(this.path.join(this.location, n), { force: true });
    }
  }

  /**
   * Move the finished files into the output folder in the given order (the weights last), then
   * remove the partial folder. Idempotent: a file already moved by an interrupted commit is skipped.
   */
  async commitFiles(names: readonly string[]): Promise<void> {
    for (const n of names) {
      const from = this.partial(n);
      const to = this.path.join(this.location, n);
      if (await this.fs.stat(from).catch(() => null)) await this.fs.rename(from, to);
      else if (!(await this.fs.stat(to).catch(() => null))) throw new WriterError(`${from}: missing while committing the output`);
    }
    await this.fs.rm(this.partialDir, { recursive: true, force: true });
  }
}

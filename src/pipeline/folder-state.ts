// Interrupt-and-resume for an output folder (Node/Deno). Everything of an unfinished run lives in
// one hidden folder inside the output, OUT/.dsnot-partial/:
//   journal.json     what is done: the run's fingerprint, layers done, tensors written, the report
//                    entries so far; replaced atomically (temp + fsync + rename) after each layer
//   hidden-K.f32     the hidden states after K layers (every calibration window, then the
//                    evaluation chains), written atomically before the journal that names it
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
import { assertPlainFileName } from '../io/source.js';
import type { DeviceKind } from '../backends/backend.js';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';

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
  /** The hidden-state file after layersDone layers and the length of each array in it. */
  hidden: { file: string; lengths: number[] } | null;
  /** 'commit': every file is ready in the partial folder and is being renamed into place. */
  phase: 'layers' | 'commit';
  /** In rename order (weights last). */
  commitFiles?: string[];
  /** The final report, kept for a resumed commit. */
  report?: unknown;
}

export class FolderState {
  private readonly files = new Map<string, { handle: FileHandle; size: number }>();

  private constructor(
    private readonly fs: Fs,
    private readonly path: PathModule,
    /** The output folder (absolute). */
    readonly location: string,
  ) {}

  static async open(dir: string): Promise<FolderState> {
    const { fs, path, location } = await openOutputFolder(dir);
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

  /** The journal of an unfinished run, or null (none, or unreadable: then it cannot be trusted). */
  async readJournal<E>(): Promise<Journal<E> | null> {
    try {
      const j = JSON.parse(await this.fs.readFile(this.partial(JOURNAL), 'utf8')) as Journal<E>;
      return typeof j.fingerprint === 'string' && Number.isInteger(j.layersDone) ? j : null;
    } catch {
      return null;
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

  /** The hidden states, written atomically; returns the file name and lengths for the journal. */
  async saveHidden(layersDone: number, arrays: readonly Float32Array[]): Promise<{ file: string; lengths: number[] }> {
    const name = `hidden-${layersDone}.f32`;
    const tmp = this.partial(`${name}.tmp`);
    const h = await this.fs.open(tmp, 'w');
    try {
      let at = 0;
      for (const a of arrays) {
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        await writeFully(h, bytes, at);
        at += bytes.length;
      }
      await h.sync();
    } finally {
      await h.close();
    }
    await this.fs.rename(tmp, this.partial(name));
    return { file: name, lengths: arrays.map((a) => a.length) };
  }

  async loadHidden(saved: { file: string; lengths: number[] }): Promise<Float32Array[]> {
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
      return out;
    } finally {
      await h.close();
    }
  }

  /** Replace the journal atomically, then drop hidden-state files it no longer names. */
  async writeJournal<E>(j: Journal<E>): Promise<void> {
    const tmp = this.partial(`${JOURNAL}.tmp`);
    const h = await this.fs.open(tmp, 'w');
    try {
      await h.writeFile(JSON.stringify(j));
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

// Where prune() writes: a folder path (resumable, through FolderState) or any other sink
// (a browser directory handle, a BlobSink, a custom Sink: files commit as they finish, and an
// interrupted run starts over). The pipeline drives both the same way:
//   begin → (per layer: write tensors, checkpoint) → write side files, report, finish the
//   writer → commit;   on failure: interrupted.   Last, always: release.
// openOutput takes the output's lock (one writer per folder; folder-lock.ts, web-lock.ts) before
// anything reads or changes the folder, and release() gives it back on every way out.
import { openSink, type OutputTarget, type Sink } from '../io/sink.js';
import type { SafetensorsWriter } from '../io/safetensors-writer.js';
import type { FolderLock } from './folder-lock.js';
import { FolderState, type Journal } from './folder-state.js';
import { acquireWebLock } from './web-lock.js';
import type { LinearReport } from './report.js';

export type PipelineJournal = Journal<LinearReport>;

export interface BeginResult {
  /** The journal to resume from (same fingerprint), or null. */
  journal: PipelineJournal | null;
  /** Why a partial run was discarded. */
  restarted: string | null;
}

export interface PipelineOutput {
  readonly location: string;
  readonly sink: Sink;
  readonly resumable: boolean;
  begin(fingerprint: string, resume: boolean): Promise<BeginResult>;
  checkpoint(journal: Omit<PipelineJournal, 'hidden'>, hidden: readonly Float32Array[]): Promise<void>;
  loadHidden(journal: PipelineJournal): Promise<Float32Array[]>;
  /** Everything is written (the writer finished): make the files appear, weights last. */
  commit(files: readonly string[], journal: PipelineJournal): Promise<void>;
  /** The run stops early: keep what a rerun resumes from, remove everything else. */
  interrupted(writer: SafetensorsWriter | null): Promise<void>;
  /** Give back the output's lock (after commit or interrupted); never throws. */
  release(): Promise<void>;
}

/**
 * Open the output and take its lock: a folder path locks with a lock file, a browser folder with
 * the Web Locks API; a custom Sink is not locked. Throws OutputBusyError when another run holds
 * it. `notice` gets one-line messages (a stale lock taken over, no Web Locks API).
 */
export async function openOutput(target: OutputTarget, notice: (message: string) => void = () => {}): Promise<PipelineOutput> {
  if (typeof target === 'string') {
    const state = await FolderState.open(target);
    return folderOutput(state, await state.lock(notice));
  }
  const sink = await openSink(target);
  const isFolder = typeof (target as Sink).create !== 'function' && (target as FileSystemDirectoryHandle).kind === 'directory';
  return sinkOutput(sink, isFolder ? await acquireWebLock(target as FileSystemDirectoryHandle, notice) : null);
}

function folderOutput(state: FolderState, lock: FolderLock): PipelineOutput {
  return {
    location: state.location,
    sink: state.sink(),
    resumable: true,
    release: () => lock.release(),
    async begin(fingerprint, resume) {
      const journal = await state.readJournal<LinearReport>();
      if (journal && resume && journal.fingerprint === fingerprint) return { journal, restarted: null };
      const restarted = journal
        ? resume ? 'the partial run in the output folder was made with a different model, options, calibration data or device: starting over'
          : 'resume is off: the partial run in the output folder was discarded'
        : null;
      await state.startFresh();
      return { journal: null, restarted };
    },
    async checkpoint(journal, hidden) {
      await state.syncFiles();
      const saved = await state.saveHidden(journal.layersDone, hidden);
      await state.writeJournal({ ...journal, hidden: saved });
    },
    loadHidden(journal) {
      if (!journal.hidden) throw new Error('the journal names no hidden states');
      return state.loadHidden(journal.hidden);
    },
    async commit(files, journal) {
      await state.writeJournal({ ...journal, phase: 'commit', commitFiles: [...files] });
      await state.commitFiles(files);
    },
    async interrupted() {
      await state.closeFiles();
    },
  };
}

function sinkOutput(sink: Sink, lock: FolderLock | null): PipelineOutput {
  return {
    location: sink.location,
    sink,
    resumable: false,
    release: async () => lock?.release(),
    async begin() {
      return { journal: null, restarted: null };
    },
    async checkpoint() {},
    async loadHidden() {
      throw new Error('a sink output keeps no hidden states');
    },
    async commit() {},
    async interrupted(writer) {
      await writer?.abort();
    },
  };
}

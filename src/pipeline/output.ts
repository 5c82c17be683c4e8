// Where prune() writes: a folder (resumable, through FolderState): a path, or a browser directory
// handle (OPFS or a picked folder, through handle-fs.ts); or any other sink (a BlobSink, a custom
// Sink: files commit as they finish, and an interrupted run starts over). The pipeline drives both the same way:
//   begin → (per layer: write tensors, checkpoint) → write side files, report, finish the
//   writer → commit;   on failure: interrupted.   Last, always: release.
// openOutput takes the output's lock (one writer per folder; folder-lock.ts, web-lock.ts) before
// anything reads or changes the folder, and release() gives it back on every way out.
import { WriterError } from '../io/errors.js';
import { openSink, type OutputTarget, type Sink } from '../io/sink.js';
import type { SafetensorsWriter } from '../io/safetensors-writer.js';
import type { Fs } from '../io/sinks/path.js';
import type { FolderLock } from './folder-lock.js';
import { FolderState, type Journal } from './folder-state.js';
import { checkShards, hashFile, type Integrity } from './integrity.js';
import { checkPartialState } from './partial-check.js';
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
  /** Read and check the partial state; resume it if it is this run's (fingerprint and input stamp) and checks out. */
  begin(fingerprint: string, stamp: string, resume: boolean): Promise<BeginResult>;
  checkpoint(journal: Omit<PipelineJournal, 'hidden'>, hidden: readonly Float32Array[]): Promise<void>;
  loadHidden(journal: PipelineJournal): Promise<Float32Array[]>;
  /**
   * Everything is written (the writer finished): check the written files against the hashes
   * recorded while writing (`integrity`), then make them appear, weights last. A file that fails
   * the check discards the partial state and throws: nothing unverified is published.
   */
  commit(files: readonly string[], journal: PipelineJournal, integrity: Integrity): Promise<void>;
  /** Throw away the partial state (the next run starts over); folder outputs only. */
  discard(): Promise<void>;
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
export async function openOutput(target: OutputTarget, notice: (message: string) => void = () => {}, fs?: Fs): Promise<PipelineOutput> {
  if (typeof target === 'string') {
    const state = await FolderState.open(target, fs);
    return folderOutput(state, await state.lock(notice));
  }
  const isFolder = typeof (target as Sink).create !== 'function' && (target as FileSystemDirectoryHandle).kind === 'directory';
  if (!isFolder) return sinkOutput(await openSink(target), null);
  // A browser folder resumes as a folder on disk does; the Web Lock stands for the lock file.
  const lock = await acquireWebLock(target as FileSystemDirectoryHandle, notice);
  return folderOutput(FolderState.onHandle(target as FileSystemDirectoryHandle), lock ?? { release: async () => {} });
}

function folderOutput(state: FolderState, lock: FolderLock): PipelineOutput {
  return {
    location: state.location,
    sink: state.sink(),
    resumable: true,
    release: () => lock.release(),
    async begin(fingerprint, stamp, resume) {
      const read = await state.readJournal<LinearReport>();
      let restarted: string | null = null;
      if (read.kind === 'damaged') {
        restarted = `the partial run's journal ${state.partialDir}/journal.json is damaged (${read.why}), so its state cannot be trusted: starting over from the first layer`;
      } else if (read.kind === 'ok') {
        const j = read.journal;
        if (!resume) restarted = 'resume is off: the partial run in the output folder was discarded';
        else if (j.fingerprint !== fingerprint) restarted = 'the partial run in the output folder was made with a different model, options, calibration data or device: starting over';
        else if (j.stamp !== stamp) restarted = "the input model's weight files changed (size or modification time) since the partial run in the output folder: starting over";
        else {
          const bad = await checkPartialState(state, j);
          if (!bad) return { journal: j, restarted: null };
          restarted = `the partial run in the output folder failed its check (${bad}), so it cannot be trusted: starting over from the first layer`;
        }
      }
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
    async commit(files, journal, integrity) {
      const problems = await checkFiles(state, integrity);
      if (problems.length) {
        await state.discard(journal.phase === 'commit' ? journal.commitFiles : []);
        throw new WriterError(`${state.location}: the written output failed its check before being published (${problems[0]}${problems.length > 1 ? `; and ${problems.length - 1} more` : ''}): the disk or another program changed it. The partial state was discarded; run the same command again to start over`);
      }
      await state.writeJournal({ ...journal, phase: 'commit', commitFiles: [...files] });
      await state.commitFiles(files);
    },
    discard: () => state.discard(),
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
    async discard() {},
    async interrupted(writer) {
      await writer?.abort();
    },
  };
}

/** The shards (headers and tensors) and the side files as written, against their recorded hashes. */
async function checkFiles(state: FolderState, integrity: Integrity): Promise<string[]> {
  const files = state.readable();
  const problems = await checkShards(files, integrity.headers, integrity.tensors);
  for (const [name, hash] of Object.entries(integrity.files)) {
    const got = await hashFile(files, name).catch(() => null);
    if (got?.hash !== hash) problems.push(`${name} ${got ? 'differs from the bytes written' : 'is missing'}`);
  }
  return problems;
}

// Where prune() writes: a folder path (resumable, through FolderState) or any other sink
// (a browser directory handle, a BlobSink, a custom Sink: files commit as they finish, and an
// interrupted run starts over). The pipeline drives both the same way:
//   begin → (per layer: write tensors, checkpoint) → write side files, report, finish the
//   writer → commit;   on failure: interrupted.
import { openSink, type OutputTarget, type Sink } from '../io/sink.js';
import type { SafetensorsWriter } from '../io/safetensors-writer.js';
import { FolderState, type Journal } from './folder-state.js';
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
}

export async function openOutput(target: OutputTarget): Promise<PipelineOutput> {
  if (typeof target === 'string') return folderOutput(await FolderState.open(target));
  return sinkOutput(await openSink(target));
}

function folderOutput(state: FolderState): PipelineOutput {
  return {
    location: state.location,
    sink: state.sink(),
    resumable: true,
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

function sinkOutput(sink: Sink): PipelineOutput {
  return {
    location: sink.location,
    sink,
    resumable: false,
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

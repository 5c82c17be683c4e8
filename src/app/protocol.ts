// The messages between the page (main.ts) and the worker that runs prune() (worker.ts). Picked
// files and folder handles cross as they are (structured clone), URLs as strings.
import type { PruneSettings } from '../cli/prune-flags.js';
import type { PruneProgress, PruneReport } from '../prune.js';

export type ModelChoice = { url: string } | { handle: FileSystemDirectoryHandle } | { files: Array<{ path: string; file: File }> };
export type DataChoice = { url: string } | { file: File };
/** OPFS: navigator.storage → dsnot/<name>; folder: one the user picked for writing. */
export type OutputChoice = { kind: 'opfs'; name: string } | { kind: 'folder'; handle: FileSystemDirectoryHandle };

export interface RunRequest {
  model: ModelChoice;
  calib: DataChoice;
  eval?: { data: DataChoice; kind: 'text' | 'tokens'; seqlen?: number };
  settings: PruneSettings;
  output: OutputChoice;
}

export type WorkerMessage =
  | { type: 'progress'; progress: PruneProgress }
  | { type: 'done'; report: PruneReport }
  | { type: 'error'; message: string; busy: boolean };

/** The OPFS folder that holds the app's outputs (one folder per output name inside it). */
export const OPFS_ROOT = 'dsnot';

export async function opfsFolder(name: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return (await root.getDirectoryHandle(OPFS_ROOT, { create })).getDirectoryHandle(name, { create });
}

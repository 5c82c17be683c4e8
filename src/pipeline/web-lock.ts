// One writer per browser folder (OPFS or a picked folder): the Web Locks API, which every tab and
// worker of one origin shares. A folder cannot hold a lock file that survives a closed tab the
// way a pid does, and the browser releases a Web Lock itself when its tab goes away, so nothing
// is ever stale. Where navigator.locks is missing, the run goes ahead unlocked (and says so).
import { OutputBusyError, type FolderLock } from './folder-lock.js';

/** The part of LockManager used here (tests pass their own). */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void> | void): Promise<unknown>;
}

/**
 * Take the folder's Web Lock, or throw OutputBusyError; null: no Web Locks API here (`notice`
 * says so). The lock is held until release().
 */
export async function acquireWebLock(
  dir: FileSystemDirectoryHandle, notice: (message: string) => void,
  locks: LockManagerLike | undefined = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks,
): Promise<FolderLock | null> {
  const location = dir.name || 'folder';
  if (!locks) {
    notice(`${location}: this browser has no Web Locks API, so the folder is not locked against another tab writing to it`);
    return null;
  }
  const name = `dsnot-output:${await folderKey(dir)}`;
  const release = await new Promise<(() => void) | null>((resolve, reject) => {
    // The lock is held while the callback's promise is pending: it resolves on release().
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) return resolve(null);
      return new Promise<void>((done) => resolve(done));
    }).catch(reject);
  });
  if (!release) throw new OutputBusyError(`${location} is being written by another run (another tab or worker of this site); wait for it or choose another folder`, null);
  return { release: async () => release() };
}

/** The folder's path inside OPFS where it is there; otherwise its name (a picked folder). */
async function folderKey(dir: FileSystemDirectoryHandle): Promise<string> {
  try {
    const root = await globalThis.navigator?.storage?.getDirectory?.();
    const parts = root ? await root.resolve(dir) : null;
    if (parts) return `opfs:/${parts.join('/')}`;
  } catch { /* no OPFS here: fall back to the name */ }
  return `folder:${dir.name}`;
}

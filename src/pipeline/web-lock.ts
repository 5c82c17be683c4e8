// One writer per browser folder (OPFS or a picked folder): the Web Locks API, which every tab and
// worker of one origin shares. A folder cannot hold a lock file that survives a closed tab the
// way a pid does, and the browser releases a Web Lock itself when its tab goes away, so nothing
// is ever stale. But it releases it only once the old tab's worker has stopped, which can take a
// moment after a reload, so a held lock is waited for briefly (RELEASE_GRACE_MS) before the folder
// is called busy. Where navigator.locks is missing, the run goes ahead unlocked (and says so).
import { OutputBusyError, type FolderLock } from './folder-lock.js';

/** The part of LockManager used here (tests pass their own). */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<void> | void): Promise<unknown>;
}

/** How long a held lock is waited for: a reloaded or closed tab's worker is stopped within it. */
export const RELEASE_GRACE_MS = 5_000;

/**
 * Take the folder's Web Lock, or throw OutputBusyError once it has stayed held for `graceMs`;
 * null: no Web Locks API here (`notice` says so). The lock is held until release().
 */
export async function acquireWebLock(
  dir: FileSystemDirectoryHandle, notice: (message: string) => void,
  locks: LockManagerLike | undefined = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks,
  graceMs = RELEASE_GRACE_MS,
): Promise<FolderLock | null> {
  const location = dir.name || 'folder';
  if (!locks) {
    notice(`${location}: this browser has no Web Locks API, so the folder is not locked against another tab writing to it`);
    return null;
  }
  const name = `dsnot-output:${await folderKey(dir)}`;
  let release = await holdLock(locks, name, { ifAvailable: true });
  if (!release) {
    notice(`${location} is locked by another run; waiting up to ${graceMs / 1000} s in case it is a tab that was just reloaded or closed`);
    release = await holdLock(locks, name, { signal: AbortSignal.timeout(graceMs) });
  }
  if (!release) throw new OutputBusyError(`${location} is being written by another run (another tab or worker of this site); wait for it or choose another folder`, null);
  return { release: async () => release() };
}

/**
 * Request the lock and keep it: resolves to its release function, or null when it was not granted
 * (`ifAvailable` and held, or the signal fired first). The lock is held while the callback's
 * promise is pending, which resolves on release().
 */
function holdLock(locks: LockManagerLike, name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    locks.request(name, options, (lock) => {
      if (!lock) return resolve(null);
      return new Promise<void>((done) => resolve(done));
    }).catch((e: unknown) => (options.signal?.aborted ? resolve(null) : reject(e)));
  });
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

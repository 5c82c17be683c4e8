// One writer per output folder (Node/Deno). Two runs into one folder interleave their layers in
// the same partial shard files and journal, and the survivor commits a model whose weights do
// not match its report; so a run holds OUT/.dsnot-lock from before it reads the partial state
// until after its last rename. The lock is a small JSON file made by an exclusive create (a hard
// link of a written file, which never shows an empty lock): of two runs, exactly one creates it. It lies next to
// .dsnot-partial, not inside it, because starting fresh and committing remove that folder.
// A lock whose process is gone (SIGKILL, power loss) is taken over; one from another host, or one
// that cannot be read, is not: dsnot cannot tell whether that run is still writing.
import { WriterError } from '../io/errors.js';
import type { Fs, PathModule } from '../io/sinks/path.js';
import { DsnotInputError } from '../validate.js';

export const LOCK_FILE = '.dsnot-lock';

/** What the lock file holds. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the run took the lock. */
  started: string;
  command: string;
  /** Tells this lock from a later one of a reused pid (release and takeover compare it). */
  token: string;
}

/** The output folder is being written by another run (or its lock cannot be read). */
export class OutputBusyError extends DsnotInputError {
  override name = 'OutputBusyError';
  constructor(message: string, readonly holder: Partial<LockInfo> | null) {
    super(message);
  }
}

export interface FolderLock {
  /** Remove the lock if it is still this run's; never throws. Safe to call twice. */
  release(): Promise<void>;
}

type Read = { kind: 'gone' } | { kind: 'corrupt'; why: string } | { kind: 'ok'; info: LockInfo; text: string };

/**
 * Take the folder's lock or throw OutputBusyError. `notice` gets one line when a stale lock
 * (its process gone, on this host) is taken over.
 */
export async function acquireFolderLock(fs: Fs, path: PathModule, location: string, notice: (message: string) => void): Promise<FolderLock> {
  const file = path.join(location, LOCK_FILE);
  const me = await ownInfo();
  // Each pass either takes the lock, refuses, or removes one stale lock; a few passes cover a
  // lock that vanishes between the failed create and the read (its run just ended).
  for (let pass = 0; pass < 4; pass++) {
    if (await tryCreate(fs, file, me)) return { release: () => release(fs, file, me.token) };
    const held = await readLock(fs, file);
    if (held.kind === 'gone') continue;
    if (held.kind === 'corrupt') {
      throw new OutputBusyError(`${location} may be being written by another run: its lock ${file} is unreadable (${held.why}); wait for it or choose another --out, and if no run is active, remove ${file}`, null);
    }
    const { info } = held;
    if (info.hostname !== me.hostname) {
      throw new OutputBusyError(`${location} is being written by another run on host ${info.hostname} (pid ${info.pid}, started ${info.started}); wait for it or choose another --out (a run on another host cannot be checked from here: if it is gone, remove ${file})`, info);
    }
    if (isAlive(info)) throw new OutputBusyError(`${location} is being written by another run (pid ${info.pid}, started ${info.started}); wait for it or choose another --out`, info);
    if (await removeStale(fs, file, held.text)) notice(`${location}: the run that held its lock (pid ${info.pid}, started ${info.started}) is gone; lock taken over`);
  }
  throw new OutputBusyError(`${location}: could not take the lock ${file} (other runs keep taking it); wait for them or choose another --out`, null);
}

async function ownInfo(): Promise<LockInfo> {
  const os = await import('node:os');
  const { randomBytes } = await import('node:crypto');
  return {
    pid: process.pid,
    hostname: hostnameOf(os),
    started: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 500),
    token: randomBytes(8).toString('hex'),
  };
}

/** Deno without --allow-sys cannot read the host name: such runs all count as one host. */
function hostnameOf(os: typeof import('node:os')): string {
  try {
    return os.hostname();
  } catch {
    return 'unknown host';
  }
}

/**
 * Exclusive create of a lock that is never seen empty: the contents go to a file of this run's
 * own first, which is then hard-linked to the lock's name (link fails with EEXIST when the lock
 * exists, as O_EXCL does). A run killed between an exclusive create and its write would leave an
 * empty lock that the next run must refuse as unreadable. Where the file system has no hard
 * links (FAT, some network and FUSE mounts), open 'wx' + write is the fallback. False: the lock
 * exists.
 */
async function tryCreate(fs: Fs, file: string, me: LockInfo): Promise<boolean> {
  const own = `${file}.${me.token}.tmp`;
  try {
    await writeSynced(fs, own, JSON.stringify(me));
  } catch (e) {
    await fs.rm(own, { force: true }).catch(() => {});
    throw new WriterError(`cannot write the lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await fs.link(own, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code ?? '')) throw new WriterError(`cannot create the lock ${file}: ${(e as Error).message}`, { cause: e });
    return createExclusive(fs, file, me);
  } finally {
    await fs.rm(own, { force: true }).catch(() => {});
  }
}

/** What link() says on a file system without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** The fallback: open 'wx' (O_CREAT|O_EXCL), then write; a lock that cannot be written is removed again. */
async function createExclusive(fs: Fs, file: string, me: LockInfo): Promise<boolean> {
  let h: Awaited<ReturnType<Fs['open']>>;
  try {
    h = await fs.open(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new WriterError(`cannot create the lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await h.writeFile(JSON.stringify(me));
    await h.sync();
    await h.close();
  } catch (e) {
    await h.close().catch(() => {});
    await fs.rm(file, { force: true });
    throw new WriterError(`cannot write the lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  return true;
}

async function writeSynced(fs: Fs, file: string, text: string): Promise<void> {
  const h = await fs.open(file, 'w');
  try {
    await h.writeFile(text);
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * The lock's contents. A run that has just created its lock may not have written it yet, so an
 * empty or half file is read again a few times before it counts as corrupt.
 */
async function readLock(fs: Fs, file: string): Promise<Read> {
  let why = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 40));
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
      return { kind: 'corrupt', why: (e as Error).message };
    }
    try {
      const info = JSON.parse(text) as LockInfo;
      if (Number.isInteger(info.pid) && info.pid > 0 && typeof info.hostname === 'string' && typeof info.started === 'string') return { kind: 'ok', info, text };
      why = 'no pid, hostname and start time in it';
    } catch {
      why = text.length ? 'not JSON' : 'empty';
    }
  }
  return { kind: 'corrupt', why };
}

/** Whether the lock's process (on this host) still exists. */
function isAlive(info: LockInfo): boolean {
  if (info.pid === process.pid) {
    // Our own pid: another prune() in this process, or a lock left by an earlier process that had
    // the same pid (containers reuse small pids); the latter started before this process did.
    const processStart = Date.now() - process.uptime() * 1000;
    return !(Date.parse(info.started) < processStart - 1000);
  }
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (e) {
    // ESRCH: no such process. EPERM: it exists (another user's). Anything else (a runtime
    // without signal 0): assume it exists; the user can remove the lock.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Remove a lock judged stale, without removing a live one that replaced it meanwhile (two runs
 * may find the same stale lock): it is renamed aside (atomic, one run wins), and removed only if
 * the renamed file is the one that was judged; otherwise it is put back.
 */
async function removeStale(fs: Fs, file: string, judged: string): Promise<boolean> {
  const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return false; // gone already: another run took it over, or its owner released it
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => null);
  if (moved === judged) {
    await fs.rm(aside, { force: true });
    return true;
  }
  await fs.rename(aside, file).catch(() => {});
  return false;
}

async function release(fs: Fs, file: string, token: string): Promise<void> {
  try {
    const info = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<LockInfo>;
    // Only our own lock: a user may have removed ours and another run taken the folder.
    if (info.token === token) await fs.rm(file, { force: true });
  } catch { /* gone or unreadable: not ours to remove */ }
}

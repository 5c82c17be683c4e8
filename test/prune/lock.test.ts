// One writer per output folder: two runs into one folder never both write (the loser refuses at
// once with a message naming the holder), a stale lock of a dead process is taken over, a lock
// from another host or one that cannot be read is not, and the lock is gone after every way out
// a run controls. Browser folders: the Web Locks API, checked with a stand-in LockManager.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCK_FILE, OutputBusyError, type LockInfo } from '../../src/pipeline/folder-lock.js';
import { PARTIAL_DIR } from '../../src/pipeline/folder-state.js';
import { openOutput } from '../../src/pipeline/output.js';
import { acquireWebLock, type LockManagerLike } from '../../src/pipeline/web-lock.js';
import { prune, type PruneOptions, type PruneReport } from '../../src/prune.js';
import { faultyFs } from './faulty-fs.js';
import { calibrationWindows, HF, readWeights, tempDir, zerosIn } from './helpers.js';

const base = (): Omit<PruneOptions, 'output'> => ({
  model: resolve(HF), calibration: { tokens: calibrationWindows(4, 32) }, device: 'wasm',
});
const lockOf = (dir: string) => join(dir, LOCK_FILE);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function writeLock(dir: string, info: Partial<LockInfo>): string {
  const text = JSON.stringify({ hostname: hostname(), started: '2026-01-02T03:04:05.000Z', command: 'test', token: 'abc', ...info });
  writeFileSync(lockOf(dir), text);
  return text;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

/** The written weights agree with the report: every linear's zeros, and the total. */
function expectWeightsMatchReport(dir: string, report: PruneReport): void {
  const weights = readWeights(join(dir, 'model.safetensors'));
  let zeros = 0;
  for (const e of report.linears) {
    expect(zerosIn(weights.get(e.weight)!), e.weight).toBe(e.zeros);
    zeros += e.zeros;
  }
  expect(zeros).toBe(report.totals.zeros);
}

/** Nothing of the lock is left: neither the lock nor a stale one set aside. */
function expectNoLock(dir: string): void {
  expect(readdirSync(dir).filter((n) => n.startsWith(LOCK_FILE))).toEqual([]);
}

describe('two runs into one folder', () => {
  it('at the same time: exactly one writes, the other refuses at once naming the holder; the folder agrees with its report', async () => {
    const dir = tempDir();
    const settled: string[] = [];
    const runs = [0.5, 0.6].map((sparsity) => prune({ ...base(), output: dir, sparsity }).finally(() => settled.push(String(sparsity))));
    const [a, b] = await Promise.allSettled(runs);
    const results = [a, b];
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const err = lost[0].reason as OutputBusyError;
    expect(err).toBeInstanceOf(OutputBusyError);
    expect(err.message).toMatch(new RegExp(`^${escape(dir)} is being written by another run \\(pid ${process.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it or choose another --out$`));
    // The loser settled first: it did not wait for the winner's run.
    const report = (won[0] as PromiseFulfilledResult<PruneReport>).value;
    expect(settled[0]).not.toBe(String(report.sparsity));
    expectWeightsMatchReport(dir, report);
    expectNoLock(dir);
    expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
  });

  it('a lock naming a live process on this host is refused, and left as it was', async () => {
    const dir = tempDir();
    const text = writeLock(dir, { pid: process.ppid });
    await expect(prune({ ...base(), output: dir })).rejects.toThrow(`${dir} is being written by another run (pid ${process.ppid}, started 2026-01-02T03:04:05.000Z); wait for it or choose another --out`);
    expect(readFileSync(lockOf(dir), 'utf8')).toBe(text);
    expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
  });
});

describe('a lock left behind', () => {
  it('naming a dead process on this host: taken over with a notice; the run completes and removes it', async () => {
    const dir = tempDir();
    const pid = deadPid();
    writeLock(dir, { pid });
    const messages: string[] = [];
    const report = await prune({ ...base(), output: dir, progress_callback: (p) => p.message && messages.push(p.message) });
    expect(messages).toContain(`${dir}: the run that held its lock (pid ${pid}, started 2026-01-02T03:04:05.000Z) is gone; lock taken over`);
    expectWeightsMatchReport(dir, report);
    expectNoLock(dir);
  });

  it('two runs finding the same stale lock: one takes it over, the other then finds it held', async () => {
    const dir = tempDir();
    const pid = deadPid();
    writeLock(dir, { pid });
    const messages: string[] = [];
    const runs = [0.5, 0.6].map((sparsity) => prune({ ...base(), output: dir, sparsity, progress_callback: (p) => p.message && messages.push(p.message) }));
    const results = await Promise.allSettled(runs);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect(lost.reason).toBeInstanceOf(OutputBusyError);
    expect(messages.filter((m) => m.endsWith('lock taken over'))).toHaveLength(1);
    expectNoLock(dir);
  });

  it("naming this process's pid from before it started (a reused pid): taken over", async () => {
    const dir = tempDir();
    writeLock(dir, { pid: process.pid, started: '2000-01-01T00:00:00.000Z' });
    const messages: string[] = [];
    await prune({ ...base(), output: dir, progress_callback: (p) => p.message && messages.push(p.message) });
    expect(messages.some((m) => m.includes(`(pid ${process.pid}, started 2000-01-01T00:00:00.000Z) is gone`))).toBe(true);
    expectNoLock(dir);
  });

  it('from another host: refused, naming the host; never taken over', async () => {
    const dir = tempDir();
    const text = writeLock(dir, { pid: deadPid(), hostname: 'build-box-7' });
    const run = prune({ ...base(), output: dir });
    await expect(run).rejects.toBeInstanceOf(OutputBusyError);
    await expect(run).rejects.toThrow(/is being written by another run on host build-box-7 \(pid \d+, started 2026-01-02T03:04:05\.000Z\); wait for it or choose another --out .*if it is gone, remove .*\.dsnot-lock/);
    expect(readFileSync(lockOf(dir), 'utf8')).toBe(text);
  });

  it.each([
    ['not JSON', '{"pid": 12'],
    ['empty', ''],
    ['no pid, hostname and start time in it', '{"pid":"x"}'],
  ])('unreadable (%s): refused as held, with the advice to remove it if no run is active; kept', async (why, text) => {
    const dir = tempDir();
    writeFileSync(lockOf(dir), text);
    await expect(prune({ ...base(), output: dir })).rejects.toThrow(
      `${dir} may be being written by another run: its lock ${lockOf(dir)} is unreadable (${why}); wait for it or choose another --out, and if no run is active, remove ${lockOf(dir)}`,
    );
    expect(readFileSync(lockOf(dir), 'utf8')).toBe(text);
  });
});

describe('creating the lock', () => {
  // The lock appears by a hard link of a file already written: a run killed at any instant leaves
  // either no lock or a whole one, never the empty file an exclusive create + write could (the
  // soak test's kills found that window: the next run had to refuse the folder as unreadable).
  const withFs = (overrides: Partial<typeof fsp>) => ({ ...fsp, ...overrides }) as typeof fsp;
  it('is never seen empty: the linked file already holds the whole lock', async () => {
    const dir = tempDir();
    let seen = '';
    const fs = withFs({ link: async (from, to) => { seen = readFileSync(String(from), 'utf8'); return fsp.link(from, to); } });
    const out = await openOutput(dir, () => {}, fs);
    expect(JSON.parse(seen).pid).toBe(process.pid);
    expect(readFileSync(lockOf(dir), 'utf8')).toBe(seen);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await out.release();
    expect(existsSync(lockOf(dir))).toBe(false);
  });

  it('without hard links (EPERM), falls back to an exclusive create, still one writer', async () => {
    const dir = tempDir();
    const fs = withFs({ link: async () => { throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' }); } });
    const first = await openOutput(dir, () => {}, fs);
    expect(JSON.parse(readFileSync(lockOf(dir), 'utf8')).pid).toBe(process.pid);
    await expect(openOutput(dir, () => {}, fs)).rejects.toBeInstanceOf(OutputBusyError);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await first.release();
  });

  it('a lock that cannot be written (full disk) leaves neither a lock nor its temporary file', async () => {
    const dir = tempDir();
    const full = faultyFs({ bytes: 0 });
    await expect(openOutput(dir, () => {}, full)).rejects.toThrow(/cannot write the lock .*ENOSPC/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the lock is released on every way out', () => {
  it('after a thrown error once the lock is held (a foreign file in the folder)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(prune({ ...base(), output: dir })).rejects.toThrow(/not empty \(notes\.txt\)/);
    expectNoLock(dir);
  });

  it('after an error thrown mid-run (by the progress callback in layer 1)', async () => {
    const dir = tempDir();
    let sawLock = false;
    const run = prune({
      ...base(), output: dir,
      progress_callback: (p) => {
        if (p.stage === 'prune' && p.layer === 1) {
          sawLock = existsSync(lockOf(dir));
          throw new Error('callback failed');
        }
      },
    });
    await expect(run).rejects.toThrow('callback failed');
    expect(sawLock).toBe(true);
    expectNoLock(dir);
  });

  it('after an abort through the AbortSignal; the rerun resumes without a takeover', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    let sawLock = false;
    const run = prune({
      ...base(), output: dir, signal: controller.signal,
      progress_callback: (p) => {
        if (p.stage === 'layer-done' && p.layer === 1) {
          sawLock = existsSync(lockOf(dir));
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(sawLock).toBe(true);
    expectNoLock(dir);
    const messages: string[] = [];
    const report = await prune({ ...base(), output: dir, progress_callback: (p) => p.message && messages.push(p.message) });
    expect(report.resumedFromLayer).toBe(2);
    expect(messages.some((m) => /lock taken over/.test(m))).toBe(false);
    expectNoLock(dir);
  });
});

describe('dsnot prune (the command), two processes', () => {
  let cli: string;
  beforeAll(async () => {
    cli = join(tempDir('dsnot-cli-'), 'cli.mjs');
    await build({ entryPoints: [resolve('src/cli.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: cli, external: ['webgpu'], logLevel: 'error' });
  });

  it('the second exits 1 with one stderr line while the first holds the folder; the first then finishes', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const calib = join(dir, 'calib.json');
    writeFileSync(calib, JSON.stringify(calibrationWindows(32, 192)));
    const args = (s: string) => [cli, 'prune', resolve(HF), '--out', out, '--calib', calib, '--device', 'wasm', '--sparsity', s];
    const first = spawn(process.execPath, args('0.5'), { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((done) => first.on('exit', (code) => done(code)));
    // Hold the first run still (SIGSTOP) the moment its lock appears, so the second surely meets it.
    let info: LockInfo | null = null;
    for (let i = 0; i < 6000 && !info; i++) {
      try {
        info = JSON.parse(readFileSync(lockOf(out), 'utf8')) as LockInfo;
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    expect(info?.pid).toBe(first.pid);
    first.kill('SIGSTOP');
    try {
      const second = spawnSync(process.execPath, args('0.6'), { encoding: 'utf8', timeout: 60_000 });
      expect(second.status).toBe(1);
      expect(second.stderr.trim().split('\n')).toEqual([
        `dsnot prune: ${out} is being written by another run (pid ${first.pid}, started ${info!.started}); wait for it or choose another --out`,
      ]);
    } finally {
      first.kill('SIGCONT');
    }
    expect(await exited).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'dsnot-report.json'), 'utf8')) as PruneReport;
    expect(report.sparsity).toBe(0.5);
    expectWeightsMatchReport(out, report);
    expectNoLock(out);
  }, 120_000);
});

/** A LockManager stand-in with the `ifAvailable` and `signal` behaviour of the Web Locks API. */
function fakeLocks(): LockManagerLike & { held: Set<string> } {
  const held = new Set<string>();
  const waiting = new Map<string, Array<() => void>>();
  const freed = (name: string) => {
    held.delete(name);
    waiting.get(name)?.shift()?.();
  };
  return {
    held,
    async request(name, options, callback) {
      if (held.has(name)) {
        if (options.ifAvailable) return callback(null);
        await new Promise<void>((granted, aborted) => {
          const queue = waiting.get(name) ?? [];
          waiting.set(name, queue);
          queue.push(granted);
          options.signal?.addEventListener('abort', () => {
            queue.splice(queue.indexOf(granted), 1);
            aborted(options.signal!.reason);
          });
        });
      }
      held.add(name);
      try {
        return await callback({ name });
      } finally {
        freed(name);
      }
    },
  };
}

describe('browser folders: Web Locks', () => {
  afterEach(() => vi.unstubAllGlobals());
  const folder = (name: string) => ({ kind: 'directory', name }) as unknown as FileSystemDirectoryHandle;

  it('a second writer of the same folder is refused until the first releases', async () => {
    const locks = fakeLocks();
    const first = await acquireWebLock(folder('out'), () => {}, locks);
    expect(locks.held.size).toBe(1);
    const notes: string[] = [];
    await expect(acquireWebLock(folder('out'), (m) => notes.push(m), locks, 30)).rejects.toThrow('out is being written by another run (another tab or worker of this site); wait for it or choose another folder');
    expect(notes).toEqual(['out is locked by another run; waiting up to 0.03 s in case it is a tab that was just reloaded or closed']);
    const other = await acquireWebLock(folder('elsewhere'), () => {}, locks);
    await first!.release();
    await other!.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(locks.held.size).toBe(0);
    const again = await acquireWebLock(folder('out'), () => {}, locks);
    await again!.release();
  });

  it('a lock released within the grace (a reloaded tab\'s worker stopping) is taken, not called busy', async () => {
    const locks = fakeLocks();
    const first = await acquireWebLock(folder('out'), () => {}, locks);
    setTimeout(() => void first!.release(), 20);
    const second = await acquireWebLock(folder('out'), () => {}, locks, 5_000);
    expect(locks.held).toEqual(new Set(['dsnot-output:folder:out']));
    await second!.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(locks.held.size).toBe(0);
  });

  it('openOutput locks a directory handle through navigator.locks, and not a custom Sink', async () => {
    const locks = fakeLocks();
    vi.stubGlobal('navigator', { locks });
    const a = await openOutput(folder('out'));
    let bOpened = false;
    const b = openOutput(folder('out')).then((opened) => { bOpened = true; return opened; });
    await new Promise((r) => setTimeout(r, 50));
    expect(bOpened).toBe(false); // waits for a's lock (within the grace) instead of writing beside it
    await a.release();
    await (await b).release();
    await new Promise((r) => setTimeout(r, 0));
    const sink = { location: 'custom', create: async () => { throw new Error('unused'); } };
    await openOutput(sink);
    await openOutput(sink);
    expect(locks.held.size).toBe(0);
  });

  it('without navigator.locks: proceeds unlocked and says so', async () => {
    vi.stubGlobal('navigator', {});
    const notes: string[] = [];
    expect(await acquireWebLock(folder('out'), (m) => notes.push(m), undefined)).toBeNull();
    expect(notes).toEqual(['out: this browser has no Web Locks API, so the folder is not locked against another tab writing to it']);
  });
});

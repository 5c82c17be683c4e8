// Interrupt and resume: a run killed (SIGKILL, in a child process, at an exact progress event)
// or aborted (AbortSignal) leaves no file that looks complete in the output folder, and the
// same call again resumes from the last finished layer and writes byte-identical files. A kill
// leaves the run's lock behind: the rerun takes it over (its process is gone) and says so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobSink } from '../../src/io/sink.js';
import { prune, type PruneOptions, type PruneReport } from '../../src/prune.js';
import { FolderState, PARTIAL_DIR } from '../../src/pipeline/folder-state.js';
import { LOCK_FILE } from '../../src/pipeline/folder-lock.js';
import { calibrationWindows, evaluationIds, HF, tempDir } from './helpers.js';

let child: string;
let reference: { dir: string; report: PruneReport };
const base = (): Omit<PruneOptions, 'output'> => ({
  model: resolve(HF),
  calibration: { tokens: calibrationWindows(6, 48) },
  device: 'wasm',
  evaluation: { tokens: evaluationIds(4 * 64), seqlen: 64 },
});

beforeAll(async () => {
  child = join(tempDir('dsnot-child-'), 'child-prune.mjs');
  await build({
    entryPoints: [resolve('test/prune/child-prune.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    // Everything inlined (the bundle lives in a temp folder); the child runs on wasm only.
    outfile: child, external: ['webgpu'], logLevel: 'error',
  });
  const dir = tempDir();
  reference = { dir, report: await prune({ ...base(), output: dir }) };
});

/** Run prune in a child that SIGKILLs itself at `killAt`; returns how it ended. */
function runChild(output: string, killAt: object | undefined, extra: Partial<PruneOptions> = {}) {
  const r = spawnSync(process.execPath, [child, JSON.stringify({ ...base(), ...extra, output, killAt })], {
    encoding: 'utf8', timeout: 60_000,
  });
  if (r.status !== null && r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return { signal: r.signal, stdout: r.stdout, pid: r.pid };
}

/** The lock a killed child left names it; prune() into that folder, collecting its messages. */
async function pruneAfterKill(dir: string, childPid: number, extra: Partial<PruneOptions> = {}) {
  const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; started: string };
  expect(lock.pid).toBe(childPid);
  const messages: string[] = [];
  const report = await prune({ ...base(), ...extra, output: dir, progress_callback: (p) => p.message && messages.push(p.message) });
  expect(messages).toContain(`${dir}: the run that held its lock (pid ${childPid}, started ${lock.started}) is gone; lock taken over`);
  return { report, messages };
}

/** Visible files of the output folder (the partial state is hidden). */
const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));

/** Every written file byte for byte, the report up to its timings and resume notes. */
function expectSameOutput(dir: string, report: PruneReport): void {
  expect(visible(dir).sort()).toEqual(visible(reference.dir).sort());
  for (const f of reference.report.files.filter((n) => n !== 'dsnot-report.json')) {
    expect(readFileSync(join(dir, f)).equals(readFileSync(join(reference.dir, f))), f).toBe(true);
  }
  const strip = (r: PruneReport) => ({ ...r, output: '', timings: null, totals: { ...r.totals, pruneMs: 0 }, resumedFromLayer: null, restarted: null, linears: r.linears.map((e) => ({ ...e, ms: 0 })) });
  expect(strip(report)).toEqual(strip(reference.report));
  expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
  expect(readdirSync(dir).filter((n) => n.startsWith(LOCK_FILE))).toEqual([]);
}

describe('killed with SIGKILL, then run again', () => {
  it.each([
    ['at a layer boundary (layer 2 checkpointed)', { stage: 'layer-done', layer: 2 }, 3],
    ['mid-layer, after three linears of layer 3 were written', { stage: 'prune', layer: 3, linearIndex: 2, done: true }, 3],
    ['mid-layer, in the dense pass of layer 0', { stage: 'stats', layer: 0, window: 4 }, null],
    ['in the pruned pass of the last layer', { stage: 'forward', layer: 4, window: 2 }, 4],
    ['after every layer, while copying the untouched tensors', { stage: 'write' }, 5],
  ])('%s', async (_name, killAt, resumedFrom) => {
    const dir = tempDir();
    const child = runChild(dir, killAt);
    expect(child.signal).toBe('SIGKILL');
    // Nothing under a final name: only the hidden partial state (and the dead run's lock).
    expect(visible(dir)).toEqual([]);
    const { report } = await pruneAfterKill(dir, child.pid);
    expect(report.resumedFromLayer).toBe(resumedFrom);
    expectSameOutput(dir, report);
  });

  it('twice in a row, at different points', async () => {
    const dir = tempDir();
    expect(runChild(dir, { stage: 'layer-done', layer: 0 }).signal).toBe('SIGKILL');
    // The second child takes over the first one's lock, and leaves its own.
    const second = runChild(dir, { stage: 'prune', layer: 2, linearIndex: 5, done: false });
    expect(second.signal).toBe('SIGKILL');
    expect(visible(dir)).toEqual([]);
    const { report } = await pruneAfterKill(dir, second.pid);
    expect(report.resumedFromLayer).toBe(2);
    expectSameOutput(dir, report);
  });

  it('with other options the next time: the partial run is discarded, said so, and the result is a fresh run’s', async () => {
    const dir = tempDir();
    const child = runChild(dir, { stage: 'layer-done', layer: 3 });
    expect(child.signal).toBe('SIGKILL');
    const { report, messages } = await pruneAfterKill(dir, child.pid, { sparsity: 0.6 });
    expect(report.resumedFromLayer).toBeNull();
    expect(report.restarted).toMatch(/different model, options/);
    expect(messages.some((m) => /starting over/.test(m))).toBe(true);
    const fresh = tempDir();
    await prune({ ...base(), output: fresh, sparsity: 0.6 });
    expect(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fresh, 'model.safetensors')))).toBe(true);
  });
});

describe('AbortSignal', () => {
  it('stops between windows, keeps no complete-looking file, and the rerun resumes byte for byte', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const run = prune({
      ...base(), output: dir, signal: controller.signal,
      progress_callback: (p) => { if (p.stage === 'stats' && p.layer === 2 && p.window === 3) controller.abort(); },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(visible(dir)).toEqual([]);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const report = await prune({ ...base(), output: dir });
    expect(report.resumedFromLayer).toBe(2);
    expectSameOutput(dir, report);
  });

  it('OWL: the resumed run takes the layer sparsities from the journal (no second profile pass) and writes the same bytes', async () => {
    const owl = { ...base(), sparsity: 0.7, sparsityProfile: { kind: 'owl' as const } };
    const whole = tempDir();
    const uninterrupted = await prune({ ...owl, output: whole });
    expect(new Set(uninterrupted.sparsityProfile!.layerSparsity).size).toBeGreaterThan(1);
    const dir = tempDir();
    // Aborted in the profile pass: nothing to resume from; then in layer 2's dense pass.
    for (const at of [{ stage: 'profile', layer: 3 }, { stage: 'stats', layer: 2 }]) {
      const controller = new AbortController();
      const run = prune({
        ...owl, output: dir, signal: controller.signal,
        progress_callback: (p) => { if (p.stage === at.stage && p.layer === at.layer) controller.abort(); },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      expect(visible(dir)).toEqual([]);
    }
    const stages = new Set<string>();
    const report = await prune({ ...owl, output: dir, progress_callback: (p) => void stages.add(p.stage) });
    expect(report.resumedFromLayer).toBe(2);
    expect(stages.has('profile')).toBe(false);
    expect(report.sparsityProfile).toEqual(uninterrupted.sparsityProfile);
    for (const f of uninterrupted.files.filter((n) => n !== 'dsnot-report.json')) {
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    }
  });

  it('an aborted run into a sink leaves no file there', async () => {
    const sink = new BlobSink();
    const controller = new AbortController();
    const run = prune({ ...base(), output: sink, signal: controller.signal, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 1) controller.abort(); } });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(sink.files.size).toBe(0);
    const done = new BlobSink();
    await prune({ ...base(), output: done });
    expect(Buffer.from(await done.bytes('model.safetensors')).equals(readFileSync(join(reference.dir, 'model.safetensors')))).toBe(true);
    expect([...done.files.keys()].sort()).toEqual([...reference.report.files].sort());
  });

  it('refuses an already aborted signal before touching the output', async () => {
    const dir = join(tempDir(), 'never');
    await expect(prune({ ...base(), output: dir, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('the output folder', () => {
  it('an interrupted commit is finished by the next run (files already moved are kept)', async () => {
    const dir = tempDir();
    const state = await FolderState.open(dir);
    await state.startFresh();
    for (const f of ['config.json', 'model.safetensors']) writeFileSync(join(dir, PARTIAL_DIR, f), f);
    renameSync(join(dir, PARTIAL_DIR, 'config.json'), join(dir, 'config.json'));
    await state.commitFiles(['config.json', 'model.safetensors']);
    expect(visible(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(readFileSync(join(dir, 'model.safetensors'), 'utf8')).toBe('model.safetensors');
    expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
  });

  it('a previous dsnot output is replaced; files dsnot did not write are never overwritten', async () => {
    const dir = tempDir();
    await prune({ ...base(), output: dir, sparsity: 0.6 });
    const report = await prune({ ...base(), output: dir });
    expectSameOutput(dir, report);

    const foreign = tempDir();
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(prune({ ...base(), output: foreign })).rejects.toThrow(/not empty \(notes\.txt\)/);
    expect(visible(foreign)).toEqual(['notes.txt']);
  });

  it("refuses the model's own folder", async () => {
    await expect(prune({ ...base(), output: HF })).rejects.toThrow(/model's own folder/);
  });

  it('resume: false starts over even with the same arguments', async () => {
    const dir = tempDir();
    expect(runChild(dir, { stage: 'layer-done', layer: 1 }).signal).toBe('SIGKILL');
    const report = await prune({ ...base(), output: dir, resume: false });
    expect(report.resumedFromLayer).toBeNull();
    expect(report.restarted).toMatch(/resume is off/);
    expectSameOutput(dir, report);
  });

  it('a nested output folder is created', async () => {
    const dir = join(tempDir(), 'a', 'b');
    mkdirSync(join(dir, '..'), { recursive: true });
    const report = await prune({ ...base(), output: dir });
    expectSameOutput(dir, report);
  });
});

// Every fault ends in one of two states: a complete, correct output, or a partial state the same
// call continues from. Each case below runs prune() under one fault (through an injected file
// system, a changed input, a damaged journal, a lost GPU), checks the message says what happened
// and what to do, checks the intermediate folder does not pass verification, then runs the same
// call again: the files are byte-identical to an uninterrupted run's, and the folder verifies.
import { cpSync, existsSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GpuDeviceLostError } from '../../src/backends/webgpu/device.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { InputChangedError, OutputFaultError } from '../../src/pipeline/faults.js';
import { PARTIAL_DIR } from '../../src/pipeline/folder-state.js';
import { verifyOutput } from '../../src/pipeline/verify.js';
import { prune, type PruneOptions, type PruneReport } from '../../src/prune.js';
import { faultyFs } from './faulty-fs.js';
import { calibrationWindows, HF, tempDir } from './helpers.js';

/** The input model, copied: some faults change it. */
let model: string;
let reference: { dir: string; report: PruneReport; written: number };
const base = (): Omit<PruneOptions, 'output'> => ({ model, calibration: { tokens: calibrationWindows(4, 32) }, device: 'wasm' });

beforeAll(async () => {
  model = join(tempDir(), 'model');
  cpSync(resolve(HF), model, { recursive: true });
  const dir = tempDir();
  const counting = faultyFs({});
  const report = await prune({ ...base(), output: dir, _testing: { fs: counting } });
  reference = { dir, report, written: counting.written };
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The folder does not verify now; the same call again gives the reference's bytes and verifies. */
async function expectRecovers(dir: string, resumedFrom: number | null | 'any', extra: Partial<PruneOptions> = {}): Promise<string[]> {
  expect((await verifyOutput({ output: dir })).ok).toBe(false);
  const messages: string[] = [];
  const report = await prune({ ...base(), ...extra, output: dir, progress_callback: (p) => p.message && messages.push(p.message) });
  if (resumedFrom !== 'any') expect(report.resumedFromLayer).toBe(resumedFrom);
  for (const f of reference.report.files.filter((n) => n !== 'dsnot-report.json')) {
    expect(readFileSync(join(dir, f)).equals(readFileSync(join(reference.dir, f))), f).toBe(true);
  }
  expect(report.integrity).toEqual(reference.report.integrity);
  const v = await verifyOutput({ output: dir });
  expect(v.problems).toEqual([]);
  return messages;
}

describe('the disk fills up', () => {
  it.each([
    ['ENOSPC', 0.02], ['ENOSPC', 0.3], ['ENOSPC', 0.75], ['ENOSPC', 0.97], ['EDQUOT', 0.5],
  ])('%s after %f of the bytes: says so and to rerun after freeing space; the rerun completes', async (code, fraction) => {
    const dir = tempDir();
    const fs = faultyFs({ bytes: Math.floor(reference.written * fraction), writeCode: code });
    const run = prune({ ...base(), output: dir, _testing: { fs } });
    await expect(run).rejects.toBeInstanceOf(OutputFaultError);
    const what = code === 'ENOSPC' ? 'the disk is full' : 'the disk quota is used up';
    await expect(run).rejects.toThrow(new RegExp(`^${escape(dir)}: ${what} \\(${code}: .*\\)\\. Free some space.*, then run the same command again: it resumes from the last finished layer$`));
    await expectRecovers(dir, 'any');
  });
});

describe('the output folder cannot be written', () => {
  it('EACCES renaming the weights into place (the commit): the rerun finishes the commit', async () => {
    const dir = tempDir();
    const fs = faultyFs({ rename: (from, to) => (to === join(dir, 'model.safetensors') ? 'EACCES' : null) });
    const run = prune({ ...base(), output: dir, _testing: { fs } });
    await expect(run).rejects.toThrow(new RegExp(`^${escape(dir)}: permission denied while writing the output folder \\(EACCES: .*\\)\\. Make the folder writable for this user, then run the same command again: it resumes from the last finished layer$`));
    expect(existsSync(join(dir, 'dsnot-report.json'))).toBe(true);
    await expectRecovers(dir, 'any');
  });

  it('EROFS saving the hidden states after layer 2: the rerun resumes after layer 2', async () => {
    const dir = tempDir();
    const fs = faultyFs({ rename: (from) => (from.endsWith(`${sep}hidden-3.f32.tmp`) ? 'EROFS' : null) });
    const run = prune({ ...base(), output: dir, _testing: { fs } });
    await expect(run).rejects.toThrow(/: the output folder is on a read-only file system \(EROFS: .*\)\. Remount it read-write or choose another --out .*; with the same folder, run the same command again: it resumes from the last finished layer$/);
    await expectRecovers(dir, 2);
  });

  it('removed during the run: says the folder disappeared, and the rerun starts over', async () => {
    const dir = join(tempDir(), 'out');
    const run = prune({ ...base(), output: dir, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 1) rmSync(dir, { recursive: true, force: true }); } });
    await expect(run).rejects.toThrow(new RegExp(`^${escape(dir)}: the output folder disappeared during the run, with its partial state \\(ENOENT: .*\\)\\. Run the same command again: it starts over$`));
    await expectRecovers(dir, null);
  });
});

describe('a damaged partial state is never trusted', () => {
  /** Abort after layer 2 is checkpointed, leaving a partial state to damage. */
  async function interrupted(): Promise<string> {
    const dir = tempDir();
    const controller = new AbortController();
    const run = prune({ ...base(), output: dir, signal: controller.signal, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 2) controller.abort(); } });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    return dir;
  }

  it.each([
    ['a truncated journal', (d: string) => truncateSync(join(d, PARTIAL_DIR, 'journal.json'), 200), /journal\.json is damaged \(its checksum does not match \(truncated or corrupt\)\), so its state cannot be trusted: starting over from the first layer$/],
    ['an empty journal', (d: string) => writeFileSync(join(d, PARTIAL_DIR, 'journal.json'), ''), /journal\.json is damaged \(empty\)/],
    ['a journal edited by hand', (d: string) => {
      const f = join(d, PARTIAL_DIR, 'journal.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"layersDone":3', '"layersDone":4'));
    }, /journal\.json is damaged \(its checksum does not match/],
    ['a damaged hidden-state file', (d: string) => flip(join(d, PARTIAL_DIR, 'hidden-3.f32'), 1000), /failed its check \(hidden-3\.f32 is not the file the journal recorded\), so it cannot be trusted: starting over from the first layer$/],
    ['a finished tensor damaged in the partial shard', (d: string) => {
      const f = join(d, PARTIAL_DIR, 'model.safetensors');
      const st = decodeSafetensors(new Uint8Array(readFileSync(f)));
      const t = st.header.tensors.find((x) => x.name === 'model.layers.1.mlp.up_proj.weight')!;
      flip(f, st.header.dataStart + t.begin + 17);
    }, /failed its check \(model\.safetensors: tensor model\.layers\.1\.mlp\.up_proj\.weight differs from the bytes written\)/],
  ])('%s: detected, said in one line, and the run starts over', async (_name, damage, notice) => {
    const dir = await interrupted();
    damage(dir);
    const messages = await expectRecovers(dir, null);
    expect(messages.filter((m) => notice.test(m))).toHaveLength(1);
  });
});

function flip(file: string, at: number): void {
  const b = readFileSync(file);
  b[at] ^= 0x10;
  writeFileSync(file, b);
}

describe('the input model changes', () => {
  const weights = () => join(model, 'model.safetensors');
  const touch = () => utimesSync(weights(), new Date(), new Date(Date.now() + 5000 + Math.random() * 1e6));

  it('between layers: refuses, discards the partial state, says so; the rerun starts over', async () => {
    const dir = tempDir();
    const run = prune({ ...base(), output: dir, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 1) touch(); } });
    await expect(run).rejects.toBeInstanceOf(InputChangedError);
    await expect(run).rejects.toThrow(`the input model ${model} changed during the run (model.safetensors: size or modification time): the partial state was discarded; run the same command again once nothing is changing the model (it starts over)`);
    expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
    await expectRecovers(dir, null);
  });

  it('after the last layer, before the commit: nothing is published', async () => {
    const dir = tempDir();
    const run = prune({ ...base(), output: dir, progress_callback: (p) => { if (p.stage === 'write') touch(); } });
    await expect(run).rejects.toBeInstanceOf(InputChangedError);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
    await expectRecovers(dir, null);
  });

  it('while no run was active: the rerun starts over, and says why', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    await expect(prune({ ...base(), output: dir, signal: controller.signal, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 2) controller.abort(); } })).rejects.toMatchObject({ name: 'AbortError' });
    touch();
    const messages = await expectRecovers(dir, null);
    expect(messages).toContain("the input model's weight files changed (size or modification time) since the partial run in the output folder: starting over");
  });
});

describe('the GPU device is lost', () => {
  it('says to rerun; the rerun resumes from the last finished layer', async () => {
    const dir = tempDir();
    const run = prune({ ...base(), output: dir, progress_callback: (p) => { if (p.stage === 'stats' && p.layer === 3) throw new GpuDeviceLostError('the WebGPU device was lost (reason: unknown)'); } });
    await expect(run).rejects.toBeInstanceOf(GpuDeviceLostError);
    await expect(run).rejects.toThrow('the WebGPU device was lost (reason: unknown). The GPU device was lost (a driver reset, the GPU removed, or out of its memory): run the same command again: it resumes from the last finished layer, on this device kind (another one starts over)');
    await expectRecovers(dir, 3);
  });
});

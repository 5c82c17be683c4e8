// Verification: a finished output carries every tensor's hash and a content hash in its report,
// verifyOutput() (dsnot verify) passes on it, and names each problem when a byte of a tensor, a
// zero count, the report's hashes, a file, or the input's untouched tensors disagree. Before the
// final rename, prune() re-reads what it wrote: a partial shard damaged behind its back is never
// published. An unfinished folder fails with the advice to resume.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { PARTIAL_DIR } from '../../src/pipeline/folder-state.js';
import { verifyOutput } from '../../src/pipeline/verify.js';
import { prune, type PruneOptions, type PruneReport } from '../../src/prune.js';
import { BIN, calibrationWindows, HF, tempDir } from './helpers.js';

const base = (): Omit<PruneOptions, 'output'> => ({ model: resolve(HF), calibration: { tokens: calibrationWindows(4, 32) }, device: 'wasm' });
let reference: { dir: string; report: PruneReport };

beforeAll(async () => {
  const dir = tempDir();
  reference = { dir, report: await prune({ ...base(), output: dir }) };
});

/** A copy of the reference output to damage. */
function copyOutput(): string {
  const dir = join(tempDir(), 'out');
  cpSync(reference.dir, dir, { recursive: true });
  return dir;
}

/** Absolute byte offset of a tensor in a safetensors file. */
function tensorAt(file: string, name: string): number {
  const f = decodeSafetensors(new Uint8Array(readFileSync(file)));
  return f.header.dataStart + f.header.tensors.find((t) => t.name === name)!.begin;
}

/** Flip one byte of `name` (at a seeded position inside it) in the file. */
function flipByte(file: string, name: string, seed: number): void {
  const bytes = readFileSync(file);
  const f = decodeSafetensors(new Uint8Array(bytes));
  const t = f.header.tensors.find((x) => x.name === name)!;
  const at = f.header.dataStart + t.begin + ((seed * 2654435761) >>> 0) % (t.end - t.begin);
  bytes[at] ^= 0x40;
  writeFileSync(file, bytes);
}

describe('the report carries hashes', () => {
  it('every tensor, header and side file, and a content hash; verify passes and counts what it checked', async () => {
    const { report } = reference;
    const names = decodeSafetensors(new Uint8Array(readFileSync(join(reference.dir, 'model.safetensors')))).header.tensors.map((t) => t.name);
    expect(Object.keys(report.integrity.tensors).sort()).toEqual([...names].sort());
    expect(Object.keys(report.integrity.files).sort()).toEqual(['config.json', 'tokenizer.model', 'tokenizer_config.json']);
    expect(report.integrity.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const r = await verifyOutput({ output: reference.dir });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.contentHash).toBe(report.integrity.contentHash);
    expect(r.checked).toEqual({ files: 3, tensors: names.length, linears: report.linears.length, untouched: names.length - report.linears.length });
  });

  it('a llama2.c input (generated config.json, tokenizer copied along) verifies against the .bin', async () => {
    const dir = tempDir();
    await prune({ ...base(), model: resolve(BIN), output: dir });
    const r = await verifyOutput({ output: dir });
    expect(r.problems).toEqual([]);
    expect(r.model).toBe(resolve(BIN));
  });
});

describe('verify names each problem', () => {
  it('a flipped byte in pruned linears and in an untouched tensor', async () => {
    const dir = copyOutput();
    const linear = reference.report.linears[7].weight;
    flipByte(join(dir, 'model.safetensors'), linear, 3);
    flipByte(join(dir, 'model.safetensors'), 'model.norm.weight', 11);
    const r = await verifyOutput({ output: dir });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^model\\.safetensors: tensor ${linear.replaceAll('.', '\\.')} differs from the bytes written`)),
      expect.stringMatching(/^model\.safetensors: tensor model\.norm\.weight differs from the bytes written/),
      'model.norm.weight: differs from the input model\'s (the run does not change it)',
    ]));
  });

  it("a linear whose zeros are not the report's, and a report whose hashes were edited", async () => {
    const dir = copyOutput();
    const file = join(dir, 'dsnot-report.json');
    const report = JSON.parse(readFileSync(file, 'utf8')) as PruneReport;
    report.linears[2].zeros += 1;
    const some = Object.keys(report.integrity.tensors)[5];
    report.integrity.tensors[some] = '0'.repeat(64);
    writeFileSync(file, JSON.stringify(report));
    const r = await verifyOutput({ output: dir });
    expect(r.problems).toEqual(expect.arrayContaining([
      `${report.linears[2].weight}: ${report.linears[2].zeros - 1} zeros on disk, the report says ${report.linears[2].zeros} (sparsity ${report.linears[2].sparsity})`,
      'dsnot-report.json: its content hash does not match its hashes (the report was edited)',
      expect.stringMatching(new RegExp(`tensor ${some.replaceAll('.', '\\.')} differs from the bytes written`)),
    ]));
    expect(r.contentHash).toBeNull();
  });

  it('untouched tensors are compared with the input: another input (--model) that differs is named', async () => {
    const dir = copyOutput();
    const other = join(tempDir(), 'model');
    cpSync(HF, other, { recursive: true });
    flipByte(join(other, 'model.safetensors'), 'model.layers.2.input_layernorm.weight', 5);
    const r = await verifyOutput({ output: dir, model: other });
    expect(r.problems).toEqual(["model.layers.2.input_layernorm.weight: differs from the input model's (the run does not change it)"]);
    const gone = await verifyOutput({ output: dir, model: join(tempDir(), 'nowhere') });
    expect(gone.problems).toEqual([expect.stringMatching(/^cannot open the input model .*nowhere to compare the tensors the run did not prune \(.*\): give the input with --model IN/)]);
  });

  it('a missing file and a foreign one', async () => {
    const dir = copyOutput();
    rmSync(join(dir, 'tokenizer.model'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const r = await verifyOutput({ output: dir });
    expect(r.problems).toEqual(['tokenizer.model is missing (the report lists it)', 'notes.txt is not part of the output (the report does not list it)']);
  });

  it('an unfinished run fails, saying to resume; resumed, it verifies', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const run = prune({ ...base(), output: dir, signal: controller.signal, progress_callback: (p) => { if (p.stage === 'layer-done' && p.layer === 2) controller.abort(); } });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const r = await verifyOutput({ output: dir });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toBe(`${dir} holds an unfinished prune run (${PARTIAL_DIR}/): run the same dsnot prune command again to resume it, then verify`);
    expect(r.problems[1]).toMatch(/^dsnot-report\.json is missing: .* is not a finished dsnot output$/);
    await prune({ ...base(), output: dir });
    expect((await verifyOutput({ output: dir })).problems).toEqual([]);
  });
});

describe('prune checks what it wrote before the final rename', () => {
  it('a partial shard damaged after its layer was written: nothing is published, the partial state is discarded, the rerun is correct', async () => {
    const dir = tempDir();
    const linear = reference.report.linears[3].weight;
    const run = prune({
      ...base(), output: dir,
      progress_callback: (p) => {
        // After the last layer, before the untouched tensors are copied: a linear already written.
        if (p.stage === 'write') flipByte(join(dir, PARTIAL_DIR, 'model.safetensors'), linear, 9);
      },
    });
    await expect(run).rejects.toThrow(new RegExp(`^${dir.replaceAll('/', '\\/')}: the written output failed its check before being published \\(model\\.safetensors: tensor ${linear.replaceAll('.', '\\.')} differs from the bytes written .*\\): the disk or another program changed it\\. The partial state was discarded; run the same command again to start over$`));
    expect(readdirSync(dir).filter((n) => !n.startsWith('.lock'))).toEqual([]);
    expect(existsSync(join(dir, PARTIAL_DIR))).toBe(false);
    const report = await prune({ ...base(), output: dir });
    expect(report.resumedFromLayer).toBeNull();
    expect(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(reference.dir, 'model.safetensors')))).toBe(true);
    expect((await verifyOutput({ output: dir })).ok).toBe(true);
  });
});

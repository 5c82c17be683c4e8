// `dsnot verify OUT [--model IN] [--json]`, in process: exit 0 and a summary on a finished folder;
// exit 1 and one stderr line per failing tensor on a damaged one; an unfinished folder says to
// resume; --json prints the result; no OUT is a usage error.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliUsageError } from '../../src/cli/args.js';
import { run as verifyCommand } from '../../src/cli/verify.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { prune, type PruneReport } from '../../src/prune.js';
import { calibrationWindows, HF, tempDir } from '../prune/helpers.js';

let out: string;
let report: PruneReport;
let logged: string[];
let errors: string[];

beforeAll(async () => {
  out = tempDir('dsnot-verify-cli-');
  report = await prune({ model: resolve(HF), output: out, calibration: { tokens: calibrationWindows(4, 32) }, device: 'wasm' });
});
beforeEach(() => {
  logged = [];
  errors = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logged.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

describe('dsnot verify', () => {
  it('a finished folder: exit 0, a summary with the counts and the content hash', async () => {
    expect(await verifyCommand([out])).toBe(0);
    const text = logged.join('\n');
    expect(text).toContain(`verified ${out}`);
    expect(text).toContain(`${report.linears.length} pruned linears have the report's zeros`);
    expect(text).toContain(`content hash ${report.integrity.contentHash}`);
    expect(errors).toEqual([]);
  });

  it('two damaged tensors: exit 1, a header line and one line naming each', async () => {
    const copy = join(tempDir(), 'out');
    cpSync(out, copy, { recursive: true });
    const file = join(copy, 'model.safetensors');
    const bytes = readFileSync(file);
    const st = decodeSafetensors(new Uint8Array(bytes));
    const names = [report.linears[0].weight, 'model.embed_tokens.weight'];
    for (const n of names) bytes[st.header.dataStart + st.header.tensors.find((t) => t.name === n)!.begin + 3] ^= 1;
    writeFileSync(file, bytes);
    expect(await verifyCommand([copy, '--model', HF])).toBe(1);
    expect(errors[0]).toMatch(new RegExp(`^dsnot verify: ${copy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed verification \\(${errors.length - 1} problems\\):$`));
    // The flipped linear element may have been a pruned zero: then its zero count is named too.
    expect(errors.length - 1).toBeGreaterThanOrEqual(3);
    expect(errors.slice(1).map((l) => l.trim())).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^model\\.safetensors: tensor ${names[0].replaceAll('.', '\\.')} differs from the bytes written`)),
      expect.stringMatching(/^model\.safetensors: tensor model\.embed_tokens\.weight differs from the bytes written/),
      "model.embed_tokens.weight: differs from the input model's (the run does not change it)",
    ]));
  });

  it('--json prints the result', async () => {
    expect(await verifyCommand([out, '--json'])).toBe(0);
    expect(JSON.parse(logged.join('\n'))).toMatchObject({ ok: true, problems: [], contentHash: report.integrity.contentHash });
  });

  it('a folder without a finished run fails and says what to do; no OUT is a usage error', async () => {
    const empty = tempDir();
    expect(await verifyCommand([empty])).toBe(1);
    expect(errors[1].trim()).toMatch(/^dsnot-report\.json is missing: .* is not a finished dsnot output \(if a run was interrupted, run the same dsnot prune command again\)$/);
    await expect(verifyCommand([])).rejects.toBeInstanceOf(CliUsageError);
  });
});

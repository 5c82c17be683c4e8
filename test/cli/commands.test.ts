// `dsnot prune | eval | info`: the command functions in-process (output and JSON), and the built
// bin (dist/cli.js, made by `npm run build`, which `npm test` runs first) for exit statuses and
// one-line errors as a user sees them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as evalCommand } from '../../src/cli/eval.js';
import { run as infoCommand } from '../../src/cli/info.js';
import { run as pruneCommand } from '../../src/cli/prune.js';
import { evaluate } from '../../src/eval/perplexity.js';
import type { PruneReport } from '../../src/prune.js';
import { BIN, calibrationWindows, evaluationIds, HF, readWeights, tempDir } from '../prune/helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
let logged: string[];
let dir: string;

beforeEach(() => {
  logged = [];
  dir = tempDir('dsnot-cli-');
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logged.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

function files() {
  const calib = join(dir, 'calib.json');
  writeFileSync(calib, JSON.stringify(calibrationWindows(4, 32)));
  const tokens = join(dir, 'eval.json');
  writeFileSync(tokens, JSON.stringify(evaluationIds(256)));
  return { calib, tokens };
}

describe('dsnot prune', () => {
  it('--json prints the report; the output reloads and scores its perplexity', async () => {
    const { calib, tokens } = files();
    const out = join(dir, 'out');
    const code = await pruneCommand([HF, '--out', out, '--calib', calib, '--sparsity', '2:4', '--init', 'magnitude', '--device', 'wasm',
      '--eval-tokens', tokens, '--eval-seqlen', '64', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(logged.join('\n')) as PruneReport;
    expect(report.method).toBe('magnitude+swaps');
    expect(report.sparsity).toEqual({ n: 2, m: 4 });
    expect(report.calibration).toMatchObject({ kind: 'tokens', windows: 4, tokens: 128 });
    expect(report.sparsityCheck).toBe(0.5);
    const again = await evaluate({ model: out, tokens: JSON.parse(readFileSync(tokens, 'utf8')), seqlen: 64, device: 'wasm' });
    expect(again.perplexity).toBeCloseTo(report.perplexity!.after, 9);
  });

  it('passes every flag through to prune()', async () => {
    const { calib } = files();
    const out = join(dir, 'out');
    await pruneCommand([HF, '--out', out, '--calib', calib, '--sparsity', '0.6', '--init', 'sparsegpt', '--skip', 'none',
      '--max-cycles', '7', '--threshold', '0.5', '--pow-var', '0', '--same-sign', '--device', 'wasm', '--json']);
    const r = JSON.parse(logged.join('\n')) as PruneReport;
    expect(r).toMatchObject({ sparsity: 0.6, init: 'sparsegpt', skip: [], refine: 'dsnot', dsnot: { maxCycles: 7, updateThreshold: 0.5, powOfVarRegrowing: 0, sameSign: true, guard: true } });
    expect(Math.max(...r.linears.map((e) => e.cycles))).toBeLessThanOrEqual(7);
  });

  it('--init ria reaches prune() and the report', async () => {
    const { calib } = files();
    await pruneCommand([HF, '--out', join(dir, 'out'), '--calib', calib, '--init', 'ria', '--no-dsnot', '--device', 'wasm', '--json']);
    const r = JSON.parse(logged.join('\n')) as PruneReport;
    expect(r).toMatchObject({ init: 'ria', method: 'ria', dsnot: null, sparsity: 0.5 });
  });

  it('--owl [--owl-m] [--owl-lambda] reach prune(); the summary lists the layer sparsities', async () => {
    const { calib } = files();
    await pruneCommand([HF, '--out', join(dir, 'a'), '--calib', calib, '--sparsity', '0.6', '--owl', '--owl-m', '3', '--owl-lambda', '0.05', '--no-dsnot', '--device', 'wasm', '--json']);
    const r = JSON.parse(logged.join('\n')) as PruneReport;
    expect(r.sparsityProfile).toMatchObject({ kind: 'owl', m: 3, lambda: 0.05, applied: true });
    expect(r.sparsityProfile!.layerSparsity).toHaveLength(5);
    logged = [];
    await pruneCommand([HF, '--out', join(dir, 'b'), '--calib', calib, '--owl', '--no-dsnot', '--device', 'wasm']);
    const text = logged.join('\n');
    const line = text.split('\n').find((l) => l.includes('OWL (m 5, lambda 0.08)'))!;
    expect(line).toBeDefined();
    expect(line.match(/layer sparsity (.*)$/)![1].split(' ')).toHaveLength(5);
    logged = [];
    await pruneCommand([HF, '--out', join(dir, 'c'), '--calib', calib, '--no-dsnot', '--device', 'wasm', '--json']);
    expect((JSON.parse(logged.join('\n')) as PruneReport).sparsityProfile).toBeNull();
  });

  it('samples text calibration with --nsamples/--seqlen/--seed, and prints a summary', async () => {
    const calib = join(dir, 'calib.txt');
    writeFileSync(calib, readFileSync('test/fixtures/tinystories-valid/tinystories_val.txt', 'utf8').slice(0, 20_000));
    const out = join(dir, 'out');
    expect(await pruneCommand([BIN, '--out', out, '--calib', calib, '--nsamples', '3', '--seqlen', '40', '--seed', '5', '--no-dsnot', '--device', 'wasm'])).toBe(0);
    const text = logged.join('\n');
    expect(text).toContain(`→ ${out}`);
    expect(text).toMatch(/wanda, sparsity 0\.5; 5 layers, 35 linears on wasm/);
    expect(text).toContain('calibration: 3 windows, 120 tokens (text)');
    expect(text).toMatch(/sparsity check: 0\.5000/);
    expect(text).toContain('files: config.json, tok512.bin, dsnot-report.json, model.safetensors');
    const w = readWeights(join(out, 'model.safetensors'));
    expect(w.size).toBeGreaterThan(0);
  });

  it.each([
    [[], /MODEL is required/],
    [[HF], /--out DIR is required/],
    [[HF, '--out', 'x'], /--calib FILE is required/],
    [[HF, '--out', 'x', '--calib', 'c', '--sparsity', '1.5'], /--sparsity must be a ratio in \[0, 1\)/],
    [[HF, '--out', 'x', '--calib', 'c', '--sparsity', '4:2'], /N:M with 1 ≤ N < M/],
    [[HF, '--out', 'x', '--calib', 'c', '--init', 'random'], /--init must be one of wanda, magnitude, sparsegpt/],
    [[HF, '--out', 'x', '--calib', 'c', '--nsamples', '2.5'], /--nsamples must be an integer/],
    [[HF, '--out', 'x', '--calib', 'c', '--no-dsnot', '--max-cycles', '3'], /--max-cycles does not apply to --no-dsnot/],
    [[HF, '--out', 'x', '--calib', 'c', '--eval-seqlen', '64'], /--eval-seqlen needs --eval-text or --eval-tokens/],
    [[HF, 'extra', '--out', 'x', '--calib', 'c'], /one MODEL expected, got 2/],
    [[HF, '--out', 'x', '--calib', 'c', '--owl-m', '3'], /--owl-m needs --owl/],
    [[HF, '--out', 'x', '--calib', 'c', '--owl-lambda', '0.1'], /--owl-lambda needs --owl/],
    [[HF, '--out', 'x', '--calib', 'c', '--owl', '--owl-m', 'five'], /--owl-m must be a number/],
    [[HF, '--out', 'x', '--calib', 'c', '--owl', '--owl-m', '0'], /sparsityProfile\.m must be a number > 0/],
    [[HF, '--out', 'x', '--calib', 'c', '--owl', '--owl-lambda=-0.1'], /sparsityProfile\.lambda must be a number ≥ 0/],
  ])('usage error: %j', async (argv, message) => {
    await expect(pruneCommand(argv as string[])).rejects.toThrow(message);
  });
});

describe('dsnot eval', () => {
  it('--json prints {"perplexity", "tokens"} as evaluate() computes them', async () => {
    const { tokens } = files();
    expect(await evalCommand([HF, '--tokens', tokens, '--seqlen', '64', '--device', 'wasm', '--json'])).toBe(0);
    const printed = JSON.parse(logged[0]) as { perplexity: number; tokens: number };
    const direct = await evaluate({ model: HF, tokens: JSON.parse(readFileSync(tokens, 'utf8')), seqlen: 64, device: 'wasm' });
    expect(printed).toEqual({ perplexity: direct.perplexity, tokens: direct.tokens });
  });

  it('tokenizes --text with the model’s tokenizer (llama2.c tok512.bin) and reproduces REFERENCE.md', async () => {
    const text = join(dir, 'valid.txt');
    writeFileSync(text, readFileSync('test/fixtures/tinystories-valid/tinystories_val.txt', 'utf8').trim().replaceAll('\n\n', '\n'));
    await evalCommand([BIN, '--text', text, '--seqlen', '256', '--protocol', 'overlapping', '--max-tokens', '4096', '--device', 'wasm']);
    // REFERENCE.md: 4,096 tokens at ctx 256 → ppl 3.5624.
    expect(logged[0]).toMatch(/^perplexity 3\.562\d over 4096 tokens \(16 windows of 256, overlapping protocol, on wasm\)$/);
  });

  it.each([
    [[HF], /exactly one of --text FILE or --tokens FILE.json/],
    [[HF, '--text', 'a', '--tokens', 'b'], /exactly one of/],
    [[HF, '--tokens', '/nonexistent.json'], /--tokens: cannot read/],
    [[HF, '--protocol', 'sliding', '--tokens', 'x'], /--protocol must be one of authors, overlapping/],
  ])('usage error: %j', async (argv, message) => {
    await expect(evalCommand(argv as string[])).rejects.toThrow(message);
  });

  it('refuses a token file that is not a flat array of ids', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[[1, 2]]');
    await expect(evalCommand([HF, '--tokens', bad])).rejects.toThrow(/one non-empty JSON array of non-negative integer token ids/);
  });
});

describe('dsnot info', () => {
  it('describes stories260K from its headers', async () => {
    expect(await infoCommand([HF])).toBe(0);
    const text = logged.join('\n');
    expect(text).toContain('5 decoder layers, hidden 64, 8 heads (4 key/value), head dim 8, MLP 172 (silu)');
    expect(text).toContain('parameters: 260,032 (F32 260,032); prunable (decoder linears): 226,560');
    expect(text).toMatch(/self_attn\.k_proj\s+\[32, 64\]\s+F32/);
    expect(text).toMatch(/mlp\.down_proj\s+\[64, 172\]\s+F32/);
    expect(text).toContain('files: model.safetensors (1020.5 KiB), config.json (486 B)');
  });

  it('--json for machines, also for a llama2.c checkpoint', async () => {
    await infoCommand([BIN, '--json']);
    const info = JSON.parse(logged.join('\n'));
    expect(info).toMatchObject({ format: 'llama2c', layers: 5, kvHeads: 4, vocabSize: 512, prunableParameters: 226_560 });
    expect(info.linears).toHaveLength(7);
    expect(info.files.map((f: { name: string }) => f.name)).toEqual(['stories260K.bin', 'tok512.bin']);
  });
});

describe('the dsnot bin', () => {
  const bin = (...argv: string[]) => spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 60_000 });

  it('is built', () => expect(existsSync(CLI)).toBe(true));

  it.each([
    [['prune', HF, '--out', 'x', '--calib', 'c', '--bogus'], 2, "dsnot prune: Unknown option '--bogus'"],
    [['prune', HF, '--out', 'x'], 2, 'dsnot prune: --calib FILE is required'],
    [['prune', '/nonexistent/model', '--out', '/tmp/never', '--calib', 'c'], 1, 'dsnot prune: cannot open model path /nonexistent/model: ENOENT'],
    [['eval', HF], 2, 'dsnot eval: give exactly one of --text FILE or --tokens FILE.json'],
    [['info', '/nonexistent/model'], 1, 'dsnot info: cannot open model path /nonexistent/model: ENOENT'],
  ])('%j exits %i with one line', (argv, status, line) => {
    const r = bin(...(argv as string[]));
    expect(r.status).toBe(status);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('dsnot'));
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(line), lines[0]).toBe(true);
  });

  it('prunes end to end and prints where the output went', () => {
    const { calib } = files();
    const out = join(dir, 'bin-out');
    const r = bin('prune', HF, '--out', out, '--calib', calib, '--device', 'wasm');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`pruned ${join(process.cwd(), HF)} → ${out}`);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });
});

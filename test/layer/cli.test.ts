// `dsnot layer` end to end: the command function in-process for the table of cases, and the
// built bin (dist/cli.js, made by `npm run build`, which `npm test` runs first) as a user runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/layer.js';
import { decodeSafetensors, encodeSafetensors, typedArrayOf, type TensorToWrite } from '../../src/io/safetensors.js';
import { tempDir } from '../support/temp-dir.js';
import { nmMask, rowMask } from '../reference/masks.js';
import { riaMetric } from '../reference/ria.js';
import { expectClose, expectSameMask } from './expect.js';
import { loadVector, VECTOR_DIR } from './vectors.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = tempDir('dsnot-layer-');
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => vi.restoreAllMocks());

function readOut(path: string) {
  const f = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const t = (name: string) => typedArrayOf(f.header.tensors.find((e) => e.name === name)!.dtype, f.tensor(name));
  return { header: f.header, t };
}

/** IN with W and the given statistics only (no X3). */
function givenStatsFile(vectorFile: string, dtype: 'F32' | 'F64'): string {
  const v = loadVector(vectorFile);
  const vec = (name: string) => (dtype === 'F32' ? v.f32(name) : v.f64(name));
  const tensors: TensorToWrite[] = [
    { name: 'W', dtype: 'F32', shape: [v.rows, v.cols], data: v.f32('W') },
    ...['scaler_row', 'sum_metric_row', 'var'].map((name) => ({ name, dtype, shape: [v.cols], data: vec(name) })),
  ];
  const path = join(dir, `given-${dtype}.safetensors`);
  writeFileSync(path, encodeSafetensors(tensors));
  return path;
}

function expectMatchesVector(outPath: string, vectorFile: string) {
  const v = loadVector(vectorFile);
  const out = readOut(outPath);
  expectSameMask(out.t('mask') as Uint8Array, v.u8('dsnot_mask'), v.cols);
  expectSameMask(out.t('init_mask') as Uint8Array, v.u8('dsnot_init_mask'), v.cols);
  expectClose(out.t('err') as Float32Array, v.f64('dsnot_err'), 1e-5);
  expectClose(out.t('init_err') as Float32Array, v.f64('dsnot_init_err'), 1e-5);
  expect((out.t('cycles') as Int32Array)[0]).toBe(v.int('dsnot_cycles'));
  const w = out.t('weight') as Float32Array;
  const w0 = v.f32('W');
  const mask = out.t('mask') as Uint8Array;
  for (let i = 0; i < w.length; i++) expect(w[i]).toBe(mask[i] ? 0 : w0[i]);
  expect(out.header.metadata.device).toBe('wasm');
  expect(JSON.parse(out.header.metadata.timings)).toHaveProperty('dsnot_ms');
}

describe('dsnot layer (in-process)', () => {
  it('reproduces a vector from X3', async () => {
    const out = join(dir, 'out.safetensors');
    const code = await run(['--in', join(VECTOR_DIR, 'v02_dsnot_wanda_s60.safetensors'), '--out', out, '--sparsity', '0.6', '--no-guard', '--device', 'wasm']);
    expect(code).toBe(0);
    expectMatchesVector(out, 'v02_dsnot_wanda_s60.safetensors');
    expect(readOut(out).header.metadata.stats).toMatch(/^X3/);
    // Only the final file is left: the temporary name was renamed.
    expect(readdirSync(dir)).toEqual(['out.safetensors']);
  });

  it.each(['F32', 'F64'] as const)('reproduces a vector from given %s statistics, N:M', async (dtype) => {
    const out = join(dir, 'out.safetensors');
    const code = await run(['--in', givenStatsFile('v05_dsnot_wanda_2of4.safetensors', dtype), '--out', out, '--sparsity', '2:4', '--refine', 'dsnot', '--no-guard', '--device', 'wasm']);
    expect(code).toBe(0);
    if (dtype === 'F64') expectMatchesVector(out, 'v05_dsnot_wanda_2of4.safetensors');
    else expectSameMask(readOut(out).t('mask') as Uint8Array, loadVector('v05_dsnot_wanda_2of4.safetensors').u8('dsnot_mask'), 256);
    expect(readOut(out).header.metadata.stats).toBe('given');
  });

  it('magnitude init, --no-dsnot, sparsegpt from X3', async () => {
    const v = loadVector('v12_sparsegpt.safetensors');
    const out = join(dir, 'o.safetensors');
    await run(['--in', join(VECTOR_DIR, v.file), '--out', out, '--sparsity', '0.6', '--init', 'magnitude', '--no-dsnot', '--device', 'wasm']);
    expectSameMask(readOut(out).t('mask') as Uint8Array, v.u8('magnitude_layer_mask'), v.cols);
    expect((readOut(out).t('cycles') as Int32Array)[0]).toBe(0);
    await run(['--in', join(VECTOR_DIR, v.file), '--out', out, '--sparsity', '0.6', '--init', 'sparsegpt', '--no-dsnot', '--device', 'wasm']);
    expectSameMask(readOut(out).t('mask') as Uint8Array, v.u8('sparsegpt_mask'), v.cols);
    expectClose(readOut(out).t('weight') as Float32Array, v.f64('sparsegpt_W'), 0, 1e-5);
  });

  it('--init ria: per-row and 2:4 masks of the RIA score, with and without DSnoT', async () => {
    const v = loadVector('v01_dsnot_wanda_s50.safetensors');
    const given = givenStatsFile(v.file, 'F64');
    const sqrtScaler = Float32Array.from(v.f64('scaler_row'), (s) => Math.fround(Math.sqrt(Math.fround(s))));
    const metric = riaMetric(v.f32('W'), v.rows, v.cols, sqrtScaler);
    const out = join(dir, 'ria.safetensors');
    expect(await run(['--in', given, '--out', out, '--sparsity', '0.6', '--init', 'ria', '--no-dsnot', '--device', 'wasm'])).toBe(0);
    const alone = rowMask(metric, v.rows, v.cols, Math.floor(v.cols * 0.6));
    expectSameMask(readOut(out).t('mask') as Uint8Array, alone, v.cols);
    expect(JSON.parse(readOut(out).header.metadata.options)).toMatchObject({ init: 'ria', refine: 'none', dsnot: false });
    await run(['--in', given, '--out', out, '--sparsity', '0.6', '--init', 'ria', '--threshold', '0', '--no-guard', '--device', 'wasm']);
    expectSameMask(readOut(out).t('init_mask') as Uint8Array, alone, v.cols);
    expect((readOut(out).t('cycles') as Int32Array)[0]).toBeGreaterThan(0);
    await run(['--in', given, '--out', out, '--sparsity', '2:4', '--init', 'ria', '--refine', 'dsnot', '--no-guard', '--device', 'wasm']);
    expectSameMask(readOut(out).t('init_mask') as Uint8Array, nmMask(metric, v.rows, v.cols, 2, 4), v.cols);
  });

  it.each([
    ['no --in', ['--out', 'x'], /--in is required/],
    ['unknown flag', ['--in', 'a', '--out', 'b', '--cycles', '3'], /Unknown option '--cycles'/],
    ['bad sparsity text', ['--in', 'a', '--out', 'b', '--sparsity', 'half'], /--sparsity must be a number such as 0.5 or N:M/],
    ['bad init', ['--in', 'a', '--out', 'b', '--init', 'obs'], /--init must be one of wanda, magnitude, sparsegpt/],
    ['non-numeric cycles', ['--in', 'a', '--out', 'b', '--max-cycles', 'ten'], /--max-cycles must be a number/],
    ['conflicting flags', ['--in', 'a', '--out', 'b', '--no-dsnot', '--same-sign'], /--same-sign does not apply to --no-dsnot/],
  ])('usage error: %s', async (_n, argv, message) => {
    await expect(run(argv as string[])).rejects.toThrow(message);
  });

  it('input errors name the problem', async () => {
    const out = join(dir, 'out.safetensors');
    const given = givenStatsFile('v01_dsnot_wanda_s50.safetensors', 'F64');
    await expect(run(['--in', given, '--out', out, '--init', 'sparsegpt'])).rejects.toThrow(/--init sparsegpt needs X3/);
    await expect(run(['--in', given, '--out', out, '--sparsity', '1.2'])).rejects.toThrow(/sparsity must be in \[0, 1\)/);
    await expect(run(['--in', given, '--out', out, '--max-cycles=-3'])).rejects.toThrow(/maxCycles must be a non-negative integer/);
    // The default refinement (exact swaps) and the guard need H: given statistics without it say so.
    // In the CLI's own terms: what IN lacks and which flags do without it.
    await expect(run(['--in', given, '--out', out])).rejects.toThrow(/--refine swaps \(the default\) needs the true error, so X3 .* or H .*; IN has neither\. Add one, or choose --refine dsnot --no-guard .* or --refine none/);
    await expect(run(['--in', given, '--out', out, '--refine', 'dsnot'])).rejects.toThrow(/DSnoT's guard \(on by default\) needs the true error/);
    await expect(run(['--in', given, '--out', out, '--refine', 'swaps', '--no-guard'])).rejects.toThrow(/--no-guard does not apply to --refine swaps/);
    const noW = join(dir, 'now.safetensors');
    writeFileSync(noW, encodeSafetensors([{ name: 'V', dtype: 'F32', shape: [2], data: new Float32Array(2) }]));
    await expect(run(['--in', noW, '--out', out])).rejects.toThrow(/IN: no tensor named W/);
    const f64W = join(dir, 'f64w.safetensors');
    writeFileSync(f64W, encodeSafetensors([{ name: 'W', dtype: 'F64', shape: [2, 2], data: new Float64Array(4) }]));
    await expect(run(['--in', f64W, '--out', out])).rejects.toThrow(/IN: W must be F32 with 2 dimension\(s\) \(got F64 \[2, 2\]\)/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('dsnot layer (the built bin)', () => {
  it('runs from dist/cli.js, exits 0 and writes OUT', () => {
    expect(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does)').toBe(true);
    const out = join(dir, 'bin.safetensors');
    const r = spawnSync(process.execPath, [CLI, 'layer', '--in', join(VECTOR_DIR, 'v09_dsnot_magnitude_init_s60.safetensors'), '--out', out, '--sparsity', '0.6', '--init', 'magnitude', '--refine', 'dsnot', '--no-guard', '--device', 'wasm'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expectMatchesVector(out, 'v09_dsnot_magnitude_init_s60.safetensors');
  });

  it('exits non-zero with one line on stderr for bad input', () => {
    const r = spawnSync(process.execPath, [CLI, 'layer', '--in', join(dir, 'missing.safetensors'), '--out', join(dir, 'o')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dsnot layer: .*missing\.safetensors/);
    // A bad option is refused before any statistics are computed (or any device probed).
    const nm = spawnSync(process.execPath, [CLI, 'layer', '--in', join(VECTOR_DIR, 'v01_dsnot_wanda_s50.safetensors'), '--out', join(dir, 'o'), '--sparsity', '2:3'], { encoding: 'utf8' });
    expect(nm.status).toBe(1);
    expect(nm.stderr).toBe('dsnot layer: N:M sparsity: m = 3 does not divide the 256 columns\n');
    const u = spawnSync(process.execPath, [CLI, 'layer', '--sparsity', '2:2'], { encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/^dsnot layer: --in is required\n$/);
  });
});

// A Node process that used the worker pool exits on its own when its work is done: the workers
// are unref'd, so an idle pool never keeps the event loop alive (no dispose, no process.exit).
// The same for the CLI. Runs the built package (dist/, made by `npm run build`; npm test does).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

// A GEMM large enough to go to the pool, then nothing: the script just ends.
const SCRIPT = `
import { acquireBackend } from ${JSON.stringify(DIST)};
const b = await acquireBackend('wasm', { threads: 2 });
const [T, K, N] = [64, 512, 512];
const y = b.alloc('f32', T * N);
b.gemm(b.upload('f32', new Float32Array(T * K).fill(1)), b.upload('f32', new Float32Array(N * K).fill(0.5)), null, y, T, K, N);
const out = await b.read(y);
console.log(JSON.stringify({ threads: b.threads, y: out[0] }));
`;

describe('wasm threads in a Node process', () => {
  it('the process exits by itself after using the pool', () => {
    expect(existsSync(DIST), 'dist/ is missing: run `npm run build` (npm test does)').toBe(true);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, 'the process did not exit within 30 s').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ threads: 2, y: 256 });
  });

  it('the CLI rejects a bad --threads with one line', () => {
    const r = spawnSync(process.execPath, [CLI, 'layer', '--in', 'x', '--out', 'y', '--threads', 'many'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--threads must be 'auto' or a number/);
  });
});

describe('dsnot layer --threads', () => {
  it('1 and 2 threads write the same tensors, and the metadata says how many ran', async () => {
    expect(existsSync(CLI), 'dist/cli.js is missing: run `npm run build` (npm test does)').toBe(true);
    const { encodeSafetensors, decodeSafetensors } = await import('../../src/io/safetensors.js');
    const { randomLayer } = await import('../layer/random.js');
    const { tempDir } = await import('../support/temp-dir.js');
    // Large enough that the Gram update and the row kernels go to the pool (≥ 2^20 operations).
    const [rows, cols, nseq, seqlen] = [512, 2048, 2, 32];
    const l = randomLayer(4, rows, cols, { nseq, seqlen });
    const dir = tempDir('dsnot-threads-cli-');
    const input = join(dir, 'in.safetensors');
    writeFileSync(input, encodeSafetensors([
      { name: 'W', dtype: 'F32', shape: [rows, cols], data: l.weight },
      { name: 'X3', dtype: 'F32', shape: [nseq, seqlen, cols], data: l.x3 },
    ]));
    const outs = [1, 2].map((threads) => {
      const out = join(dir, `out-${threads}.safetensors`);
      const r = spawnSync(process.execPath, [CLI, 'layer', '--in', input, '--out', out, '--device', 'wasm', '--refine', 'dsnot', '--threads', String(threads)], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      return decodeSafetensors(new Uint8Array(readFileSync(out)));
    });
    expect(outs.map((o) => o.header.metadata.threads)).toEqual(['1', '2']);
    const names = outs[0].header.tensors.map((t) => t.name);
    expect(names).toContain('true_err');
    for (const name of names) expect(Buffer.compare(Buffer.from(outs[0].tensor(name)), Buffer.from(outs[1].tensor(name))), name).toBe(0);
  });
});

// The one build (dist/, with the wasm embedded) runs unchanged as ESM and CJS in Node, Deno and
// Bun, and gives the authors' mask there. `npm test` builds dist/ before running this. Deno and
// Bun come from their npm packages (devDependencies), so `npm ci` brings both.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const smoke = join(root, 'test', 'dist', 'smoke.mjs');
const vector = join(root, 'test', 'fixtures', 'vectors', 'v01_dsnot_wanda_s50.safetensors');
const deno = join(root, 'node_modules', '.bin', 'deno');
const bun = join(root, 'node_modules', '.bin', 'bun');

function run(cmd: string, args: string[]) {
  const out = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('the built package in each runtime', () => {
  it.each(['esm', 'cjs'])('Node, %s', (kind) => {
    expect(run(process.execPath, [smoke, kind, vector])).toEqual({ runtime: 'node', kind, device: 'wasm', mismatches: 0, pruned: 4096 });
  });

  it.each(['esm', 'cjs'])('Deno, %s', (kind) => {
    expect(run(deno, ['run', '--allow-read', '--allow-env', smoke, kind, vector])).toEqual({ runtime: 'deno', kind, device: 'wasm', mismatches: 0, pruned: 4096 });
  });

  it.each(['esm', 'cjs'])('Bun, %s', (kind) => {
    expect(run(bun, [smoke, kind, vector])).toEqual({ runtime: 'bun', kind, device: 'wasm', mismatches: 0, pruned: 4096 });
  });
});

// The tarball a user installs (`npm pack` of the built package): its export map and types resolve
// for every TypeScript module resolution (@arethetypeswrong/cli: node10, node16 from ESM and from
// CJS, bundler), and the bare name `dsnot` loads through that export map in Node, Deno and Bun and
// gives the authors' mask. `npm test` builds dist/ before running this.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const vector = join(root, 'test', 'fixtures', 'vectors', 'v01_dsnot_wanda_s50.safetensors');

let packDir: string;
let tarball: string;
let files: string[];
// Where the tarball is unpacked as node_modules/dsnot: inside this repository's node_modules/ so
// that the package's own dependencies (@huggingface/tokenizers) resolve as in a user's project.
const installRoot = join(root, 'node_modules', '.cache', `dsnot-pack-${process.pid}`);

beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), 'dsnot-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: root, encoding: 'utf8' });
  const [packed] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(packDir, packed.filename);
  files = packed.files.map((f) => f.path);
  const pkg = join(installRoot, 'node_modules', 'dsnot');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', pkg, '--strip-components=1']);
  copyFileSync(join(root, 'test', 'dist', 'smoke.mjs'), join(installRoot, 'smoke.mjs'));
}, 120_000);

afterAll(() => {
  rmSync(packDir, { recursive: true, force: true });
  rmSync(installRoot, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds what package.json points at', () => {
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/cli.js']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
  });

  it('has no export-map or types problem for any module resolution (arethetypeswrong)', () => {
    const r = spawnSync(process.execPath, [bin('attw'), tarball, '--format', 'json'], { encoding: 'utf8', timeout: 120_000 });
    const report = JSON.parse(r.stdout) as {
      analysis: { types: { kind: string }; entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> };
      problems: Record<string, unknown[]> | unknown[];
    };
    expect(Object.values(report.problems).flat()).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    expect(report.analysis.types.kind).toBe('included');
    const resolved = report.analysis.entrypoints['.'].resolutions;
    expect(resolved['node16-esm'].resolution?.fileName).toMatch(/\/dist\/index\.d\.ts$/);
    expect(resolved['node16-cjs'].resolution?.fileName).toMatch(/\/dist\/index\.d\.cts$/);
  }, 120_000);

  const runtimes: Array<[string, string, string[]]> = [
    ['node', process.execPath, []],
    ['deno', bin('deno'), ['run', '--allow-read', '--allow-env']],
    ['bun', bin('bun'), []],
  ];
  it.each(runtimes.flatMap(([name, cmd, args]) => ['esm', 'cjs'].map((kind) => [name, kind, cmd, args] as const)))(
    "%s loads 'dsnot' (%s) through its export map and prunes to the authors' mask",
    (runtime, kind, cmd, args) => {
      const out = execFileSync(cmd, [...args, join(installRoot, 'smoke.mjs'), kind, vector, 'package'], {
        cwd: installRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' },
      });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ runtime, kind, device: 'wasm', mismatches: 0, pruned: 4096 });
    },
  );
});

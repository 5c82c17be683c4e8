// A quiet terminal on a machine without a GPU driver: the built bin (dist/cli.js) prints dsnot's
// own line about the device and why, and nothing from the native layer (Dawn's and the Vulkan
// loader's "Warning: vkCreateInstance …", "at CheckVkSuccessImpl (…)"), which Dawn writes from C++
// straight to file descriptor 2; --verbose lets it through. Vulkan is Dawn's backend on Linux
// only, and the driver list is what the two loader variables name: a file that does not exist.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrationWindows, HF, tempDir } from '../prune/helpers.js';
import { rmSync, writeFileSync } from 'node:fs';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const NATIVE = /vkCreateInstance|CheckVkSuccessImpl|loader_get_json|^Warning:|^\s+at /m;
const hasDawn = (() => {
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let calib: string;
beforeAll(() => {
  dir = tempDir('dsnot-quiet-');
  calib = join(dir, 'calib.json');
  writeFileSync(calib, JSON.stringify(calibrationWindows(2, 16)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function noDriver(argv: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const missing = join(dir, 'no-such-driver.json');
  const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: missing, VK_DRIVER_FILES: missing };
  delete env.DSNOT_DEBUG;
  delete env.DEBUG;
  Object.assign(env, extraEnv);
  return spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 120_000, env });
}

const NO_ADAPTER = /WebGPU unavailable: requestAdapter\(\) returned null: no WebGPU adapter/;

describe.skipIf(process.platform !== 'linux')('without a GPU driver', () => {
  it('dsnot info says what --device auto runs on, and nothing from the native layer', () => {
    const r = noDriver(['info', HF]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(NATIVE);
    const line = r.stdout.trim().split('\n').pop()!;
    expect(line).toMatch(/^ {2}device: auto runs on wasm: /);
    expect(line).toMatch(NO_ADAPTER);
  });

  it('dsnot prune prints one line about the device, and nothing from the native layer', () => {
    const r = noDriver(['prune', HF, '--out', join(dir, 'out'), '--calib', calib, '--sparsity', '0.5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(NATIVE);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dsnot: device 'auto' runs on wasm: /);
    expect(lines[0]).toMatch(NO_ADAPTER);
    expect(r.stdout).toMatch(/on wasm/);
  });

  it('dsnot prune --device webgpu fails with one line of its own', () => {
    const r = noDriver(['prune', HF, '--out', join(dir, 'out-gpu'), '--calib', calib, '--device', 'webgpu']);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(NATIVE);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dsnot prune: /);
    expect(lines[0]).toMatch(NO_ADAPTER);
  });

  it.skipIf(!hasDawn).each([
    ['--verbose', ['info', HF, '--verbose'], {}],
    ['DEBUG=dsnot', ['info', HF], { DEBUG: 'dsnot' }],
  ] as const)('%s shows the native layer as it prints itself', (_, argv, extraEnv) => {
    const r = noDriver([...argv], extraEnv);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/vkCreateInstance/);
    expect(r.stdout.trim().split('\n').pop()).toMatch(NO_ADAPTER);
  });
});

// Soak: a prune of stories260K is SIGKILLed at seeded random points, 30 times, each next run
// resuming what the last one left; then it is let finish. Half the kills come from the parent at
// a random time (a kill can land anywhere: mid-write, mid-rename, mid-journal), half from the
// child itself at a random progress event (so every stage of the pipeline is hit, not mostly
// process start-up). After every kill the folder either verifies and is
// the finished model, or does not verify (an intermediate state never passes). The end result is
// byte-identical to an uninterrupted run and verifies.
//
// Also the two-runs-at-once loop: 20 rounds of two `dsnot prune` processes started together on
// one folder; every outcome is a success or the busy refusal, and the folder always verifies.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyOutput } from '../../src/pipeline/verify.js';
import type { PruneOptions, PruneReport } from '../../src/prune.js';
import { calibrationWindows, HF, tempDir } from './helpers.js';

let child: string;
let cli: string;
beforeAll(async () => {
  const dir = tempDir('dsnot-soak-');
  child = join(dir, 'child-prune.mjs');
  cli = join(dir, 'cli.mjs');
  const common: BuildOptions = { bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['webgpu'], logLevel: 'error' };
  await build({ ...common, entryPoints: [resolve('test/prune/child-prune.ts')], outfile: child });
  await build({ ...common, entryPoints: [resolve('src/cli.ts')], outfile: cli });
});

/** Python-style seeded numbers in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Run a command; with `killAfterMs`, SIGKILL it then. Resolves with how it ended and its stderr. */
function runProcess(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string; ms: number }> {
  const t0 = performance.now();
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  p.stderr.on('data', (d) => { stderr += String(d); });
  p.stdout.on('data', (d) => { stdout += String(d); });
  const timer = killAfterMs === undefined ? null : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
  return new Promise((done) => p.on('exit', (code, signal) => {
    if (timer) clearTimeout(timer);
    done({ code, signal, stderr, stdout, ms: performance.now() - t0 });
  }));
}

const sameFiles = (dir: string, ref: string, files: string[]) =>
  files.filter((f) => f !== 'dsnot-report.json').every((f) => existsSync(join(dir, f)) && readFileSync(join(dir, f)).equals(readFileSync(join(ref, f))));

describe('soak: 30 random kills, then finish', () => {
  it('every state after a kill is either the finished model or fails verify; the end is byte-identical and verifies', async () => {
    const t0 = performance.now();
    const options: Omit<PruneOptions, 'output'> = { model: resolve(HF), calibration: { tokens: calibrationWindows(8, 64) }, device: 'wasm' };
    const args = (output: string, killAtEvent?: number) => [child, JSON.stringify({ ...options, output, killAtEvent })];
    const refDir = tempDir();
    const whole = await runProcess(args(refDir));
    expect(whole.code, whole.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(join(refDir, 'dsnot-report.json'), 'utf8')) as PruneReport;
    const { events } = JSON.parse(whole.stdout) as { events: number };

    const dir = tempDir();
    const random = rng(20261204);
    const outcomes = { killed: 0, finished: 0, verifiedAfterKill: 0 };
    // Until 30 kills landed inside a run: a resumed run is shorter than a whole one, so some
    // draws outlast it (the run finishes, and the next one starts over on the finished folder).
    for (let k = 0; outcomes.killed < 30; k++) {
      expect(k, 'too many runs finished before their kill').toBeLessThan(90);
      const draw = random();
      const r = k % 2 ? await runProcess(args(dir), draw * whole.ms) : await runProcess(args(dir, Math.floor(draw * events)));
      if (r.signal === 'SIGKILL') outcomes.killed++;
      else {
        expect(r.code, r.stderr).toBe(0);
        outcomes.finished++;
      }
      const v = await verifyOutput({ output: dir });
      if (v.ok) {
        // Only a finished model may pass: then it is the reference's.
        outcomes.verifiedAfterKill++;
        expect(sameFiles(dir, refDir, ref.files), `kill ${k}`).toBe(true);
      }
    }
    const last = await runProcess(args(dir));
    expect(last.code, last.stderr).toBe(0);
    expect(sameFiles(dir, refDir, ref.files)).toBe(true);
    const v = await verifyOutput({ output: dir });
    expect(v.problems).toEqual([]);
    expect(v.contentHash).toBe(ref.integrity.contentHash);
    console.log(`soak: ${JSON.stringify(outcomes)}, an uninterrupted run ${Math.round(whole.ms)} ms, the test ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 300_000);
});

describe('two `dsnot prune` processes started together, 20 rounds', () => {
  it('each is a success or the busy refusal, and the folder verifies after every round', async () => {
    const work = tempDir();
    const out = join(work, 'out');
    const calib = join(work, 'calib.json');
    writeFileSync(calib, JSON.stringify(calibrationWindows(16, 128)));
    const args = (s: string) => [cli, 'prune', resolve(HF), '--out', out, '--calib', calib, '--device', 'wasm', '--sparsity', s];
    let refusals = 0;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all([runProcess(args('0.5')), runProcess(args('0.6'))]);
      for (const r of results) {
        if (r.code !== 0) {
          expect(r.code, r.stderr).toBe(1);
          expect(r.stderr.trim()).toMatch(new RegExp(`^dsnot prune: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is being written by another run \\(pid \\d+, started [^)]+\\); wait for it or choose another --out$`));
          refusals++;
        }
      }
      expect(results.some((r) => r.code === 0), `round ${round}`).toBe(true);
      const verify = await runProcess([cli, 'verify', out]);
      expect(verify.code, `round ${round}: ${verify.stderr}`).toBe(0);
    }
    // Started together, the runs overlap: nearly every round one of them is refused.
    expect(refusals).toBeGreaterThanOrEqual(15);
    console.log(`two at once: ${refusals} refusals in 20 rounds`);
  }, 300_000);
});

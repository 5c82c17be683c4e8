// The refinements' cost per linear on wasm (one thread), in one run so the ratios are fair:
// the authors' DSnoT (no H), the same with the true error reported, the guarded DSnoT, exact
// swaps (the default), and SparseGPT, on LLaMA-7B-shaped linears with synthetic weights and H.
//
//   node bench/refine.bench.mjs [--shapes 4096x4096,11008x4096,4096x11008] [--no-sparsegpt]
//
// One timed call per case after a warm-up (each takes seconds). The WebGPU backend runs swaps,
// the guard and the true error on wasm (hasSwaps is false), so these are its numbers too.
// Writes bench/results/refine-wasm.json and prints a table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argv, flag, here, lib, parseShapes, syntheticLayer } from './common.mjs';

const { pruneLayer } = lib;
const SHAPES = parseShapes(flag('--shapes', '4096x4096'));
const withSparseGpt = !argv.includes('--no-sparsegpt');

const CASES = [
  ['wanda (mask only, no H)', { dsnot: false }, false],
  ['wanda + DSnoT, authors (no H)', { dsnot: { guard: false } }, false],
  ['wanda, true error reported', { dsnot: false }, true],
  ['wanda + DSnoT, authors, true error', { dsnot: { guard: false } }, true],
  ['wanda + DSnoT, guarded', { dsnot: { guard: true } }, true],
  ['wanda + swaps (default)', { refine: 'swaps' }, true],
  ...(withSparseGpt ? [['SparseGPT', { init: 'sparsegpt', dsnot: false }, true]] : []),
];

const results = [];
for (const [rows, cols] of SHAPES) {
  const { weight, stats } = syntheticLayer(rows, cols, true);
  const noH = { ...stats, hessian: null };
  await pruneLayer({ weight, rows: 64, cols, stats, sparsity: 0.5, init: 'wanda', refine: 'swaps', device: 'wasm', weight: weight.subarray(0, 64 * cols) });
  for (const [name, m, withH] of CASES) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await pruneLayer({ weight, rows, cols, stats: withH ? stats : noH, sparsity: 0.5, init: 'wanda', device: 'wasm', ...m });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const te = out.trueError;
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    results.push({
      shape: `${rows}x${cols}`, method: name, callMs: ms, cpuMs: (cpu.user + cpu.system) / 1000,
      refineMs: out.timings.dsnotMs, swaps: out.swaps, cycles: out.cycles,
      trueError: te ? { initial: sum(te.initial), final: sum(te.final) } : null,
    });
    process.stderr.write(`${rows}x${cols} ${name}: ${(ms / 1000).toFixed(2)} s\n`);
  }
}
const load = (await import('node:os')).loadavg();
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'refine-wasm.json'), `${JSON.stringify({
  date: new Date().toISOString(), node: process.version, cpu: (await import('node:os')).cpus()[0]?.model,
  loadAverageAtEnd: load, threads: 1, command: `node bench/refine.bench.mjs ${argv.join(' ')}`.trim(), sparsity: 0.5, results,
}, null, 2)}\n`);
console.table(results.map((r) => ({
  shape: r.shape, method: r.method, 'call s': (r.callMs / 1000).toFixed(2), 'cpu s': (r.cpuMs / 1000).toFixed(2),
  'true error': r.trueError ? `${r.trueError.initial.toPrecision(4)} → ${r.trueError.final.toPrecision(4)}` : '–',
})));
console.log(`load average ${load.map((x) => x.toFixed(1)).join(' ')}: compare ratios within this run`);

// Per-layer pruning on wasm for LLaMA-7B-shaped linears with synthetic weights and statistics:
// the Wanda initial mask, the DSnoT refinement, and SparseGPT (O(cols³): fewer runs), each on 1
// thread and on N (--threads, default every core) in the same run, with the speed-up and a check
// that the masks are identical.
//
//   node bench/layer.bench.mjs [--shapes 4096x4096,11008x4096,4096x11008] [--no-sparsegpt]
//                              [--sparsegpt-shapes 4096x4096] [--threads auto|N] [--reps 7]
//                                                                  (needs the build: npm run build)
//
// On a shared machine the load changes between the 1-thread and the N-thread cases; so after them
// each shape's whole Wanda + DSnoT call is also timed --reps times with the thread counts
// alternating, and the speed-up reported is the ratio of the medians of that interleaved series.
//
// Each case is a Benchmark.js deferred test around pruneLayer(); besides the whole call it keeps
// the call's own split (timings.initMs = metric + selection, timings.dsnotMs = the DSnoT kernel),
// because "DSnoT refinement" means the refinement alone, not the initial mask or the copies, and
// the process CPU time of each call (wall time on a shared machine includes waiting for a core).
// Writes bench/results/layer-wasm.json and prints a table; checks growth is linear in rows×cols
// (the DSnoT kernel's ms per million weights across the shapes).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argv, benchAsync, flag, here, lib, parseShapes, speedup, syntheticLayer, threadCounts } from './common.mjs';

const { pruneLayer } = lib;
const SHAPES = parseShapes(flag('--shapes', '4096x4096,11008x4096,4096x11008'));
const SPARSEGPT_SHAPES = argv.includes('--no-sparsegpt') ? [] : parseShapes(flag('--sparsegpt-shapes', '4096x4096,11008x4096,4096x11008'));
const THREADS = await threadCounts();
const REPS = Number(flag('--reps', '7'));

/** Whole calls with the thread counts alternating: median wall ms per count. */
async function interleaved(base) {
  const ms = new Map(THREADS.map((t) => [t, []]));
  for (let i = 0; i < REPS; i++) {
    for (const threads of THREADS) {
      const t0 = performance.now();
      await pruneLayer({ ...base, threads, init: 'wanda', dsnot: { guard: false } });
      ms.get(threads).push(performance.now() - t0);
    }
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  return THREADS.map((threads) => ({ threads, medianMs: median(ms.get(threads)), ms: ms.get(threads) }));
}

/** pruneLayer(options) under Benchmark.js, with the call's own split and CPU time averaged. */
async function runCase(name, options, minSamples, maxTime) {
  const split = { initMs: [], dsnotMs: [], cpuMs: [], cycles: 0, mask: null };
  const b = await benchAsync(name, async () => {
    const cpu0 = process.cpuUsage();
    const out = await pruneLayer(options);
    const cpu = process.cpuUsage(cpu0);
    split.cpuMs.push((cpu.user + cpu.system) / 1000);
    split.initMs.push(out.timings.initMs);
    split.dsnotMs.push(out.timings.dsnotMs);
    split.cycles = out.cycles;
    split.mask = out.mask;
    if (out.device !== 'wasm') throw new Error(`ran on ${out.device}`);
  }, { minSamples, maxTime });
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  return {
    callMs: b.seconds * 1000,
    rme: b.rme,
    samples: b.samples,
    initMs: mean(split.initMs),
    dsnotMs: mean(split.dsnotMs),
    cpuMs: mean(split.cpuMs),
    cycles: split.cycles,
    mask: split.mask,
  };
}

/** Byte-identical typed arrays (the masks of 1 and N threads). */
const sameBytes = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const results = [];
const table = [];
const interleavedResults = [];
for (const [rows, cols] of SHAPES) {
  const { weight, stats } = syntheticLayer(rows, cols, false);
  const base = { weight, rows, cols, stats, sparsity: 0.5, device: 'wasm' };
  let one = null;
  for (const threads of THREADS) {
    // Warm up once (module compile, workers, memory growth), then measure.
    await pruneLayer({ ...base, threads, init: 'wanda', dsnot: { guard: false } });
    const wanda = await runCase(`wanda ${rows}x${cols} ${threads}t`, { ...base, threads, init: 'wanda', dsnot: false }, 5, 8);
    const dsnot = await runCase(`dsnot ${rows}x${cols} ${threads}t`, { ...base, threads, init: 'wanda', dsnot: { guard: false } }, 5, 8);
    const rec = layerRecord(rows, cols, threads, wanda, dsnot);
    one ??= { rec, masks: [wanda.mask, dsnot.mask] };
    rec.identicalMasksToOneThread = sameBytes(one.masks[0], wanda.mask) && sameBytes(one.masks[1], dsnot.mask);
    if (!rec.identicalMasksToOneThread) throw new Error(`${rows}×${cols}: masks on ${threads} threads differ from 1 thread`);
    rec.speedup = { wandaMask: one.rec.wandaMaskMs / rec.wandaMaskMs, dsnotRefine: one.rec.dsnotRefineMs / rec.dsnotRefineMs, dsnotCall: one.rec.dsnotCallMs / rec.dsnotCallMs };
    results.push(rec);
    table.push({
      shape: `${rows}×${cols}`,
      threads,
      'wanda mask ms': rec.wandaMaskMs.toFixed(1),
      'dsnot refine ms': rec.dsnotRefineMs.toFixed(1),
      'dsnot ms/Mw': rec.dsnotMsPerMWeights.toFixed(2),
      'call wall ms (wanda / +dsnot)': `${wanda.callMs.toFixed(0)} / ${dsnot.callMs.toFixed(0)}`,
      'call cpu ms (wanda / +dsnot)': `${wanda.cpuMs.toFixed(0)} / ${dsnot.cpuMs.toFixed(0)}`,
      'speed-up (mask / refine / whole call)': `${speedup(one.rec.wandaMaskMs, rec.wandaMaskMs)} / ${speedup(one.rec.dsnotRefineMs, rec.dsnotRefineMs)} / ${speedup(one.rec.dsnotCallMs, rec.dsnotCallMs)}`,
      cycles: dsnot.cycles,
    });
  }
  const series = await interleaved(base);
  interleavedResults.push({ rows, cols, series, speedup: series[0].medianMs / series[series.length - 1].medianMs });
}

function layerRecord(rows, cols, threads, wanda, dsnot) {
  const mw = (rows * cols) / 1e6;
  return {
    rows, cols, threads, weights: rows * cols,
    wandaMaskMs: wanda.initMs, wandaCallMs: wanda.callMs, wandaCallCpuMs: wanda.cpuMs,
    dsnotRefineMs: dsnot.dsnotMs, dsnotCallMs: dsnot.callMs, dsnotCallCpuMs: dsnot.cpuMs, dsnotCycles: dsnot.cycles,
    // CPU the refinement adds to a Wanda-only call (which runs the same kernel with 0 cycles).
    dsnotExtraCpuMs: dsnot.cpuMs - wanda.cpuMs,
    dsnotRowsPerSec: rows / (dsnot.dsnotMs / 1000),
    wandaMsPerMWeights: wanda.initMs / mw, dsnotMsPerMWeights: dsnot.dsnotMs / mw,
    samples: { wanda: wanda.samples, dsnot: dsnot.samples }, rmePercent: { wanda: wanda.rme, dsnot: dsnot.rme },
  };
}

const sparsegpt = [];
for (const [rows, cols] of SPARSEGPT_SHAPES) {
  const { weight, stats } = syntheticLayer(rows, cols, true);
  let one = null;
  for (const threads of THREADS) {
    // One run each: a single SparseGPT layer takes seconds to minutes on one core.
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const out = await pruneLayer({ weight, rows, cols, stats, sparsity: 0.5, init: 'sparsegpt', dsnot: false, device: 'wasm', threads });
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    const rec = {
      rows, cols, threads, callMs: ms, callCpuMs: (cpu.user + cpu.system) / 1000, kernelMs: out.timings.initMs,
      rowsPerSec: rows / (out.timings.initMs / 1000),
    };
    one ??= { rec, mask: out.mask, weight: out.weight };
    if (!sameBytes(one.mask, out.mask) || !sameBytes(one.weight, out.weight)) throw new Error(`SparseGPT ${rows}×${cols}: ${threads} threads differ from 1`);
    sparsegpt.push(rec);
    table.push({
      shape: `${rows}×${cols}`, threads, 'sparsegpt ms (1 run)': rec.kernelMs.toFixed(0), 'sparsegpt cpu ms': rec.callCpuMs.toFixed(0),
      'sparsegpt rows/s': rec.rowsPerSec.toFixed(1), 'speed-up (sparsegpt)': speedup(one.rec.kernelMs, rec.kernelMs),
    });
  }
}

// Linearity on the DSnoT kernel's own time per million weights (read it with the load average:
// on a busy machine wall time includes waiting; dsnotExtraCpuMs, a difference of two means, is
// the load-independent but noisier view).
const perMw = results.filter((r) => r.threads === 1).map((r) => r.dsnotMsPerMWeights);
const linear = perMw.length > 1 ? Math.max(...perMw) / Math.min(...perMw) : 1;
const load = (await import('node:os')).loadavg();
const out = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: (await import('node:os')).cpus()[0]?.model,
  loadAverageAtEnd: load,
  threads: THREADS,
  command: `node bench/layer.bench.mjs ${argv.join(' ')}`.trim(),
  sparsity: 0.5,
  layers: results,
  wholeCallInterleaved: interleavedResults,
  sparsegpt,
  linearity: { dsnotKernelMsPerMWeights: perMw, maxOverMin: linear },
};
mkdirSync(join(here, 'results'), { recursive: true });
const resultFile = join(here, 'results', 'layer-wasm.json');
if (SPARSEGPT_SHAPES.length === 0 && existsSync(resultFile)) {
  // --no-sparsegpt: keep the (slow) SparseGPT results of the last full run, saying when they were made.
  const previous = JSON.parse(readFileSync(resultFile, 'utf8'));
  if (previous.sparsegpt?.length) out.sparsegpt = previous.sparsegpt.map((r) => ({ ...r, from: r.from ?? previous.date }));
}
writeFileSync(resultFile, `${JSON.stringify(out, null, 2)}\n`);
console.table(table);
for (const r of interleavedResults) {
  console.log(`${r.rows}×${r.cols} whole Wanda + DSnoT call, ${REPS} interleaved runs: ${r.series.map((x) => `${x.threads} thread${x.threads > 1 ? 's' : ''} median ${x.medianMs.toFixed(0)} ms`).join(', ')}: ${r.speedup.toFixed(2)}× (identical masks checked above)`);
}
console.log(`DSnoT kernel ms per million weights: ${perMw.map((x) => x.toFixed(2)).join(', ')}; max/min ${linear.toFixed(2)} (1 = linear in rows×cols)`);
console.log(`load average ${load.map((x) => x.toFixed(1)).join(' ')}: wall times on a shared machine include waiting; cpu ms do not`);

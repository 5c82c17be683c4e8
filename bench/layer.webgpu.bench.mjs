// Per-layer pruning on WebGPU for LLaMA-7B-shaped linears with synthetic weights and statistics
// (the same generator and cases as bench/layer.bench.mjs, which runs them on wasm): the Wanda
// initial mask and the DSnoT refinement, with upload, compute and readback timed apart.
// SparseGPT has no WGSL kernel: on 'webgpu' it runs on wasm (see layer-wasm.json).
//
//   node bench/layer.webgpu.bench.mjs [--small] [--shapes 4096x4096,11008x4096,4096x11008]
//                                     [--reps 5] [--no-check]          (needs the build: npm run build)
//
// --small uses shapes a CPU WebGPU (SwiftShader, lavapipe) finishes in a minute or two; without it
// the full LLaMA-7B shapes run, which a real GPU does in well under five minutes (most of it the
// wasm cross-check). Per shape and repetition, around the backend's own calls:
//   upload   weight to the GPU (+ metric and mask buffers), until the queue is idle
//   wanda    Wanda metric + per-row selection (the initial mask), until idle
//   dsnot    the DSnoT refinement, including its per-row error readback (rows × 32 bytes)
//   apply    W[mask] = 0, until idle
//   readback mask + pruned weight to the host
// plus whole pruneLayer() calls (Benchmark.js) as the wasm bench measures them, and a check that
// the WebGPU masks equal wasm's bit for bit (once per shape, --no-check skips it).
// Writes bench/results/layer-webgpu.json (adapter name, isFallbackAdapter, limits) and prints a table.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argv, benchAsync, flag, here, lib, parseShapes, syntheticLayer } from './common.mjs';

const { pruneLayer, createWebGpuBackend, acquireBackend, columnVectors } = lib;
const small = argv.includes('--small');
const SHAPES = parseShapes(flag('--shapes', small ? '128x512,256x256,64x1024' : '4096x4096,11008x4096,4096x11008'));
const REPS = Number(flag('--reps', small ? 2 : 5));
const CHECK = !argv.includes('--no-check');
const SPARSITY = 0.5;

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** One pass over the kernels pruneLayer runs for Wanda + DSnoT, each phase timed to queue idle. */
async function phases(backend, rows, cols, weight, columns) {
  const idle = () => backend.device.queue.onSubmittedWorkDone();
  const n = rows * cols;
  const k = Math.floor(cols * SPARSITY);
  const t = [performance.now()];
  const lap = () => t.push(performance.now());
  const w = backend.upload('f32', weight);
  const metric = backend.alloc('f32', n);
  const mask = backend.alloc('u8', n);
  await idle();
  lap();
  backend.metric(w, rows, cols, 'wanda', columns.sqrtScaler, metric);
  backend.selectRows(metric, rows, cols, k, mask);
  await idle();
  lap();
  const r = await backend.dsnot({
    weight: w, rows, cols, mask, initialMetric: null, columns, k, nm: null,
    maxCycles: 50, updateThreshold: 0.1, sameSign: false,
  });
  lap();
  backend.applyMask(w, mask, n);
  await idle();
  lap();
  const maskOut = await backend.read(mask);
  await backend.read(w);
  lap();
  for (const x of [w, metric, mask]) backend.release(x);
  const d = t.slice(1).map((x, i) => x - t[i]);
  return {
    times: { uploadMs: d[0], wandaMs: d[1], dsnotMs: d[2], applyMs: d[3], readbackMs: d[4], totalMs: t[5] - t[0] },
    result: { mask: maskOut, initError: r.initError, error: r.error, cycles: r.cycles },
  };
}

/** The same kernels on wasm, for the bit-for-bit check (f64 errors, not pruneLayer's f32 copies). */
async function onWasm(wasm, rows, cols, weight, columns) {
  const n = rows * cols;
  const k = Math.floor(cols * SPARSITY);
  const w = wasm.upload('f32', weight);
  const metric = wasm.alloc('f32', n);
  const mask = wasm.alloc('u8', n);
  wasm.metric(w, rows, cols, 'wanda', columns.sqrtScaler, metric);
  wasm.selectRows(metric, rows, cols, k, mask);
  const r = await wasm.dsnot({
    weight: w, rows, cols, mask, initialMetric: null, columns, k, nm: null,
    maxCycles: 50, updateThreshold: 0.1, sameSign: false,
  });
  const out = { mask: await wasm.read(mask), initError: r.initError, error: r.error, cycles: r.cycles };
  for (const x of [w, metric, mask]) wasm.release(x);
  return out;
}

/** Largest |a − b| relative to max(|b|, the update threshold) over the rows. */
function maxRelDiff(a, b) {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 0.1));
  return m;
}

async function benchCall(name, options, minSamples, maxTime) {
  const b = await benchAsync(name, async () => {
    const out = await pruneLayer(options);
    if (out.device !== 'webgpu') throw new Error(`ran on ${out.device}`);
  }, { minSamples, maxTime });
  return { callMs: b.seconds * 1000, rme: b.rme, samples: b.samples };
}

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const backend = await createWebGpuBackend();
const limits = backend.device.limits;
console.log(`adapter: ${backend.adapterName} (isFallbackAdapter: ${backend.isFallbackAdapter})`);
if (backend.isFallbackAdapter && !small) console.log('a software adapter: consider --small');

let wasmRef = null;
try {
  wasmRef = JSON.parse(readFileSync(join(here, 'results', 'layer-wasm.json'), 'utf8'));
} catch {
  // no wasm results to compare with
}

const results = [];
const table = [];
for (const [rows, cols] of SHAPES) {
  const { weight, stats } = syntheticLayer(rows, cols);
  const columns = columnVectors(stats, 1);
  await phases(backend, rows, cols, weight, columns); // warm-up: pipelines, buffer pool
  const runs = [];
  let last = null;
  for (let i = 0; i < REPS; i++) {
    const p = await phases(backend, rows, cols, weight, columns);
    runs.push(p.times);
    last = p.result;
  }
  const m = (key) => median(runs.map((r) => r[key]));
  const base = { weight, rows, cols, stats, sparsity: SPARSITY, backend };
  const wandaCall = await benchCall(`wanda ${rows}x${cols}`, { ...base, init: 'wanda', dsnot: false }, small ? 3 : 5, small ? 4 : 8);
  const dsnotCall = await benchCall(`dsnot ${rows}x${cols}`, { ...base, init: 'wanda', dsnot: { guard: false } }, small ? 3 : 5, small ? 4 : 8);
  let check = null;
  if (CHECK) {
    const t0 = performance.now();
    const cpu = await onWasm(await acquireBackend('wasm'), rows, cols, weight, columns);
    const wasmKernelsMs = performance.now() - t0;
    const gpuCall = await pruneLayer({ ...base, init: 'wanda', dsnot: { guard: false } });
    const cpuCall = await pruneLayer({ weight, rows, cols, stats, sparsity: SPARSITY, init: 'wanda', dsnot: { guard: false }, device: 'wasm' });
    check = {
      identicalMasks: sameBits(last.mask, cpu.mask) && sameBits(gpuCall.mask, cpuCall.mask) && sameBits(gpuCall.initMask, cpuCall.initMask),
      identicalWeights: sameBits(new Uint32Array(gpuCall.weight.buffer), new Uint32Array(cpuCall.weight.buffer)),
      sameCycles: last.cycles === cpu.cycles && gpuCall.cycles === cpuCall.cycles,
      initErrorMaxRelDiff: maxRelDiff(last.initError, cpu.initError),
      errorMaxRelDiff: maxRelDiff(last.error, cpu.error),
      wasmKernelsMs,
    };
  }
  const identicalToWasm = check ? check.identicalMasks && check.identicalWeights && check.sameCycles : null;
  const wasmRow = wasmRef?.layers?.find((l) => l.rows === rows && l.cols === cols);
  const rec = {
    rows, cols, weights: rows * cols, reps: REPS,
    uploadMs: m('uploadMs'), wandaMaskMs: m('wandaMs'), dsnotRefineMs: m('dsnotMs'), applyMaskMs: m('applyMs'), readbackMs: m('readbackMs'),
    phasesTotalMs: m('totalMs'), dsnotCycles: last.cycles,
    wandaCallMs: wandaCall.callMs, dsnotCallMs: dsnotCall.callMs,
    rmePercent: { wanda: wandaCall.rme, dsnot: dsnotCall.rme },
    dsnotRowsPerSec: rows / (m('dsnotMs') / 1000),
    identicalToWasm, check,
    wasmFromLayerWasmJson: wasmRow ? { wandaMaskMs: wasmRow.wandaMaskMs, dsnotRefineMs: wasmRow.dsnotRefineMs } : null,
    allRuns: runs,
  };
  results.push(rec);
  table.push({
    shape: `${rows}×${cols}`,
    'upload ms': rec.uploadMs.toFixed(1),
    'wanda ms': rec.wandaMaskMs.toFixed(1),
    'dsnot ms': rec.dsnotRefineMs.toFixed(1),
    'apply ms': rec.applyMaskMs.toFixed(1),
    'readback ms': rec.readbackMs.toFixed(1),
    'call ms (wanda / +dsnot)': `${rec.wandaCallMs.toFixed(0)} / ${rec.dsnotCallMs.toFixed(0)}`,
    'wasm ms (wanda / dsnot)': wasmRow ? `${wasmRow.wandaMaskMs.toFixed(0)} / ${wasmRow.dsnotRefineMs.toFixed(0)}` : '-',
    cycles: rec.dsnotCycles,
    'same as wasm': identicalToWasm === null ? '-' : identicalToWasm ? `yes (e ±${check.errorMaxRelDiff.toExponential(0)})` : 'NO',
  });
}

const out = {
  date: new Date().toISOString(),
  node: process.version,
  command: `node bench/layer.webgpu.bench.mjs ${argv.join(' ')}`.trim(),
  adapter: backend.adapterName,
  isFallbackAdapter: backend.isFallbackAdapter,
  limits: {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
  },
  sparsity: SPARSITY,
  dsnot: { maxCycles: 50, updateThreshold: 0.1, powOfVarRegrowing: 1 },
  sparsegpt: 'no WGSL kernel: runs on wasm (bench/results/layer-wasm.json)',
  layers: results,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'layer-webgpu.json'), `${JSON.stringify(out, null, 2)}\n`);
console.table(table);
backend.dispose();
if (results.some((r) => r.identicalToWasm === false)) {
  console.error('WebGPU masks differ from wasm');
  process.exit(1);
}

// Forward-pass GEMM throughput (y[T, N] = x[T, K] · W[N, K]ᵀ, the kernel behind every linear
// layer) on wasm (1 thread and N: --threads, default every core, with the speed-up) and on WebGPU
// when an adapter exists, for LLaMA-7B's linear shapes, plus the causal attention kernel at
// LLaMA-7B's head layout (on wasm also on 1 and N threads).
//
//   node bench/forward.bench.mjs [--tokens 128,512,2048] [--devices wasm,webgpu] [--attention-tokens 512]
//                                [--threads auto|N]
//                                                       (needs the build: npm run build, or DSNOT_DIST=path/to/index.js)
//
// GFLOP/s counts 2·T·K·N per GEMM. WebGPU timings wait for the GPU (a 1-float readback after
// the dispatches), and on a software adapter (SwiftShader) only the smallest T runs. Writes
// bench/results/forward.json (with the adapter's name and isFallbackAdapter) and prints a table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchAsync, flag, here, lib, speedup, threadCounts } from './common.mjs';

const TOKENS = flag('--tokens', '128,512,2048').split(',').map(Number);
const DEVICES = flag('--devices', 'wasm,webgpu').split(',');
const ATTN_TOKENS = Number(flag('--attention-tokens', '512'));
// LLaMA-7B: q/k/v/o are 4096→4096, gate/up 4096→11008, down 11008→4096.
const SHAPES = [
  { name: 'q/k/v/o', inDim: 4096, outDim: 4096 },
  { name: 'gate/up', inDim: 4096, outDim: 11008 },
  { name: 'down', inDim: 11008, outDim: 4096 },
];

function filled(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 0.1;
  }
  return a;
}

/** Mean seconds per call of `fn` (async), few samples for slow cases. */
async function measure(name, fn) {
  return (await benchAsync(name, fn, { minSamples: 3, maxTime: 1 })).seconds;
}

async function backendFor(device, threads) {
  try {
    return await lib.acquireBackend(device, { threads });
  } catch (e) {
    console.log(`${device}: not measured (${e.message})`);
    return null;
  }
}

const results = [];
const THREADS = await threadCounts();
for (const device of DEVICES) {
  for (const threads of device === 'wasm' ? THREADS : [1]) {
    const b = await backendFor(device, threads);
    if (!b) continue;
    await gemms(b);
    await attention(b);
  }
}

async function gemms(b) {
  const sync = b.upload('f32', new Float32Array(1));
  // A software adapter runs ~100× slower than wasm: only the smallest T there.
  const tokens = b.isFallbackAdapter ? [Math.min(...TOKENS)] : TOKENS;
  for (const T of tokens) {
    for (const s of SHAPES) {
      const x = b.upload('f32', filled(T * s.inDim, 1));
      const w = b.upload('f32', filled(s.outDim * s.inDim, 2));
      const y = b.alloc('f32', T * s.outDim);
      b.gemm(x, w, null, y, T, s.inDim, s.outDim); // warm-up (pipeline compile, page faults)
      await done(b, sync);
      const sec = await measure(`${b.kind} gemm T=${T} ${s.name} ${b.threads}t`, async () => {
        b.gemm(x, w, null, y, T, s.inDim, s.outDim);
        await done(b, sync);
      });
      const gflops = (2 * T * s.inDim * s.outDim) / sec / 1e9;
      const one = results.find((r) => r.kernel === 'gemm' && r.device === b.kind && r.threads === 1 && r.tokens === T && r.shape === s.name);
      const rec = { kernel: 'gemm', device: b.kind, adapter: b.adapterName, isFallbackAdapter: b.isFallbackAdapter, threads: b.threads, tokens: T, shape: s.name, inDim: s.inDim, outDim: s.outDim, ms: sec * 1e3, gflops };
      if (one) rec.speedupOverOneThread = one.ms / rec.ms;
      results.push(rec);
      console.log(`${b.kind.padEnd(7)} gemm  ${String(b.threads).padStart(2)}t T=${String(T).padEnd(5)} ${`${s.inDim}→${s.outDim}`.padEnd(11)} ${(sec * 1e3).toFixed(2).padStart(9)} ms  ${gflops.toFixed(1).padStart(8)} GFLOP/s${one ? `  ${speedup(one.ms, rec.ms)} over 1 thread` : ''}`);
      for (const t of [x, w, y]) b.release(t);
    }
  }
  b.release(sync);
}

async function done(b, sync) {
  if (b.kind === 'webgpu') await b.read(sync);
}

async function attention(b) {
  const sync = b.upload('f32', new Float32Array(1));
  // Attention at LLaMA-7B's layout: 32 heads × 128, causal, T tokens (≈ 2·T²·4096 FLOPs).
  const T = b.isFallbackAdapter ? 64 : ATTN_TOKENS;
  const [H, hd] = [32, 128];
  const q = b.upload('f32', filled(T * H * hd, 3));
  const k = b.upload('f32', filled(T * H * hd, 4));
  const v = b.upload('f32', filled(T * H * hd, 5));
  const o = b.alloc('f32', T * H * hd);
  const shape = { tokens: T, heads: H, kvHeads: H, headDim: hd, scale: 1 / Math.sqrt(hd), window: 0 };
  b.attention(q, k, v, o, shape);
  await done(b, sync);
  const sec = await measure(`${b.kind} attention T=${T}`, async () => {
    b.attention(q, k, v, o, shape);
    await done(b, sync);
  });
  const gflops = (2 * T * T * H * hd) / sec / 1e9; // QKᵀ and PV over the causal half: 2·(T²/2)·H·hd each
  const one = results.find((r) => r.kernel === 'attention' && r.device === b.kind && r.threads === 1);
  const rec = { kernel: 'attention', device: b.kind, adapter: b.adapterName, isFallbackAdapter: b.isFallbackAdapter, threads: b.threads, tokens: T, heads: H, headDim: hd, ms: sec * 1e3, gflops };
  if (one) rec.speedupOverOneThread = one.ms / rec.ms;
  results.push(rec);
  console.log(`${b.kind.padEnd(7)} attn  ${String(b.threads).padStart(2)}t T=${String(T).padEnd(5)} ${'32×128'.padEnd(11)} ${(sec * 1e3).toFixed(2).padStart(9)} ms  ${gflops.toFixed(1).padStart(8)} GFLOP/s${one ? `  ${speedup(one.ms, rec.ms)} over 1 thread` : ''}`);
  for (const t of [q, k, v, o, sync]) b.release(t);
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'forward.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, threads: THREADS, loadAverageAtEnd: (await import('node:os')).loadavg(), results }, null, 2)}\n`);
console.log('wrote bench/results/forward.json');

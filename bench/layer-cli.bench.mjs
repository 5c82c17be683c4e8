// The one-shot `dsnot layer` process against the cost of its own I/O (issue 11's targets): wall
// time ≤ 2× a plain read of IN plus a write + fsync of a file of OUT's size, peak RSS ≤ 2.5× the
// weight's bytes, and the prune time (timings.prune_ms in OUT's metadata) with 1 and N threads,
// all in one run. IN: a synthetic LLaMA-7B-like linear with given statistics (no H), pruned with
// Wanda + the authors' DSnoT (--refine dsnot --no-guard), the case the issue measured.
//
//   node bench/layer-cli.bench.mjs [--shape 11008x4096] [--threads 2] [--reps 3]   (needs npm run build)
//
// Peak RSS comes from GNU time (/usr/bin/time -f %M) where it exists. Each measurement is the
// median of --reps runs, the I/O baseline and the thread counts alternating. Writes
// bench/results/layer-cli.json and prints a table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, fsyncSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, here, lib, parseShapes, syntheticLayer } from './common.mjs';

const [[rows, cols]] = parseShapes(flag('--shape', '11008x4096'));
const threads = Number(flag('--threads', String(Math.min(16, cpus().length))));
const reps = Number(flag('--reps', '3'));
const cli = join(here, '..', 'dist', 'cli.js');
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const dir = mkdtempSync(join(tmpdir(), 'dsnot-layer-cli-'));
const input = join(dir, 'in.safetensors');

const { weight, stats } = syntheticLayer(rows, cols);
writeFileSync(input, lib.encodeSafetensors([
  { name: 'W', dtype: 'F32', shape: [rows, cols], data: weight },
  { name: 'scaler_row', dtype: 'F64', shape: [cols], data: stats.scalerRow },
  { name: 'sum_metric_row', dtype: 'F64', shape: [cols], data: stats.sumMetricRow },
  { name: 'var', dtype: 'F64', shape: [cols], data: stats.var },
]));
const weightBytes = rows * cols * 4;

/** A plain read of IN and a write + fsync of OUT's size (mask, init_mask, weight, per-row errors). */
function ioBaseline(outBytes) {
  const t0 = performance.now();
  readFileSync(input);
  const t1 = performance.now();
  const path = join(dir, 'plain.bin');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 24, 1);
  for (let done = 0; done < outBytes; done += block.length) writeSync(fd, block, 0, Math.min(block.length, outBytes - done));
  fsyncSync(fd);
  closeSync(fd);
  const t2 = performance.now();
  rmSync(path);
  return { readMs: t1 - t0, writeMs: t2 - t1 };
}

/** One `dsnot layer` process: wall, peak RSS (GNU time), and OUT's own timings. */
function layerRun(n) {
  const out = join(dir, `out-${n}.safetensors`);
  const args = [cli, 'layer', '--in', input, '--out', out, '--refine', 'dsnot', '--no-guard', '--device', 'wasm', '--threads', String(n)];
  const t0 = performance.now();
  const r = gnuTime ? spawnSync(gnuTime, ['-f', 'RSS_KB=%M', process.execPath, ...args], { encoding: 'utf8' }) : spawnSync(process.execPath, args, { encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`dsnot layer --threads ${n} failed: ${r.stderr}`);
  const rssKb = Number(/RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  const file = lib.decodeSafetensors(new Uint8Array(readFileSync(out)));
  const timings = JSON.parse(file.header.metadata.timings);
  return { wallMs, rssBytes: rssKb * 1024, pruneMs: timings.prune_ms, outBytes: statSync(out).size, mask: file.tensor('mask') };
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const runs = { io: [], 1: [], [threads]: [] };
let outBytes = 0;
let masks = {};
for (let i = 0; i < reps; i++) {
  for (const n of i % 2 ? [threads, 1] : [1, threads]) {
    const r = layerRun(n);
    outBytes = r.outBytes;
    masks[n] = r.mask;
    runs[n].push(r);
  }
  runs.io.push(ioBaseline(outBytes));
}
const same = Buffer.compare(Buffer.from(masks[1]), Buffer.from(masks[threads])) === 0;
rmSync(dir, { recursive: true, force: true });

const io = { readMs: median(runs.io.map((r) => r.readMs)), writeMs: median(runs.io.map((r) => r.writeMs)) };
const ioMs = io.readMs + io.writeMs;
const summary = (n) => ({
  threads: n,
  wallMs: median(runs[n].map((r) => r.wallMs)),
  pruneMs: median(runs[n].map((r) => r.pruneMs)),
  rssBytes: median(runs[n].map((r) => r.rssBytes)),
});
const [one, many] = [summary(1), summary(threads)];
const result = {
  date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, loadAverageAtEnd: loadavg(),
  shape: [rows, cols], weightBytes, reps, io, masksIdentical: same,
  runs: [one, many].map((s) => ({ ...s, wallOverIo: s.wallMs / ioMs, rssOverWeight: s.rssBytes / weightBytes })),
  pruneSpeedup: one.pruneMs / many.pruneMs,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'layer-cli.json'), JSON.stringify(result, null, 1));
console.table(result.runs.map((r) => ({
  threads: r.threads, 'wall s': (r.wallMs / 1000).toFixed(2), 'wall / (read + write)': r.wallOverIo.toFixed(2),
  'prune_ms': r.pruneMs.toFixed(0), 'peak RSS MB': (r.rssBytes / 1e6).toFixed(0), 'RSS / weight': r.rssOverWeight.toFixed(2),
})));
console.log(`${rows}×${cols}: read ${io.readMs.toFixed(0)} ms + write/fsync ${io.writeMs.toFixed(0)} ms; prune_ms 1 → ${threads} threads ${result.pruneSpeedup.toFixed(2)}×; masks identical: ${same}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

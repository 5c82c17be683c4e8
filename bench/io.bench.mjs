// Model I/O benchmark: a synthetic F16 model of ≥ 1 GB (llama-like tensors) is generated into
// os.tmpdir() and read tensor by tensor through the package's reader; peak memory is compared
// with the largest tensor, throughput with a plain sequential read of the same file in the
// same run. Each measurement runs in its own child process, so its peak RSS is its own.
//
//   node bench/io.bench.mjs [--gb 1.1]      (needs the build: npm run build, or DSNOT_DIST=path/to/index.js)
//
// Writes bench/results/io.json and prints a table. The file is deleted afterwards.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { flag, here, lib } from './common.mjs';
const MB = 2 ** 20;

// ---- child phases: one measurement each, reporting JSON on stdout --------------------------
const phase = process.argv[2] === '--phase' ? process.argv[3] : null;
if (phase) {
  const folder = process.argv[4];
  const result = await runPhase(phase, folder);
  result.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}

async function runPhase(name, folder) {
  const file = join(folder, 'model.safetensors');
  if (name === 'baseline') {
    // A process that loaded the library and opened the model, nothing read: the floor of RSS.
    const reader = await lib.SafetensorsReader.open(await lib.openSource(folder));
    await reader.close();
    return {};
  }
  if (name === 'sequential') {
    // Plain sequential read of the whole file through one reused 64 MB buffer.
    const h = await open(file, 'r');
    const buf = new Uint8Array(64 * MB);
    const t0 = performance.now();
    let total = 0;
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    const ms = performance.now() - t0;
    await h.close();
    return { bytes: total, ms };
  }
  // 'reader-bytes[-into]' | 'reader-f32[-into]': every tensor in storage order, one at a time;
  // '-into' reuses one buffer per tensor size, as the pipeline does across layers.
  const reader = await lib.SafetensorsReader.open(await lib.openSource(folder));
  const buffers = new Map();
  const bufferFor = (t, bytes = false) => {
    const n = bytes ? t.byteLength : t.shape.reduce((a, b) => a * b, 1);
    const key = `${bytes}:${n}`;
    if (!buffers.has(key)) buffers.set(key, bytes ? new Uint8Array(n) : new Float32Array(n));
    return buffers.get(key);
  };
  const t0 = performance.now();
  let bytes = 0;
  let checksum = 0;
  for (const t of reader.tensors) {
    const data = name === 'reader-f32' ? await reader.readFloat32(t.name)
      : name === 'reader-f32-into' ? await reader.readFloat32(t.name, { into: bufferFor(t) })
        : name === 'reader-bytes-into' ? await reader.readBytes(t.name, { into: bufferFor(t, true) })
          : await reader.readBytes(t.name);
    bytes += t.byteLength;
    checksum += data[data.length >> 1]; // touch the result so nothing is optimised away
  }
  const ms = performance.now() - t0;
  await reader.close();
  return { bytes, ms, checksum };
}

// ---- parent: generate, measure, report ---------------------------------------------------
/** Llama-like tensors (hidden 2048, MLP 5632, vocab 32000) with enough layers for `gb` GiB of F16. */
function modelTensors(gb) {
  const hidden = 2048;
  const inter = 5632;
  const vocab = 32000;
  const perLayer = 2 * (4 * hidden * hidden + 3 * hidden * inter + 2 * hidden);
  const layers = Math.max(1, Math.ceil((gb * 2 ** 30 - 2 * 2 * vocab * hidden) / perLayer));
  const t = [
    { name: 'model.embed_tokens.weight', shape: [vocab, hidden] },
    { name: 'lm_head.weight', shape: [vocab, hidden] },
    { name: 'model.norm.weight', shape: [hidden] },
  ];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    t.push(
      { name: `${p}input_layernorm.weight`, shape: [hidden] },
      { name: `${p}post_attention_layernorm.weight`, shape: [hidden] },
      ...['q', 'k', 'v', 'o'].map((x) => ({ name: `${p}self_attn.${x}_proj.weight`, shape: [hidden, hidden] })),
      { name: `${p}mlp.gate_proj.weight`, shape: [inter, hidden] },
      { name: `${p}mlp.up_proj.weight`, shape: [inter, hidden] },
      { name: `${p}mlp.down_proj.weight`, shape: [hidden, inter] },
    );
  }
  return t.sort((a, b) => (a.name < b.name ? -1 : 1)).map((x) => ({ ...x, dtype: 'F16' }));
}

/** Write the model with the package's header encoder and a 64 MB block of random finite halves, cycled. */
async function generate(folder, tensors) {
  const header = lib.encodeHeader(tensors, { format: 'pt' });
  const block = new Uint16Array(32 * MB);
  let s = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    block[i] = (s >>> 0) & 0xbbff; // clears bits so the exponent is never 0x1f: no Inf/NaN
  }
  const blockBytes = new Uint8Array(block.buffer);
  const h = await open(join(folder, 'model.safetensors'), 'w');
  await h.write(header, 0, header.length, 0);
  let at = header.length;
  let cursor = 0;
  for (const t of tensors) {
    let left = t.shape.reduce((a, b) => a * b, 1) * 2;
    while (left > 0) {
      const n = Math.min(left, blockBytes.length - cursor);
      await h.write(blockBytes, cursor, n, at);
      at += n;
      left -= n;
      cursor = (cursor + n) % blockBytes.length;
    }
  }
  await h.close();
  writeFileSync(join(folder, 'config.json'), '{}');
  return at;
}

function child(phaseName, folder) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--phase', phaseName, folder], {
    env: process.env, encoding: 'utf8', maxBuffer: 16 * MB,
  });
  if (r.status !== 0) throw new Error(`phase ${phaseName} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function conversionSuite() {
  // In-memory F16/BF16 → float32 throughput on 16 MB of halves (the reader's per-tensor decode).
  // Into a reused output, as the streamed reader decodes each chunk.
  const src = new Uint8Array(16 * MB);
  for (let i = 0; i < src.length; i++) src[i] = ((i * 2654435761) >>> 24) & 0xbb;
  const out = new Float32Array(src.length / 2);
  const results = {};
  new Benchmark.Suite('half → float32')
    .add('F16 → F32 (table)', () => lib.decodeF16(src, out))
    .add('BF16 → F32 (shift)', () => lib.decodeBF16(src, out))
    .on('cycle', (e) => { results[e.target.name] = { mbPerSec: (src.length / MB) * e.target.hz, rme: e.target.stats.rme }; })
    .run({ async: false });
  return results;
}

async function main() {
  const gb = Number(flag('--gb', 1.1));
  const folder = mkdtempSync(join(tmpdir(), 'dsnot-io-bench-'));
  try {
    const tensors = modelTensors(gb);
    const t0 = performance.now();
    const fileBytes = await generate(folder, tensors);
    const genMs = performance.now() - t0;
    const largest = tensors.reduce((m, t) => Math.max(m, t.shape.reduce((a, b) => a * b, 1)), 0);
    const largestF16 = 2 * largest;
    const largestF32 = 4 * largest;

    // Warm the page cache once, so every phase reads from the same place.
    child('sequential', folder);
    const baseline = child('baseline', folder);
    const runs = { sequential: [], 'reader-bytes': [], 'reader-bytes-into': [], 'reader-f32': [], 'reader-f32-into': [] };
    for (let rep = 0; rep < 2; rep++) for (const p of Object.keys(runs)) runs[p].push(child(p, folder));
    const best = (p) => runs[p].reduce((a, b) => (b.ms < a.ms ? b : a));
    const peak = (p) => Math.max(...runs[p].map((r) => r.maxRssBytes));
    const rows = Object.keys(runs).map((p) => {
      const b = best(p);
      const extra = peak(p) - baseline.maxRssBytes;
      return {
        phase: p,
        mbPerSec: (b.bytes / MB) / (b.ms / 1000),
        seconds: b.ms / 1000,
        peakRssMB: peak(p) / MB,
        rssAboveBaselineMB: extra / MB,
        peakRssOverLargestF32: extra / largestF32,
      };
    });
    const seqRate = rows[0].mbPerSec;
    for (const r of rows) r.vsSequential = r.mbPerSec / seqRate;
    const conversion = conversionSuite();
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      command: `node bench/io.bench.mjs --gb ${gb}`,
      file: { bytes: fileBytes, tensors: tensors.length, dtype: 'F16', generateSeconds: genMs / 1000 },
      largestTensor: { elements: largest, f16Bytes: largestF16, f32Bytes: largestF32 },
      baselineRssMB: baseline.maxRssBytes / MB,
      note: 'file read from the page cache (written just before; caches not dropped). peakRssOverLargestF32 = (peak RSS - baseline RSS) / float32 size of the largest tensor. reader-f32-into keeps one float32 buffer per distinct shape (as the pipeline does), so its RSS includes those buffers.',
      rows,
      conversion,
    };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'io.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`io: ${(fileBytes / 2 ** 30).toFixed(2)} GiB F16, ${tensors.length} tensors, largest ${(largestF16 / MB).toFixed(0)} MB F16 / ${(largestF32 / MB).toFixed(0)} MB F32; baseline RSS ${(baseline.maxRssBytes / MB).toFixed(0)} MB`);
    console.table(rows.map((r) => ({
      phase: r.phase, 'MB/s': r.mbPerSec.toFixed(0), 'vs sequential': r.vsSequential.toFixed(2),
      'peak RSS MB': r.peakRssMB.toFixed(0), 'RSS-baseline / largest f32': r.peakRssOverLargestF32.toFixed(2),
    })));
    console.table(Object.entries(conversion).map(([k, v]) => ({ conversion: k, 'MB/s (input)': v.mbPerSec.toFixed(0), '±%': v.rme.toFixed(1) })));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();

// The lm head split by vocabulary (a head larger than one WebGPU storage binding: Gemma's
// 256k-row heads, Llama 3's tied 128k × 2048 on 1 GiB adapters). A device whose tensors are
// capped at a few rows' bytes computes each slice's logits and places them in their columns;
// logits and per-row nll must equal the unsplit head's bit for bit (every logit is the same dot
// product), on wasm and WebGPU, and match a host f64 reference (Gemma 2: the final soft-cap
// applies after the slices are joined). Random-weight Gemma 2 models, tied and untied heads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { openModel } from '../../src/io/model.js';
import { createDecoder, headSlices } from '../../src/models/decoder.js';
import { randn } from '../forward/reference.js';
import { forwardDevices, relErr } from './harness.js';
import { gemma2, gemma2v5, gemmaTensors, writeModelDir } from './random-weights.js';

const root = mkdtempSync(join(tmpdir(), 'dsnot-head-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const models = [
  { name: 'tied (embed_tokens)', dir: writeModelDir(join(root, 'tied'), gemma2, gemmaTensors(gemma2)) },
  { name: 'untied (lm_head)', dir: writeModelDir(join(root, 'untied'), gemma2v5, gemmaTensors(gemma2v5)) },
];
const devices = forwardDevices();
// 61 × 32 f32 = 7808 bytes; 2000-byte tensors → slices of 13, 13, 13, 13, 9 rows, and chunks of 8 rows of logits.
const CAP = 2000;

describe('headSlices', () => {
  it('covers the vocabulary in near-equal slices that each fit', () => {
    for (const [vocab, dim, cap] of [[61, 32, 2000], [256_000, 2304, 2 ** 30], [128_256, 2048, 2 ** 30], [32_000, 4096, 2 ** 31], [7, 1, 4]]) {
      const s = headSlices(vocab, dim, cap);
      expect(s[0].v0).toBe(0);
      for (let i = 1; i < s.length; i++) expect(s[i].v0).toBe(s[i - 1].v0 + s[i - 1].width);
      expect(s.at(-1)!.v0 + s.at(-1)!.width).toBe(vocab);
      for (const { width } of s) expect(width * dim * 4).toBeLessThanOrEqual(cap);
    }
    expect(headSlices(256_000, 2304, 2 ** 30).length).toBe(3);
    expect(headSlices(32_000, 4096, 2 ** 31).length).toBe(1);
    expect(() => headSlices(10, 1024, 1000)).toThrow(/do not fit this device's 1000-byte tensors/);
  });
});

describe.each(['wasm', 'webgpu'] as const)('a head split by vocabulary on %s', (devName) => {
  it.each(models.map((m) => [m.name, m] as const))('%s: logits and nll equal the unsplit head bit for bit', async (_n, m) => {
    const whole = devices.device(devName).backend;
    const split: Backend = devName === 'wasm' ? { ...whole, maxTensorBytes: CAP } : await createWebGpuBackend({ maxBindingBytes: CAP });
    try {
      const model = await openModel(m.dir);
      const s = model.spec;
      const rows = 13;
      const hidden = randn(rows * s.hiddenSize, 11, 3);
      const targets = Array.from({ length: rows }, (_, i) => (i * 17 + 5) % s.vocabSize);
      const results = [];
      for (const b of [whole, split]) {
        const decoder = createDecoder(s, b);
        const head = await decoder.loadHead(model.reader);
        results.push({ logits: await head.logits(hidden, rows), nll: await head.nll(hidden, rows, targets) });
        head.dispose();
        decoder.dispose();
      }
      expect(split.maxTensorBytes).toBe(CAP);
      expect(Array.from(results[1].logits)).toEqual(Array.from(results[0].logits));
      expect(Array.from(results[1].nll)).toEqual(Array.from(results[0].nll));
      expect(relErr(results[1].logits, reference(await headWeights(model), hidden, rows, s))).toBeLessThan(1e-5);
      await model.close();
    } finally {
      if (split !== whole && devName === 'webgpu') split.dispose();
    }
  });
});

type Opened = Awaited<ReturnType<typeof openModel>>;

async function headWeights(m: Opened): Promise<{ head: Float32Array; norm: Float32Array }> {
  const s = m.spec;
  const head = await m.reader.readFloat32(s.lmHead ? s.lmHead.name : s.embedTokens.name);
  return { head, norm: await m.reader.readFloat32(s.finalNorm!.weight!) };
}

/** Final RMSNorm with Gemma's (1 + w), x·Wᵀ, then the final soft-cap, in f64. */
function reference(w: { head: Float32Array; norm: Float32Array }, hidden: Float32Array, rows: number, s: Opened['spec']): Float64Array {
  const [d, V, cap] = [s.hiddenSize, s.vocabSize, s.finalSoftcap!];
  const out = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const x = hidden.subarray(r * d, (r + 1) * d);
    const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / d + s.norm.eps);
    const xn = Array.from(x, (v, i) => (v / rms) * (1 + w.norm[i]));
    for (let v = 0; v < V; v++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += xn[i] * w.head[v * d + i];
      out[r * V + v] = Math.tanh(dot / cap) * cap;
    }
  }
  return out;
}

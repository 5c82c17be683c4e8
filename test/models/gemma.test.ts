// Random-weight Gemma 2 and Gemma 3 models (random-weights.ts: Gemma-2-2B- and Gemma-3-1B-shaped,
// each in the 4.x and the 5.x config layout; Gemma 3 also as the multimodal wrapper's text model
// under both tensor prefixes transformers uses), written as config.json + model.safetensors,
// read back through openModel, run layer by layer on wasm and WebGPU, and compared with the plain
// f64 forward pass of reference-model.ts (gemmaReference): logits, every tap's input, pruned-weight
// reruns, and perplexity through evaluate().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeviceTensor } from '../../src/backends/backend.js';
import { run as infoCommand } from '../../src/cli/info.js';
import { evaluate } from '../../src/eval/perplexity.js';
import { openModel } from '../../src/io/model.js';
import { createDecoder, type TapInput } from '../../src/models/decoder.js';
import { prune } from '../../src/prune.js';
import { readWeights, zerosIn } from '../prune/helpers.js';
import { forwardDevices, relErr } from './harness.js';
import { gemma2, gemma2v5, gemma3, gemma3v5, gemmaTensors, type Tensors, writeModelDir } from './random-weights.js';
import { type GemmaConfig, gemmaReference, gemmaText } from './reference-model.js';

interface Case {
  name: string;
  config: GemmaConfig;
  /** Tensor prefix of the checkpoint (default: the family's). */
  prefix?: string;
  weights: Tensors;
}

const gemma3Wrapped4x: GemmaConfig = { // the hub's Gemma3ForConditionalGeneration layout: text_config in 4.x form
  model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: { ...gemma3, tie_word_embeddings: false },
  mm_tokens_per_image: 256, boi_token_index: 255999, eoi_token_index: 256000, image_token_index: 262144, initializer_range: 0.02,
};
const cases: Case[] = [
  { name: 'Gemma 2 (4.x: rope_theta, the alternating-layer rule, soft-caps)', config: gemma2, weights: gemmaTensors(gemma2) },
  { name: 'Gemma 2 (5.x: rope_parameters, layer_types, untied head)', config: gemma2v5, weights: gemmaTensors(gemma2v5) },
  { name: 'Gemma 3 text (4.x: rope_local_base_freq, linear global rope, sliding_window_pattern)', config: gemma3, weights: gemmaTensors(gemma3) },
  { name: 'Gemma 3 in a gemma3 config (5.x: per-layer-type rope_parameters), model.language_model.*', config: gemma3v5, prefix: 'model.language_model.', weights: gemmaTensors(gemma3v5, 'model.language_model.') },
  { name: 'Gemma 3 in a gemma3 config (4.x), language_model.model.*, untied', config: gemma3Wrapped4x, weights: gemmaTensors(gemma3Wrapped4x) },
];
const reference = (c: Case, w: (n: string) => Float32Array, ids: number[]) => gemmaReference(c.config, w, ids, c.prefix);
const vocabOf = (c: Case): number => gemmaText(c.config).tc.vocab_size;

const root = mkdtempSync(join(tmpdir(), 'dsnot-gemma-'));
const dirs = new Map<Case, string>();
for (const [i, c] of cases.entries()) dirs.set(c, writeModelDir(join(root, `m${i}`), c.config, c.weights));

const devices = forwardDevices();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IDS = [3, 17, 0, 42, 8, 8, 29, 11, 50, 1, 33, 7, 19];

describe('the reference really exercises what Gemma adds', () => {
  const w = (c: Case) => (n: string) => c.weights.get(n)!.data;
  it('soft-capping (Gemma 2) and the local rope base (Gemma 3) change the logits', () => {
    const [g2, g3] = [cases[0], cases[2]];
    const base = reference(g2, w(g2), IDS).logits;
    for (const edit of [{ attn_logit_softcapping: null }, { final_logit_softcapping: null }, { query_pre_attn_scalar: 16 }]) {
      expect(relErr(gemmaReference({ ...g2.config, ...edit }, w(g2), IDS).logits, base)).toBeGreaterThan(1e-3);
    }
    const base3 = reference(g3, w(g3), IDS).logits;
    for (const edit of [{ rope_local_base_freq: 1e6 }, { rope_scaling: null }, { sliding_window: 64 }]) {
      expect(relErr(gemmaReference({ ...g3.config, ...edit }, w(g3), IDS).logits, base3)).toBeGreaterThan(1e-3);
    }
  });
});

describe.each(['wasm', 'webgpu'] as const)('Gemma models on %s', (devName) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: logits, tap inputs and pruned reruns match the f64 reference', async (_n, c) => {
    const dev = devices.device(devName);
    const m = await openModel(dirs.get(c)!);
    expect(m.spec.family).toBe('gemma');
    const weights = new Map<string, Float32Array>([...c.weights].map(([n, t]) => [n, Float32Array.from(t.data)]));
    const w = (n: string): Float32Array => {
      const t = weights.get(n);
      if (!t) throw new Error(`no ${n}`);
      return t;
    };
    // Half of each layer's first linear pruned after its dense pass, as prune() does.
    const pruned = new Map(m.spec.layers.map((l) => [l.linears[0].weight, w(l.linears[0].weight).map((x, i) => (i % 2 === 0 ? 0 : x))]));
    const dense = new Map(weights);
    const referenceWith = (prunedLayers: number) => {
      weights.clear();
      for (const [n, t] of dense) weights.set(n, t);
      for (const layer of m.spec.layers.slice(0, prunedLayers)) weights.set(layer.linears[0].weight, pruned.get(layer.linears[0].weight)!);
      return reference(c, w, IDS);
    };
    const tapsOf = m.spec.layers.map((_, i) => referenceWith(i).taps[i]);
    const sparse = referenceWith(m.spec.numLayers);
    const denseLogits = referenceWith(0).logits;

    const model = createDecoder(m.spec, dev.backend);
    const emb = await model.loadEmbeddings(m.reader);
    let h = await emb.embed(IDS);
    emb.dispose();
    const seen = new Set<string>();
    for (let i = 0; i < m.spec.numLayers; i++) {
      const layer = await model.loadLayer(i, m.reader);
      const tap = async (t: TapInput) => {
        const x = (await dev.store.read(t.x as DeviceTensor & { dtype: 'f32' })).subarray(0, t.rows * t.cols);
        for (const lin of t.linears) {
          expect(relErr(x, tapsOf[i][lin.role])).toBeLessThan(1e-4);
          seen.add(`${i}.${lin.role}`);
        }
      };
      await layer.forward(h, IDS.length, { tap });
      for (const lin of layer.spec.linears) if (pruned.has(lin.weight)) layer.setWeight(lin.weight, pruned.get(lin.weight)!);
      h = await layer.forward(h, IDS.length);
      layer.dispose();
    }
    expect(seen.size).toBe(7 * m.spec.numLayers);
    const head = await model.loadHead(m.reader);
    const logits = await head.logits(h, IDS.length);
    head.dispose();
    model.dispose();
    await m.close();
    expect(relErr(logits, sparse.logits)).toBeLessThan(1e-4);
    expect(relErr(denseLogits, sparse.logits)).toBeGreaterThan(1e-2);
  });
});

describe.each(['wasm', 'webgpu'] as const)('Gemma perplexity on %s', (devName) => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: evaluate() equals the reference's", async (_n, c) => {
    if (devName === 'webgpu') devices.device('webgpu');
    const V = vocabOf(c);
    const ids = Array.from({ length: 2 * 9 + 4 }, (_, i) => (i * 31 + 7) % V);
    const w = (n: string): Float32Array => c.weights.get(n)!.data;
    let total = 0;
    for (let k = 0; k < 2; k++) {
      const win = ids.slice(k * 9, k * 9 + 9);
      const { logits } = reference(c, w, win);
      for (let t = 0; t < 8; t++) {
        const row = logits.subarray(t * V, (t + 1) * V);
        const m = Math.max(...row);
        total += m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)) - row[win[t + 1]];
      }
    }
    const r = await evaluate({ model: dirs.get(c)!, tokens: ids, seqlen: 9, device: devName });
    expect(r.tokens).toBe(16);
    expect(Math.abs(r.nll - total / 16) / (total / 16)).toBeLessThan(1e-5);
  });
});

describe('Gemma checkpoints refused', () => {
  it('a gemma3 checkpoint with its vision tower', async () => {
    const c = cases[4];
    const weights: Tensors = new Map([...c.weights, ['vision_tower.vision_model.post_layernorm.weight', { shape: [4], data: new Float32Array(4) }]]);
    const dir = writeModelDir(join(root, 'vision'), c.config, weights);
    await expect(openModel(dir)).rejects.toThrow(/vision tower \("vision_tower\.vision_model\.post_layernorm\.weight"\): dsnot prunes Gemma 3's text model only/);
  });
});

describe('dsnot info on Gemma', () => {
  const info = async (c: Case): Promise<string> => {
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logged.push(a.join(' ')));
    try {
      expect(await infoCommand([dirs.get(c)!])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    return logged.join('\n');
  };

  it('names the family, the (1 + w) norm, the scales and soft-caps, and the sliding layers', async () => {
    const text = await info(cases[0]);
    expect(text).toContain('model_type: gemma2 (gemma family)');
    expect(text).toContain('MLP 40 (gelu_tanh)');
    expect(text).toContain('rmsnorm × (1 + w) (eps 0.000001), tied embeddings');
    expect(text).toContain(`embeddings × ${Math.fround(Math.sqrt(32))}; attention scale ${24 ** -0.5}, scores soft-capped at 1.5; final logits soft-capped at 2.5`);
    expect(text).toContain('sliding window: 4 tokens on layers 0, 2');
  });

  it("shows Gemma 3's two rotary settings", async () => {
    const text = await info(cases[3]);
    expect(text).toContain('sliding_attention default (theta 10000), rotary dim 8; full_attention linear (theta 1000000, factor 8), rotary dim 8; q/k RMSNorm per head before RoPE');
    expect(text).toContain('scores not soft-capped; final logits not soft-capped');
  });
});

describe('prune() on WebGPU', () => {
  it.each([cases[0], cases[3]].map((c) => [c.name, c] as const))('%s: wanda + DSnoT at sparsity 0.5, exact per row, the output reloads to the reported perplexity', async (_n, c) => {
    devices.device('webgpu');
    const V = vocabOf(c);
    const tokens = Array.from({ length: 3 }, (_, w) => Array.from({ length: 12 }, (_, t) => (w * 31 + t * 17 + ((t * t) % 7)) % V));
    const evalTokens = Array.from({ length: 24 }, (_, t) => (t * 13 + 5) % V);
    const out = join(root, `pruned-gpu-${cases.indexOf(c)}`);
    const report = await prune({
      model: dirs.get(c)!, output: out, calibration: { tokens }, sparsity: 0.5, device: 'webgpu', evaluation: { tokens: evalTokens, seqlen: 12 },
    });
    expect(report.device).toBe('webgpu');
    const written = readWeights(join(out, 'model.safetensors'));
    for (const e of report.linears) {
      const w = written.get(e.weight)!;
      for (let r = 0; r < e.rows; r++) expect(zerosIn(w, r * e.cols, (r + 1) * e.cols), `${e.weight} row ${r}`).toBe(e.cols / 2);
    }
    for (const [name, t] of c.weights) if (!/_proj\.weight$/.test(name)) expect(written.get(name), name).toEqual(t.data);
    const again = await evaluate({ model: out, tokens: evalTokens, seqlen: 12, device: 'webgpu' });
    expect(Math.abs(again.perplexity - report.perplexity!.after) / report.perplexity!.after).toBeLessThan(1e-6);
  }, 300_000);
});

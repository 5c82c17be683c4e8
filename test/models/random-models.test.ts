// Random-weight models in the shapes of Mistral (grouped-query attention; also with a sliding
// window shorter than the sequence), Qwen2 (q/k/v biases, tied embeddings; sliding layers past
// max_window_layers), Llama 3.2 and SmolLM2 (llama3 rope, theta 5e5 / 1e5, in the 4.x and 5.x
// config layouts), every rope variant (linear, dynamic, yarn, longrope), Qwen3 (q/k norms,
// head_dim ≠ hidden/heads, per-layer sliding windows, o bias), Phi-3 / 3.5 (fused qkv_proj and
// gate_up_proj, longrope under its legacy name, partial rotary, a sliding window) and OPT (LayerNorm,
// learned positions with offset 2, biases, ReLU, word_embed_proj_dim ≠ hidden_size, pre- and
// post-norm), written by the test as config.json + model.safetensors, read back through
// io's openModel, run layer by layer on each backend, and compared with the plain f64 forward
// pass of reference-model.ts: logits, every tap's input, pruned-weight reruns, and perplexity.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceTensor } from '../../src/backends/backend.js';
import { evaluate } from '../../src/eval/perplexity.js';
import { openModel } from '../../src/io/model.js';
import type { ModelSpec } from '../../src/models/config.js';
import { createDecoder, type TapInput } from '../../src/models/decoder.js';
import type { ForwardDevice } from '../forward/devices.js';
import { forwardDevices, modelLogits, relErr } from './harness.js';
import {
  llama32, llama32v4, llamaDynamic, llamaLinear, llamaLongrope, llamaTensors, llamaYarn, mistral, mistralWindow, opt, optTensors,
  mistralWindowV5, phi35, phi3mini, phi3Tensors, qwen2, qwen2Window, qwen2WindowV5, qwen3, qwen3v5, smollm2, type Tensors, writeModelDir,
} from './random-weights.js';
import { type LlamaConfig, llamaReference, type OptConfig, optReference, type Taps } from './reference-model.js';

interface Case {
  name: string;
  config: LlamaConfig | OptConfig;
  weights: Tensors;
  reference(w: (n: string) => Float32Array, ids: number[]): { logits: Float64Array; taps: Taps };
}

const cases: Case[] = [
  { name: 'Mistral (GQA 6/2)', config: mistral, weights: llamaTensors(mistral, false), reference: (w, ids) => llamaReference(mistral, w, ids) },
  { name: 'Mistral, sliding window 5', config: mistralWindow, weights: llamaTensors(mistralWindow, false), reference: (w, ids) => llamaReference(mistralWindow, w, ids) },
  { name: 'Qwen2 (q/k/v bias, tied)', config: qwen2, weights: llamaTensors(qwen2, true), reference: (w, ids) => llamaReference(qwen2, w, ids) },
  ...([
    ['Qwen2, sliding layers ≥ max_window_layers', qwen2Window, true], ['Qwen2 (5.x, layer_types: layer 0 slides)', qwen2WindowV5, true],
    ['Mistral, sliding window 5 (5.x rope_parameters)', mistralWindowV5, false], ['Llama 3.2 (llama3 rope, 5.x rope_parameters)', llama32, false],
    ['Llama 3.2 (llama3 rope, 4.x rope_scaling)', llama32v4, false], ['SmolLM2 (theta 1e5, 4.x)', smollm2, false],
    ['Llama, linear rope', llamaLinear, false], ['Llama, dynamic rope', llamaDynamic, false], ['Llama, yarn rope', llamaYarn, false],
    ['Llama, longrope (long factors)', llamaLongrope, false], ['Qwen3 (q/k norm, head_dim 16, 4.x)', qwen3, false],
    ['Qwen3 (5.x, layer_types, attention_bias)', qwen3v5, true],
  ] as const).map(([name, config, bias]): Case => ({ name, config, weights: llamaTensors(config, bias), reference: (w, ids) => llamaReference(config, w, ids) })),
  ...([
    ['Phi-3.5 (fused qkv/gate_up, longrope "su" long factors, partial rotary 0.5, GQA, 4.x)', phi35],
    ['Phi-3-mini (fused, sliding window 5, 5.x rope_parameters)', phi3mini],
  ] as const).map(([name, config]): Case => ({ name, config, weights: phi3Tensors(config), reference: (w, ids) => llamaReference(config, w, ids) })),
  { name: 'OPT pre-norm, proj 16≠32', config: opt(true), weights: optTensors(opt(true)), reference: (w, ids) => optReference(opt(true), w, ids) },
  { name: 'OPT post-norm (350m-like)', config: opt(false), weights: optTensors(opt(false)), reference: (w, ids) => optReference(opt(false), w, ids) },
];

const root = mkdtempSync(join(tmpdir(), 'dsnot-models-'));
const dirs = new Map<Case, string>();
for (const [i, c] of cases.entries()) {
  dirs.set(c, writeModelDir(join(root, `m${i}`), c.config, c.weights));
}

const devices = forwardDevices();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IDS = [3, 17, 0, 42, 8, 8, 29, 11, 50, 1, 33, 7, 19];

describe.each(['wasm', 'webgpu'] as const)('random models on %s', (devName) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: logits, tap inputs and pruned reruns match the f64 reference', async (_n, c) => {
    const dev = devices.device(devName);
    const m = await openModel(dirs.get(c)!);
    const weights = new Map<string, Float32Array>([...c.weights].map(([n, t]) => [n, Float32Array.from(t.data)]));
    const w = (n: string): Float32Array => {
      const t = weights.get(n);
      if (!t) throw new Error(`no ${n}`);
      return t;
    };
    // Prune half of one linear per layer (the first one the spec lists) after the dense pass,
    // as prune() does: layer i is calibrated (tapped) on the output of the pruned layers < i.
    const pruned = new Map<string, Float32Array>();
    for (const layer of m.spec.layers) {
      const lin = layer.linears[0];
      pruned.set(lin.weight, w(lin.weight).map((x, i) => (i % 2 === 0 ? 0 : x)));
    }
    const dense = new Map(weights);
    const referenceWith = (prunedLayers: number) => {
      weights.clear();
      for (const [n, t] of dense) weights.set(n, t);
      for (const layer of m.spec.layers.slice(0, prunedLayers)) weights.set(layer.linears[0].weight, pruned.get(layer.linears[0].weight)!);
      return c.reference(w, IDS);
    };
    const tapsOf = m.spec.layers.map((_, i) => referenceWith(i).taps[i]);
    const sparse = referenceWith(m.spec.numLayers);
    const denseLogits = referenceWith(0).logits;

    const model = createDecoder(m.spec, dev.backend);
    const T = IDS.length;
    const emb = await model.loadEmbeddings(m.reader);
    let h = await emb.embed(IDS);
    emb.dispose();
    const seen = new Set<string>();
    for (let i = 0; i < m.spec.numLayers; i++) {
      const layer = await model.loadLayer(i, m.reader);
      const tap = async (t: TapInput) => {
        const x = (await dev.store.read(t.x as DeviceTensor & { dtype: 'f32' })).subarray(0, t.rows * t.cols);
        for (const lin of t.linears) {
          expect(t.cols).toBe(lin.in);
          expect(relErr(x, tapsOf[i][lin.role])).toBeLessThan(1e-4);
          seen.add(`${i}.${lin.role}`);
        }
      };
      await layer.forward(h, T, { tap });
      for (const lin of layer.spec.linears) if (pruned.has(lin.weight)) layer.setWeight(lin.weight, pruned.get(lin.weight)!);
      h = await layer.forward(h, T);
      layer.dispose();
    }
    // Every linear's input was handed over exactly by the taps.
    expect(seen.size).toBe(m.spec.layers.reduce((a, l) => a + l.linears.length, 0));
    const head = await model.loadHead(m.reader);
    const logits = await head.logits(h, T);
    head.dispose();
    model.dispose();
    await m.close();
    expect(relErr(logits, sparse.logits)).toBeLessThan(1e-4);
    // The dense and pruned logits differ far more than the tolerance: the swap really happened.
    expect(relErr(denseLogits, sparse.logits)).toBeGreaterThan(1e-2);
  });
});

describe('random models: evaluate()', () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: the authors' perplexity equals the reference's", async (_n, c) => {
    const ids = Array.from({ length: 2 * 9 + 4 }, (_, i) => (i * 31 + 7) % c.config.vocab_size);
    const w = (n: string): Float32Array => c.weights.get(n)!.data;
    let total = 0;
    for (let k = 0; k < 2; k++) {
      const win = ids.slice(k * 9, k * 9 + 9);
      const { logits } = c.reference(w, win);
      const V = c.config.vocab_size;
      for (let t = 0; t < 8; t++) {
        const row = logits.subarray(t * V, (t + 1) * V);
        const m = Math.max(...row);
        total += m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)) - row[win[t + 1]];
      }
    }
    const r = await evaluate({ model: dirs.get(c)!, tokens: ids, seqlen: 9, device: 'wasm' });
    expect(r.windows).toBe(2);
    expect(r.tokens).toBe(16);
    expect(Math.abs(r.nll - total / 16) / (total / 16)).toBeLessThan(1e-5);
  });
});

/** Dense logits of `ids` through the decoder, layer by layer, for a (possibly edited) spec. */
function denseLogits(dev: ForwardDevice, dir: string, ids: number[], edit?: (s: ModelSpec) => void): Promise<Float32Array> {
  return modelLogits(dir, dev, ids, {
    edit,
    // The same decoder again with a shorter sequence: longrope must switch back to its short factors.
    afterLayer: async (layer, h, spec) => {
      if (ids.length > 6) await layer.forward(h.slice(0, 6 * spec.hiddenSize), 6);
    },
  });
}

describe.each(['wasm', 'webgpu'] as const)('rotary details on %s', (devName) => {
  const dev = () => {
    const d = devices.device(devName);
    return d;
  };
  const longrope = cases.find((c) => c.config === llamaLongrope)!;
  const w = (c: Case) => (n: string) => c.weights.get(n)!.data;

  it('longrope: short factors for 6 tokens, long for 13, switching both ways on one decoder', async () => {
    const short = IDS.slice(0, 6);
    const shortRef = longrope.reference(w(longrope), short).logits;
    expect(relErr(await denseLogits(dev(), dirs.get(longrope)!, short), shortRef)).toBeLessThan(1e-4);
    const longRef = longrope.reference(w(longrope), IDS).logits;
    expect(relErr(await denseLogits(dev(), dirs.get(longrope)!, IDS), longRef)).toBeLessThan(1e-4);
    // Had the 6-token call kept the long table (or the reverse), the first rows would differ:
    const asIfLong = longRef.slice(0, 6 * longrope.config.vocab_size);
    expect(relErr(asIfLong, shortRef)).toBeGreaterThan(1e-3);
  });

  it('partial rotary (rotary dim = head_dim / 2): the other half of each head passes through', async () => {
    const c = cases.find((x) => x.config === smollm2)!;
    const config = { ...c.config, partial_rotary_factor: 0.5 } as LlamaConfig;
    const got = await denseLogits(dev(), dirs.get(c)!, IDS, (s) => {
      for (const l of s.layers) if (l.rope) l.rope = { ...l.rope, rotaryDim: s.headDim / 2 };
    });
    const want = llamaReference(config, w(c), IDS).logits;
    expect(relErr(got, want)).toBeLessThan(1e-4);
    expect(relErr(want, llamaReference(c.config as LlamaConfig, w(c), IDS).logits)).toBeGreaterThan(1e-3);
  });

  it('refuses a sequence longer than max_position_embeddings', async () => {
    const ids = Array.from({ length: 33 }, (_, i) => i % 40);
    await expect(denseLogits(dev(), dirs.get(longrope)!, ids)).rejects.toThrow(/33 tokens is longer than the model's max_position_embeddings 32/);
  });
});

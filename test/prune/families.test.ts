// prune() on the other architectures, not only on stories260K's llama: random-weight OPT
// (LayerNorm, biases, learned positions, project_in/out, fc1/fc2), Qwen2 (q/k/v biases, tied
// embeddings), Qwen3 (q/k norms, o bias, a sliding layer, 5.x config), Llama 3.2 (llama3
// rope in rope_parameters), Phi-3.5 (fused qkv_proj / gate_up_proj pruned as the fused tensors,
// under their own names; longrope, partial rotary), Gemma 2 (soft-caps, (1 + w) pre/post norms,
// GeGLU, sliding layers) and Gemma 3 (a gemma3 config's text model under model.language_model.,
// per-layer-type rope) models, every initial method with and without DSnoT, unstructured and 2:4, on
// wasm. Exact sparsity per linear, the skip default on each family's MLP names, biases / norms /
// embeddings copied bit for bit, and the written model reloads to the reported perplexity.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/perplexity.js';
import type { InitMethod } from '../../src/layer.js';
import { prune } from '../../src/prune.js';
import { gemma2, gemma3v5, gemmaTensors, llama32, opt, optTensors, phi35, phi3Tensors, qwen2, qwen3v5, llamaTensors, writeModelDir } from '../models/random-weights.js';
import { readWeights, tempDir, zerosIn } from './helpers.js';

const FAMILIES = [
  { name: 'OPT', config: opt(true), weights: optTensors(opt(true)), vocab: 57, mlp: /\.fc[12]\.weight$/, linear: /\.(self_attn\.\w+_proj|fc[12])\.weight$/ },
  { name: 'Qwen2', config: qwen2, weights: llamaTensors(qwen2, true), vocab: 53, mlp: /\.mlp\./, linear: /\.(self_attn|mlp)\.\w+_proj\.weight$/ },
  { name: 'Qwen3', config: qwen3v5, weights: llamaTensors(qwen3v5, true), vocab: 61, mlp: /\.mlp\./, linear: /\.(self_attn|mlp)\.\w+_proj\.weight$/ },
  { name: 'Llama 3.2', config: llama32, weights: llamaTensors(llama32, false), vocab: 61, mlp: /\.mlp\./, linear: /\.(self_attn|mlp)\.\w+_proj\.weight$/ },
  // The fused tensors are the linears: the report and the written file name exactly these four per layer.
  { name: 'Phi-3.5', config: phi35, weights: phi3Tensors(phi35), vocab: 59, mlp: /\.mlp\./, linear: /\.(self_attn\.(qkv|o)_proj|mlp\.(gate_up|down)_proj)\.weight$/ },
  { name: 'Gemma 2', config: gemma2, weights: gemmaTensors(gemma2), vocab: 61, mlp: /\.mlp\./, linear: /\.(self_attn|mlp)\.\w+_proj\.weight$/ },
  {
    name: 'Gemma 3', config: gemma3v5, weights: gemmaTensors(gemma3v5, 'model.language_model.'), vocab: 61, mlp: /\.mlp\./,
    linear: /\.(self_attn|mlp)\.\w+_proj\.weight$/,
  },
];
const METHODS: Array<{ init: InitMethod; dsnot: boolean }> = [
  { init: 'magnitude', dsnot: true },
  { init: 'wanda', dsnot: false },
  { init: 'wanda', dsnot: true },
  { init: 'sparsegpt', dsnot: false },
  { init: 'sparsegpt', dsnot: true },
];

/** Deterministic token windows inside the vocabulary. */
function windows(count: number, length: number, vocab: number, salt: number): number[][] {
  return Array.from({ length: count }, (_, w) => Array.from({ length }, (_, t) => (w * 31 + t * 17 + salt + ((t * t) % 7)) % vocab));
}

describe.each(FAMILIES)('$name', (family) => {
  const dir = writeModelDir(tempDir('dsnot-family-'), family.config, family.weights);
  const calibration = { tokens: windows(6, 24, family.vocab, 1) };
  const evalTokens = windows(1, 96, family.vocab, 5)[0];

  describe.each([0.5, { n: 2, m: 4 }])('sparsity %o', (sparsity) => {
    it.each(METHODS)('init $init, DSnoT $dsnot', async ({ init, dsnot }) => {
      const out = tempDir();
      const report = await prune({
        model: dir, output: out, calibration, sparsity, init, dsnot: dsnot ? {} : false, device: 'wasm',
        evaluation: { tokens: evalTokens, seqlen: 24 },
      });
      const written = readWeights(join(out, 'model.safetensors'));
      const linears = [...family.weights.keys()].filter((n) => family.linear.test(n));
      expect(report.linears.map((e) => e.weight).sort()).toEqual(linears.sort());
      for (const entry of report.linears) {
        const w = written.get(entry.weight)!;
        const orig = family.weights.get(entry.weight)!.data;
        if (typeof sparsity !== 'number') {
          for (let g = 0; g < w.length; g += 4) expect(zerosIn(w, g, g + 4), `${entry.weight} group ${g}`).toBe(2);
        } else if (init !== 'sparsegpt' || dsnot) {
          const k = Math.floor(entry.cols * sparsity);
          for (let r = 0; r < entry.rows; r++) expect(zerosIn(w, r * entry.cols, (r + 1) * entry.cols), `${entry.weight} row ${r}`).toBe(k);
        }
        if (init !== 'sparsegpt' || dsnot) {
          for (let i = 0; i < w.length; i++) if (w[i] !== 0) expect(w[i]).toBe(orig[i]);
        }
        expect(entry.refined, entry.weight).toBe(dsnot && !family.mlp.test(entry.weight));
      }
      for (const [name, t] of family.weights) if (!family.linear.test(name)) expect(written.get(name), name).toEqual(t.data);
      const again = await evaluate({ model: out, tokens: evalTokens, seqlen: 24, device: 'wasm' });
      expect(Math.abs(again.perplexity - report.perplexity!.after) / report.perplexity!.after).toBeLessThan(1e-9);
    });
  });

  it("skip 'none' refines the MLP linears too", async () => {
    const report = await prune({ model: dir, output: tempDir(), calibration, sparsity: 0.5, init: 'wanda', skip: 'none', device: 'wasm' });
    expect(report.linears.every((e) => e.refined)).toBe(true);
  });
});

describe('Phi-3: the skip groups cover the fused linears', () => {
  const phi = FAMILIES.find((f) => f.name === 'Phi-3.5')!;
  const dir = writeModelDir(tempDir('dsnot-phi3-skip-'), phi.config, phi.weights);
  const calibration = { tokens: windows(4, 16, phi.vocab, 3) };
  it.each([
    ['self_attn', /\.self_attn\.(qkv|o)_proj\./],
    ['mlp', /\.mlp\.(gate_up|down)_proj\./],
    ['gate_up_proj', /\.mlp\.gate_up_proj\./],
  ] as const)("skip ['%s'] leaves exactly its linears unrefined", async (group, skipped) => {
    const report = await prune({ model: dir, output: tempDir(), calibration, sparsity: 0.5, init: 'wanda', skip: [group], device: 'wasm' });
    expect(report.linears).toHaveLength(8);
    for (const e of report.linears) expect(e.refined, e.weight).toBe(!skipped.test(e.weight));
  });
});

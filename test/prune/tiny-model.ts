// A tiny random llama-family model written as a Hugging Face folder (config.json +
// model.safetensors), and an independent straightforward implementation of the authors' loop
// over it (ALGORITHM.md §8.4) in plain f64 loops: dense pass with the linears' inputs collected,
// statistics, masks from the plain-TS reference of test/reference/, pruned pass, head.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeF16 } from '../../src/io/half.js';
import { toFloat32 } from '../../src/io/safetensors-reader.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { attention, gemm, nll, randn, rmsNorm, rope, silu } from '../forward/reference.js';
import { referenceDsnot } from '../reference/dsnot.js';
import { referenceInitialMetric } from '../reference/initial-metric.js';
import { nmMask, referenceColumns, rowMask, thresholdMask } from '../reference/masks.js';
import { referenceStats } from '../reference/stats.js';

export const DIMS = { hidden: 32, heads: 4, kvHeads: 2, headDim: 8, ff: 64, vocab: 64, layers: 2, eps: 1e-5, theta: 10000 };
const D = DIMS;
const LINEARS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

export type Weights = Map<string, Float32Array>;

/** n windows of len token ids of the tiny vocabulary, seeded (window k from seed + k). */
export function randomWindows(n: number, len: number, seed: number): number[][] {
  return Array.from({ length: n }, (_, k) => Array.from(randn(len, seed + k, 1), (u) => Math.floor((u + 1) / 2 * DIMS.vocab) % DIMS.vocab));
}

export function linearShape(name: string): [number, number] {
  const q = D.heads * D.headDim;
  const kv = D.kvHeads * D.headDim;
  const shapes: Record<string, [number, number]> = {
    'self_attn.q_proj': [q, D.hidden], 'self_attn.k_proj': [kv, D.hidden], 'self_attn.v_proj': [kv, D.hidden],
    'self_attn.o_proj': [D.hidden, q], 'mlp.gate_proj': [D.ff, D.hidden], 'mlp.up_proj': [D.ff, D.hidden], 'mlp.down_proj': [D.hidden, D.ff],
  };
  return shapes[name];
}

/** Writes the model into `dir`; returns its weights (as stored). Norm weights near 1, linears ~U(−0.3, 0.3). */
export function writeTinyModel(dir: string, seed = 7, dtype: 'F32' | 'F16' = 'F32'): Weights {
  const w: Weights = new Map();
  let s = seed;
  w.set('model.embed_tokens.weight', randn(D.vocab * D.hidden, s++, 1));
  for (let i = 0; i < D.layers; i++) {
    for (const l of LINEARS) {
      const [o, inp] = linearShape(l);
      w.set(`model.layers.${i}.${l}.weight`, randn(o * inp, s++, 0.3));
    }
    for (const n of ['input_layernorm', 'post_attention_layernorm']) {
      w.set(`model.layers.${i}.${n}.weight`, randn(D.hidden, s++, 0.2).map((x) => 1 + x));
    }
  }
  w.set('model.norm.weight', randn(D.hidden, s++, 0.2).map((x) => 1 + x));
  w.set('lm_head.weight', randn(D.vocab * D.hidden, s++, 0.5));
  if (dtype === 'F16') for (const [name, v] of w) w.set(name, toFloat32('F16', encodeF16(v)));
  const tensors: TensorToWrite[] = [...w].map(([name, data]) => ({
    name, dtype, shape: shapeOf(name), data: dtype === 'F16' ? encodeF16(data) : data,
  }));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: D.hidden, intermediate_size: D.ff,
    num_hidden_layers: D.layers, num_attention_heads: D.heads, num_key_value_heads: D.kvHeads, vocab_size: D.vocab,
    max_position_embeddings: 64, rms_norm_eps: D.eps, rope_theta: D.theta, tie_word_embeddings: false, hidden_act: 'silu',
  }));
  return w;
}

function shapeOf(name: string): number[] {
  if (name.includes('embed_tokens') || name === 'lm_head.weight') return [D.vocab, D.hidden];
  const l = LINEARS.find((x) => name.endsWith(`${x}.weight`));
  return l ? linearShape(l) : [D.hidden];
}

export interface ReferenceMethod {
  init: 'magnitude' | 'wanda' | 'sparsegpt' | 'ria';
  dsnot: boolean;
  sparsity: number | { n: number; m: number };
  /** Linears left at their initial mask. */
  skipMlp: boolean;
  /** OWL: each layer's own unstructured sparsity (replaces `sparsity` layer by layer). */
  layerSparsity?: number[];
}

/** One layer in f64; `tap` gets each linear input group as the authors' hooks would. */
function layerForward(h: Float64Array, T: number, w: Weights, i: number, tap?: (group: string, x: Float64Array) => void): Float64Array {
  const p = `model.layers.${i}.`;
  const W = (l: string) => w.get(`${p}${l}.weight`)!;
  const q = D.heads * D.headDim;
  const kv = D.kvHeads * D.headDim;
  const n = rmsNorm(h, w.get(`${p}input_layernorm.weight`)!, T, D.hidden, D.eps);
  tap?.('qkv', n);
  const qq = rope(gemm(n, W('self_attn.q_proj'), null, T, D.hidden, q), T, D.heads, D.headDim, D.theta, 0);
  const kk = rope(gemm(n, W('self_attn.k_proj'), null, T, D.hidden, kv), T, D.kvHeads, D.headDim, D.theta, 0);
  const vv = gemm(n, W('self_attn.v_proj'), null, T, D.hidden, kv);
  const att = attention(qq, kk, vv, T, D.heads, D.kvHeads, D.headDim, 1 / Math.sqrt(D.headDim));
  tap?.('o', att);
  const o = gemm(att, W('self_attn.o_proj'), null, T, q, D.hidden);
  const h2 = h.map((x, j) => x + o[j]);
  const n2 = rmsNorm(h2, w.get(`${p}post_attention_layernorm.weight`)!, T, D.hidden, D.eps);
  tap?.('gate_up', n2);
  const g = gemm(n2, W('mlp.gate_proj'), null, T, D.hidden, D.ff);
  const u = gemm(n2, W('mlp.up_proj'), null, T, D.hidden, D.ff);
  const a = g.map((x, j) => silu(x) * u[j]);
  tap?.('down', a);
  const dn = gemm(a, W('mlp.down_proj'), null, T, D.ff, D.hidden);
  return h2.map((x, j) => x + dn[j]);
}

const GROUP: Record<string, string> = {
  'self_attn.q_proj': 'qkv', 'self_attn.k_proj': 'qkv', 'self_attn.v_proj': 'qkv', 'self_attn.o_proj': 'o',
  'mlp.gate_proj': 'gate_up', 'mlp.up_proj': 'gate_up', 'mlp.down_proj': 'down',
};

/** The mask (1 = pruned) the authors' per-linear code gives (with the package's documented fixes). */
function referenceMask(W: Float32Array, rows: number, cols: number, x3: Float32Array, nseq: number, T: number, m: ReferenceMethod, skipped: boolean): Uint8Array {
  const st = referenceStats(x3, nseq, T, cols, m.init === 'sparsegpt');
  const columns = referenceColumns(st.scalerRow, st.sumMetricRow, st.var, 1);
  const metric = referenceInitialMetric(m.init, W, rows, cols, columns.sqrtScaler, st.hessian!);
  const nm = typeof m.sparsity === 'number' ? null : m.sparsity;
  const k = nm ? 0 : Math.floor(cols * (m.sparsity as number));
  let init: Uint8Array;
  if (nm) init = nmMask(metric, rows, cols, nm.n, nm.m);
  else if (m.init === 'magnitude' && !m.dsnot) init = thresholdMask(metric, Math.floor(rows * cols * (m.sparsity as number)));
  else init = rowMask(metric, rows, cols, k);
  if (!m.dsnot) return init;
  return referenceDsnot({
    w: W, rows, cols, initMask: init, columns, nm, initialMetric: nm ? metric : null,
    maxCycles: skipped ? 0 : 50, threshold: 0.1, sameSign: false,
  }).mask;
}

export interface ReferenceRun {
  masks: Map<string, Uint8Array>;
  /** Mean NLL of the evaluation windows through the dense and the pruned model. */
  nllBefore: number;
  nllAfter: number;
}

/** The authors' loop: dense pass (inputs collected) → prune every linear → pruned pass, layer by layer. */
export function referencePrune(w: Weights, windows: number[][], evalWindows: number[][], m: ReferenceMethod): ReferenceRun {
  const T = windows[0].length;
  const embed = (ids: number[]) => {
    const e = w.get('model.embed_tokens.weight')!;
    const h = new Float64Array(ids.length * D.hidden);
    ids.forEach((id, t) => { for (let j = 0; j < D.hidden; j++) h[t * D.hidden + j] = e[id * D.hidden + j]; });
    return h;
  };
  let hidden: Float64Array[] = windows.map(embed);
  let dense: Float64Array[] = evalWindows.map((ids) => embed(ids.slice(0, -1)));
  let pruned: Float64Array[] = dense.map((h) => h.slice());
  const pw: Weights = new Map(w);
  const masks = new Map<string, Uint8Array>();
  for (let i = 0; i < D.layers; i++) {
    const inputs = new Map<string, Float32Array[]>();
    for (const h of hidden) layerForward(h, T, pw, i, (g, x) => inputs.set(g, [...(inputs.get(g) ?? []), Float32Array.from(x)]));
    dense = dense.map((h) => layerForward(h, h.length / D.hidden, w, i));
    for (const l of LINEARS) {
      const name = `model.layers.${i}.${l}.weight`;
      const [rows, cols] = linearShape(l);
      const xs = inputs.get(GROUP[l])!;
      const x3 = new Float32Array(xs.length * T * cols);
      xs.forEach((x, n) => x3.set(x, n * T * cols));
      const mi = m.layerSparsity ? { ...m, sparsity: m.layerSparsity[i] } : m;
      const mask = referenceMask(w.get(name)!, rows, cols, x3, xs.length, T, mi, m.skipMlp && l.startsWith('mlp.'));
      masks.set(name, mask);
      pw.set(name, w.get(name)!.map((v, j) => (mask[j] ? 0 : v)));
    }
    hidden = hidden.map((h) => layerForward(h, T, pw, i));
    pruned = pruned.map((h) => layerForward(h, h.length / D.hidden, pw, i));
  }
  const score = (hs: Float64Array[]) => {
    let total = 0;
    let count = 0;
    hs.forEach((h, k) => {
      const rows = h.length / D.hidden;
      const n = rmsNorm(h, w.get('model.norm.weight')!, rows, D.hidden, D.eps);
      const logits = gemm(n, w.get('lm_head.weight')!, null, rows, D.hidden, D.vocab);
      for (const v of nll(logits, evalWindows[k].slice(1), rows, D.vocab)) total += v;
      count += rows;
    });
    return total / count;
  };
  return { masks, nllBefore: score(dense), nllAfter: score(pruned) };
}

/**
 * OWL's outlier ratio per layer, straight from its definition: the windows run DENSE through
 * every layer (original weights); per layer, A = |W|·√scaler_row of all seven linears together
 * (scaler_row = Σ x² over the calibration tokens / windows, of each linear's input), and
 * D = #{A > m·mean(A)} / #A.
 */
export function referenceOutlierRatios(w: Weights, windows: number[][], m: number): number[] {
  const T = windows[0].length;
  const e = w.get('model.embed_tokens.weight')!;
  let hidden: Float64Array[] = windows.map((ids) => Float64Array.from({ length: T * D.hidden }, (_, k) => e[ids[Math.floor(k / D.hidden)] * D.hidden + (k % D.hidden)]));
  const ratios: number[] = [];
  for (let i = 0; i < D.layers; i++) {
    const sumSq = new Map<string, Float64Array>();
    const tap = (g: string, x: Float64Array) => {
      const cols = x.length / T;
      const acc = sumSq.get(g) ?? new Float64Array(cols);
      x.forEach((v, k) => { acc[k % cols] += v * v; });
      sumSq.set(g, acc);
    };
    hidden = hidden.map((h) => layerForward(h, T, w, i, tap));
    const scores: number[] = [];
    for (const l of LINEARS) {
      const W = w.get(`model.layers.${i}.${l}.weight`)!;
      const [rows, cols] = linearShape(l);
      const s = sumSq.get(GROUP[l])!;
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scores.push(Math.abs(W[r * cols + c]) * Math.sqrt(s[c] / windows.length));
    }
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    ratios.push(scores.filter((a) => a > m * mean).length / scores.length);
  }
  return ratios;
}

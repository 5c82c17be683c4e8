// Independent, straightforward forward passes of the model families in f64, written from
// the Hugging Face modeling code (LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
// Qwen3ForCausalLM, Phi3ForCausalLM, Gemma2ForCausalLM / Gemma3ForCausalLM / Gemma3ForConditionalGeneration's
// text model, OPTForCausalLM) for the tests only: weights by their checkpoint names, plain
// loops, no code shared with src/. Returns the logits and every linear layer's input (what the
// taps must see). The config is the raw config.json dict, in either layout transformers writes.
import { refRope, type RefRope } from './reference-rope.js';

type W = (name: string) => Float32Array;
export type Taps = Array<Record<string, Float64Array>>;

function linear(x: Float64Array, rows: number, w: Float32Array, b: Float32Array | null, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * w[o * inDim + i];
      y[t * outDim + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, rows: number, d: number, w: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < rows; t++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[t * d + i] ** 2;
    const r = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y[t * d + i] = w[i] * (x[t * d + i] * r);
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, d: number, w: Float32Array, b: Float32Array, eps = 1e-5): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[t * d + i] / d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[t * d + i] - mean) ** 2 / d;
    for (let i = 0; i < d; i++) y[t * d + i] = ((x[t * d + i] - mean) / Math.sqrt(v + eps)) * w[i] + b[i];
  }
  return y;
}

/** HF apply_rotary_pos_emb on the first rope.dim features: x·cos·a + rotate_half(x)·sin·a, rotate_half(x) = [−x2, x1]. */
function rotary(x: Float64Array, rows: number, heads: number, hd: number, rope: RefRope): void {
  const inv = rope.invFreq(rows);
  const dim = rope.dim;
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * hd;
      const old = x.slice(base, base + dim);
      for (let j = 0; j < dim; j++) {
        const angle = t * inv[j % (dim / 2)];
        const rot = j < dim / 2 ? -old[j + dim / 2] : old[j - dim / 2];
        x[base + j] = (old[j] * Math.cos(angle) + rot * Math.sin(angle)) * rope.attention;
      }
    }
  }
}

/** Qwen3's q_norm / k_norm: RMSNorm over each head's hd features. */
function headNorm(x: Float64Array, rows: number, heads: number, hd: number, w: Float32Array, eps: number): Float64Array {
  return rmsNorm(x, rows * heads, hd, w, eps);
}

/** transformers' sliding window of layer l (null: full attention): Mistral every layer; Qwen2/3 by layer_types. */
function layerWindow(c: LlamaConfig, l: number): number | null {
  if (c.model_type === 'mistral') return c.sliding_window === undefined ? 4096 : c.sliding_window; // MistralConfig default 4096
  if (c.model_type === 'phi3') return c.sliding_window ?? null; // Phi3Config default None; every layer
  if (c.model_type !== 'qwen2' && c.model_type !== 'qwen3') return null;
  const window = c.use_sliding_window ? (c.sliding_window === undefined ? 4096 : c.sliding_window) : null;
  const type = c.layer_types ? c.layer_types[l] : (window !== null && l >= (c.max_window_layers ?? 28) ? 'sliding_attention' : 'full_attention');
  return type === 'sliding_attention' ? window : null;
}

/** Columns [from, from + n) of x [rows, cols]: one part of a fused projection's output. */
function columns(x: Float64Array, rows: number, cols: number, from: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let t = 0; t < rows; t++) for (let j = 0; j < n; j++) y[t * n + j] = x[t * cols + from + j];
  return y;
}

/**
 * softmax(q kᵀ · scale (soft-capped: tanh(s / cap) · cap) + causal (and sliding-window) mask) v,
 * kv head = h / (heads / kvHeads); scale 1/√hd unless given.
 */
function attend(
  q: Float64Array, k: Float64Array, v: Float64Array, rows: number, heads: number, kvHeads: number, hd: number, window: number | null,
  scale = 1 / Math.sqrt(hd), cap: number | null = null,
): Float64Array {
  const out = new Float64Array(rows * heads * hd);
  for (let h = 0; h < heads; h++) {
    const kh = Math.floor(h / (heads / kvHeads));
    for (let t = 0; t < rows; t++) {
      const allowed = (s: number) => s <= t && (window === null || t - s < window);
      const sc = new Float64Array(rows).fill(-Infinity);
      for (let s = 0; s < rows; s++) {
        if (!allowed(s)) continue;
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[(t * heads + h) * hd + i] * k[(s * kvHeads + kh) * hd + i];
        sc[s] = cap ? Math.tanh((d * scale) / cap) * cap : d * scale;
      }
      const m = Math.max(...sc);
      let z = 0;
      for (let s = 0; s < rows; s++) z += Math.exp(sc[s] - m);
      for (let s = 0; s < rows; s++) {
        const p = Math.exp(sc[s] - m) / z;
        for (let i = 0; i < hd; i++) out[(t * heads + h) * hd + i] += p * v[(s * kvHeads + kh) * hd + i];
      }
    }
  }
  return out;
}

const add = (a: Float64Array, b: Float64Array): Float64Array => a.map((x, i) => x + b[i]);

export interface LlamaConfig {
  hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number;
  num_key_value_heads: number; vocab_size: number; rms_norm_eps: number; rope_theta?: number;
  tie_word_embeddings: boolean; sliding_window?: number | null; model_type: string; max_position_embeddings: number;
  head_dim?: number; rope_scaling?: Record<string, unknown> | null; rope_parameters?: Record<string, unknown>;
  use_sliding_window?: boolean; max_window_layers?: number; layer_types?: string[]; attention_bias?: boolean;
  partial_rotary_factor?: number; original_max_position_embeddings?: number;
}

export function llamaReference(c: LlamaConfig, w: W, ids: number[]): { logits: Float64Array; taps: Taps } {
  const T = ids.length;
  const d = c.hidden_size;
  const hd = c.head_dim ?? d / c.num_attention_heads;
  const [H, KV, F] = [c.num_attention_heads, c.num_key_value_heads, c.intermediate_size];
  const rope = refRope(c, hd);
  const has = (n: string) => { try { return w(n); } catch { return null; } };
  const emb = w('model.embed_tokens.weight');
  let h: Float64Array = new Float64Array(T * d);
  ids.forEach((id, t) => { for (let i = 0; i < d; i++) h[t * d + i] = emb[id * d + i]; });
  const taps: Taps = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const lin = (x: Float64Array, name: string, i: number, o: number) => linear(x, T, w(`${p}${name}.weight`), has(`${p}${name}.bias`), i, o);
    const n1 = rmsNorm(h, T, d, w(`${p}input_layernorm.weight`), c.rms_norm_eps);
    // Phi-3: qkv_proj's output is [q | k | v] along the features, gate_up_proj's [gate | up].
    const phi3 = c.model_type === 'phi3';
    const qkv = phi3 ? lin(n1, 'self_attn.qkv_proj', d, (H + 2 * KV) * hd) : null;
    const qkvCols = (H + 2 * KV) * hd;
    let q = qkv ? columns(qkv, T, qkvCols, 0, H * hd) : lin(n1, 'self_attn.q_proj', d, H * hd);
    let k = qkv ? columns(qkv, T, qkvCols, H * hd, KV * hd) : lin(n1, 'self_attn.k_proj', d, KV * hd);
    const v = qkv ? columns(qkv, T, qkvCols, (H + KV) * hd, KV * hd) : lin(n1, 'self_attn.v_proj', d, KV * hd);
    if (c.model_type === 'qwen3') {
      q = headNorm(q, T, H, hd, w(`${p}self_attn.q_norm.weight`), c.rms_norm_eps);
      k = headNorm(k, T, KV, hd, w(`${p}self_attn.k_norm.weight`), c.rms_norm_eps);
    }
    rotary(q, T, H, hd, rope);
    rotary(k, T, KV, hd, rope);
    const a = attend(q, k, v, T, H, KV, hd, layerWindow(c, l));
    h = add(h, lin(a, 'self_attn.o_proj', H * hd, d));
    const n2 = rmsNorm(h, T, d, w(`${p}post_attention_layernorm.weight`), c.rms_norm_eps);
    const gu = phi3 ? lin(n2, 'mlp.gate_up_proj', d, 2 * F) : null;
    const g = gu ? columns(gu, T, 2 * F, 0, F) : lin(n2, 'mlp.gate_proj', d, F);
    const u = gu ? columns(gu, T, 2 * F, F, F) : lin(n2, 'mlp.up_proj', d, F);
    const act = g.map((x, i) => (x / (1 + Math.exp(-x))) * u[i]);
    h = add(h, lin(act, 'mlp.down_proj', F, d));
    taps.push({ q: n1, k: n1, v: n1, o: a, gate: n2, up: n2, down: act });
  }
  const n = rmsNorm(h, T, d, w('model.norm.weight'), c.rms_norm_eps);
  const head = c.tie_word_embeddings ? emb : w('lm_head.weight');
  return { logits: linear(n, T, head, null, d, c.vocab_size), taps };
}

export interface OptConfig {
  hidden_size: number; ffn_dim: number; num_hidden_layers: number; num_attention_heads: number; vocab_size: number;
  max_position_embeddings: number; word_embed_proj_dim: number; do_layer_norm_before: boolean; model_type: 'opt';
}

export function optReference(c: OptConfig, w: W, ids: number[]): { logits: Float64Array; taps: Taps } {
  const T = ids.length;
  const d = c.hidden_size;
  const H = c.num_attention_heads;
  const hd = d / H;
  const e = c.word_embed_proj_dim;
  const P = 'model.decoder.';
  const emb = w(`${P}embed_tokens.weight`);
  let x: Float64Array = new Float64Array(T * e);
  ids.forEach((id, t) => { for (let i = 0; i < e; i++) x[t * e + i] = emb[id * e + i]; });
  if (e !== d) x = linear(x, T, w(`${P}project_in.weight`), null, e, d);
  const pos = w(`${P}embed_positions.weight`);
  let h: Float64Array = x.map((v, j) => v + pos[(Math.floor(j / d) + 2) * d + (j % d)]); // OPT's position offset 2
  const taps: Taps = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `${P}layers.${l}.`;
    const lin = (xx: Float64Array, name: string, i: number, o: number) => linear(xx, T, w(`${p}${name}.weight`), w(`${p}${name}.bias`), i, o);
    const ln = (xx: Float64Array, name: string) => layerNorm(xx, T, d, w(`${p}${name}.weight`), w(`${p}${name}.bias`));
    let residual: Float64Array = h;
    const xa = c.do_layer_norm_before ? ln(h, 'self_attn_layer_norm') : h;
    // HF scales q after its projection (bias included); the same as scaling the scores.
    const q = lin(xa, 'self_attn.q_proj', d, d);
    const k = lin(xa, 'self_attn.k_proj', d, d);
    const v = lin(xa, 'self_attn.v_proj', d, d);
    const a = attend(q, k, v, T, H, H, hd, null);
    h = add(residual, lin(a, 'self_attn.out_proj', d, d));
    if (!c.do_layer_norm_before) h = ln(h, 'self_attn_layer_norm');
    residual = h;
    const xf = c.do_layer_norm_before ? ln(h, 'final_layer_norm') : h;
    const f1 = lin(xf, 'fc1', d, c.ffn_dim).map((z) => Math.max(z, 0));
    h = add(residual, lin(f1, 'fc2', c.ffn_dim, d));
    if (!c.do_layer_norm_before) h = ln(h, 'final_layer_norm');
    taps.push({ q: xa, k: xa, v: xa, o: a, fc1: xf, fc2: f1 });
  }
  if (c.do_layer_norm_before) h = layerNorm(h, T, d, w(`${P}final_layer_norm.weight`), w(`${P}final_layer_norm.bias`));
  if (e !== d) h = linear(h, T, w(`${P}project_out.weight`), null, d, e);
  return { logits: linear(h, T, emb, null, e, c.vocab_size), taps };
}

/** A Gemma config.json: gemma2, gemma3_text, or gemma3 with the text model's fields in text_config. */
export type GemmaConfig = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Gemma2RMSNorm / Gemma3RMSNorm: x / √(mean x² + eps) · (1 + w), the 1 + w in f32 (weight.float()). */
function gemmaNorm(x: Float64Array, rows: number, d: number, w: Float32Array, eps: number): Float64Array {
  return rmsNorm(x, rows, d, w.map((v) => Math.fround(1 + v)), eps);
}

const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** The text model's config, its tensor prefix, and the untied head's name. */
export function gemmaText(c: GemmaConfig, prefix?: string): { tc: GemmaConfig; prefix: string; head: string } {
  if (c.model_type !== 'gemma3') return { tc: c, prefix: prefix ?? 'model.', head: 'lm_head.weight' };
  const p = prefix ?? 'language_model.model.';
  return { tc: { model_type: 'gemma3_text', ...c.text_config }, prefix: p, head: p === 'language_model.model.' ? 'language_model.lm_head.weight' : 'lm_head.weight' };
}

/** Layer l's sliding window (null: full) and rotary settings, as Gemma2Config / Gemma3TextConfig define them. */
function gemmaLayer(tc: GemmaConfig, l: number, hd: number): { window: number | null; rope: RefRope } {
  const gemma3 = tc.model_type === 'gemma3_text';
  const pattern = gemma3 ? (tc.sliding_window_pattern ?? 6) : 2;
  const type = tc.layer_types ? tc.layer_types[l] : ((l + 1) % pattern ? 'sliding_attention' : 'full_attention');
  const window = type === 'sliding_attention' ? (tc.sliding_window === undefined ? 4096 : tc.sliding_window) : null;
  if (!gemma3) return { window, rope: refRope(tc, hd) };
  const perType = tc.rope_parameters && tc.rope_parameters[type];
  if (perType) return { window, rope: refRope({ max_position_embeddings: tc.max_position_embeddings, rope_parameters: perType }, hd) };
  // 4.x: rope_theta / rope_scaling are the global layers'; the local ones use plain RoPE at rope_local_base_freq.
  if (type === 'full_attention') return { window, rope: refRope({ rope_theta: 1e6, ...tc }, hd) };
  return { window, rope: refRope({ max_position_embeddings: tc.max_position_embeddings, rope_theta: tc.rope_local_base_freq ?? 10000 }, hd) };
}

export function gemmaReference(c: GemmaConfig, w: W, ids: number[], tensorPrefix?: string): { logits: Float64Array; taps: Taps } {
  const { tc, prefix, head } = gemmaText(c, tensorPrefix);
  const gemma3 = tc.model_type === 'gemma3_text';
  const T = ids.length;
  const d: number = tc.hidden_size;
  const hd: number = tc.head_dim ?? 256;
  const [H, KV, F, eps]: number[] = [tc.num_attention_heads, tc.num_key_value_heads, tc.intermediate_size, tc.rms_norm_eps ?? 1e-6];
  const scale = (tc.query_pre_attn_scalar ?? 256) ** -0.5;
  const capOf = (key: string, fallback: number | null): number | null => (tc[key] === undefined ? fallback : tc[key]);
  const attnCap = capOf('attn_logit_softcapping', gemma3 ? null : 50);
  const finalCap = capOf('final_logit_softcapping', gemma3 ? null : 30);
  const emb = w(`${prefix}embed_tokens.weight`);
  const normalizer = Math.fround(Math.sqrt(d)); // torch.tensor(hidden_size ** 0.5, dtype=float32)
  let h: Float64Array = new Float64Array(T * d);
  ids.forEach((id, t) => { for (let i = 0; i < d; i++) h[t * d + i] = Math.fround(emb[id * d + i] * normalizer); });
  const taps: Taps = [];
  for (let l = 0; l < tc.num_hidden_layers; l++) {
    const p = `${prefix}layers.${l}.`;
    const lin = (x: Float64Array, name: string, i: number, o: number) => linear(x, T, w(`${p}${name}.weight`), null, i, o);
    const norm = (x: Float64Array, name: string, rows = T, dim = d) => gemmaNorm(x, rows, dim, w(`${p}${name}.weight`), eps);
    const { window, rope } = gemmaLayer(tc, l, hd);
    const n1 = norm(h, 'input_layernorm');
    let q = lin(n1, 'self_attn.q_proj', d, H * hd);
    let k = lin(n1, 'self_attn.k_proj', d, KV * hd);
    const v = lin(n1, 'self_attn.v_proj', d, KV * hd);
    if (gemma3) {
      q = norm(q, 'self_attn.q_norm', T * H, hd);
      k = norm(k, 'self_attn.k_norm', T * KV, hd);
    }
    rotary(q, T, H, hd, rope);
    rotary(k, T, KV, hd, rope);
    const a = attend(q, k, v, T, H, KV, hd, window, scale, attnCap);
    h = add(h, norm(lin(a, 'self_attn.o_proj', H * hd, d), 'post_attention_layernorm'));
    const n2 = norm(h, 'pre_feedforward_layernorm');
    const g = lin(n2, 'mlp.gate_proj', d, F);
    const u = lin(n2, 'mlp.up_proj', d, F);
    const act = g.map((x, i) => geluTanh(x) * u[i]);
    h = add(h, norm(lin(act, 'mlp.down_proj', F, d), 'post_feedforward_layernorm'));
    taps.push({ q: n1, k: n1, v: n1, o: a, gate: n2, up: n2, down: act });
  }
  const n = gemmaNorm(h, T, d, w(`${prefix}norm.weight`), eps);
  const logits = linear(n, T, tc.tie_word_embeddings === false ? w(head) : emb, null, d, tc.vocab_size);
  return { logits: finalCap ? logits.map((x) => Math.tanh(x / finalCap) * finalCap) : logits, taps };
}

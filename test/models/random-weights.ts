// Random-weight models in the shapes of Mistral, Qwen2 and OPT, written as config.json +
// model.safetensors: shared by the forward-pass tests (test/models) and the pipeline tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors } from '../../src/io/safetensors.js';
import { randn } from '../forward/reference.js';
import { type GemmaConfig, gemmaText, type LlamaConfig, type OptConfig } from './reference-model.js';

export type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

let seed = 100;
export function tensors(specs: Array<[string, number[], 'w' | 'norm' | 'bias']>): Tensors {
  const out: Tensors = new Map();
  for (const [name, shape, kind] of specs) {
    const n = shape.reduce((a, b) => a * b, 1);
    const r = randn(n, seed++, kind === 'w' ? 0.25 : 0.2);
    out.set(name, { shape, data: kind === 'norm' ? r.map((x) => 1 + x) : r });
  }
  return out;
}

export function llamaTensors(c: LlamaConfig, qkvBias: boolean): Tensors {
  const d = c.hidden_size;
  const hd = c.head_dim ?? d / c.num_attention_heads;
  const specs: Array<[string, number[], 'w' | 'norm' | 'bias']> = [['model.embed_tokens.weight', [c.vocab_size, d], 'w'], ['model.norm.weight', [d], 'norm']];
  if (!c.tie_word_embeddings) specs.push(['lm_head.weight', [c.vocab_size, d], 'w']);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      [`${p}input_layernorm.weight`, [d], 'norm'], [`${p}post_attention_layernorm.weight`, [d], 'norm'],
      [`${p}self_attn.q_proj.weight`, [c.num_attention_heads * hd, d], 'w'],
      [`${p}self_attn.k_proj.weight`, [c.num_key_value_heads * hd, d], 'w'],
      [`${p}self_attn.v_proj.weight`, [c.num_key_value_heads * hd, d], 'w'],
      [`${p}self_attn.o_proj.weight`, [d, c.num_attention_heads * hd], 'w'],
      [`${p}mlp.gate_proj.weight`, [c.intermediate_size, d], 'w'],
      [`${p}mlp.up_proj.weight`, [c.intermediate_size, d], 'w'],
      [`${p}mlp.down_proj.weight`, [d, c.intermediate_size], 'w'],
    );
    if (qkvBias) {
      specs.push([`${p}self_attn.q_proj.bias`, [c.num_attention_heads * hd], 'bias'],
        [`${p}self_attn.k_proj.bias`, [c.num_key_value_heads * hd], 'bias'], [`${p}self_attn.v_proj.bias`, [c.num_key_value_heads * hd], 'bias']);
    }
    if (c.attention_bias) specs.push([`${p}self_attn.o_proj.bias`, [d], 'bias']);
    if (c.model_type === 'qwen3') specs.push([`${p}self_attn.q_norm.weight`, [hd], 'norm'], [`${p}self_attn.k_norm.weight`, [hd], 'norm']);
  }
  return tensors(specs);
}

/** Phi-3's tensors: fused qkv_proj [q; k; v] and gate_up_proj [gate; up], no biases. */
export function phi3Tensors(c: LlamaConfig): Tensors {
  const d = c.hidden_size;
  const hd = c.head_dim ?? d / c.num_attention_heads;
  const specs: Array<[string, number[], 'w' | 'norm' | 'bias']> = [['model.embed_tokens.weight', [c.vocab_size, d], 'w'], ['model.norm.weight', [d], 'norm']];
  if (!c.tie_word_embeddings) specs.push(['lm_head.weight', [c.vocab_size, d], 'w']);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      [`${p}input_layernorm.weight`, [d], 'norm'], [`${p}post_attention_layernorm.weight`, [d], 'norm'],
      [`${p}self_attn.qkv_proj.weight`, [(c.num_attention_heads + 2 * c.num_key_value_heads) * hd, d], 'w'],
      [`${p}self_attn.o_proj.weight`, [d, c.num_attention_heads * hd], 'w'],
      [`${p}mlp.gate_up_proj.weight`, [2 * c.intermediate_size, d], 'w'],
      [`${p}mlp.down_proj.weight`, [d, c.intermediate_size], 'w'],
    );
  }
  return tensors(specs);
}

export function optTensors(c: OptConfig): Tensors {
  const d = c.hidden_size;
  const e = c.word_embed_proj_dim;
  const P = 'model.decoder.';
  const specs: Array<[string, number[], 'w' | 'norm' | 'bias']> = [
    [`${P}embed_tokens.weight`, [c.vocab_size, e], 'w'], [`${P}embed_positions.weight`, [c.max_position_embeddings + 2, d], 'w'],
  ];
  if (e !== d) specs.push([`${P}project_in.weight`, [d, e], 'w'], [`${P}project_out.weight`, [e, d], 'w']);
  if (c.do_layer_norm_before) specs.push([`${P}final_layer_norm.weight`, [d], 'norm'], [`${P}final_layer_norm.bias`, [d], 'bias']);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `${P}layers.${l}.`;
    for (const n of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj']) specs.push([`${p}${n}.weight`, [d, d], 'w'], [`${p}${n}.bias`, [d], 'bias']);
    specs.push([`${p}fc1.weight`, [c.ffn_dim, d], 'w'], [`${p}fc1.bias`, [c.ffn_dim], 'bias'], [`${p}fc2.weight`, [d, c.ffn_dim], 'w'], [`${p}fc2.bias`, [d], 'bias']);
    for (const n of ['self_attn_layer_norm', 'final_layer_norm']) specs.push([`${p}${n}.weight`, [d], 'norm'], [`${p}${n}.bias`, [d], 'bias']);
  }
  return tensors(specs);
}


export const mistral: LlamaConfig = {
  model_type: 'mistral', max_position_embeddings: 256, hidden_size: 48, intermediate_size: 72, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2,
  vocab_size: 61, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: false, sliding_window: null,
};
export const mistralWindow: LlamaConfig = { ...mistral, sliding_window: 5 };
export const qwen2: LlamaConfig = {
  model_type: 'qwen2', max_position_embeddings: 256, hidden_size: 32, intermediate_size: 56, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 53, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true,
};
// Llama-family variants in both config.json layouts (4.x: rope_theta + rope_scaling; 5.x:
// rope_parameters), small enough that every rope variant changes the angles within 13 tokens.
const tiny = { hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 61, rms_norm_eps: 1e-5 };
export const llama32: LlamaConfig = { // Llama-3.2-1B's fields, transformers 5.x layout
  ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: true, head_dim: 8, attention_bias: false,
  rope_parameters: { rope_type: 'llama3', rope_theta: 500000.0, factor: 32.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8 },
};
export const llama32v4: LlamaConfig = { // the same model as transformers 4.x writes it
  ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: true, head_dim: 8, attention_bias: false, rope_theta: 500000.0,
  rope_scaling: { rope_type: 'llama3', factor: 32.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8 },
};
export const smollm2: LlamaConfig = { // SmolLM2-135M's fields, 4.x layout, theta 100000
  ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: true, rope_theta: 100000, rope_scaling: null,
};
export const llamaLinear: LlamaConfig = { ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: false, rope_scaling: { type: 'linear', factor: 3 } };
export const llamaDynamic: LlamaConfig = { ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: false, rope_scaling: { type: 'dynamic', factor: 3 } };
export const llamaYarn: LlamaConfig = {
  ...tiny, model_type: 'llama', max_position_embeddings: 64, tie_word_embeddings: false,
  rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4, original_max_position_embeddings: 16 },
};
export const llamaLongrope: LlamaConfig = { // original context 8 < the 13-token test sequence: the long factors
  ...tiny, model_type: 'llama', max_position_embeddings: 32, tie_word_embeddings: false,
  rope_parameters: { rope_type: 'longrope', rope_theta: 10000, short_factor: [1, 1.5, 2, 4], long_factor: [1.2, 3, 7, 11], original_max_position_embeddings: 8 },
};
/** A 4.x-layout config as transformers 5.x saves it: rope_theta moved into rope_parameters. */
function asV5({ rope_theta, rope_scaling: _, ...c }: LlamaConfig): LlamaConfig {
  return { ...c, rope_parameters: { rope_type: 'default', rope_theta } };
}
export const mistralWindowV5: LlamaConfig = asV5(mistralWindow);
export const qwen2WindowV5: LlamaConfig = { ...asV5({ ...qwen2, use_sliding_window: true, sliding_window: 5 }), layer_types: ['sliding_attention', 'full_attention'] };
export const qwen2Window: LlamaConfig = { ...qwen2, use_sliding_window: true, sliding_window: 5, max_window_layers: 1 };
export const qwen3: LlamaConfig = { // Qwen3-0.6B's fields, 4.x layout: head_dim 16 ≠ hidden/heads, layer 1 slides
  ...tiny, model_type: 'qwen3', max_position_embeddings: 64, head_dim: 16, tie_word_embeddings: true, attention_bias: false, rope_theta: 1000000,
  rope_scaling: null, use_sliding_window: true, sliding_window: 4, max_window_layers: 1,
};
export const qwen3v5: LlamaConfig = { // 5.x layout, explicit layer_types, attention_bias on
  ...tiny, model_type: 'qwen3', max_position_embeddings: 64, head_dim: 16, tie_word_embeddings: false, attention_bias: true,
  rope_parameters: { rope_type: 'default', rope_theta: 1000000.0 }, use_sliding_window: true, sliding_window: 4,
  layer_types: ['sliding_attention', 'full_attention'],
};

/**
 * A Gemma 2 / 3 checkpoint's tensors under `prefix` (gemma3 wrapper: language_model.model. by
 * default). Norm weights are stored as w of (1 + w), near 0 as in real checkpoints.
 */
export function gemmaTensors(c: GemmaConfig, prefix?: string): Tensors {
  const { tc, prefix: P, head } = gemmaText(c, prefix);
  const d: number = tc.hidden_size;
  const hd: number = tc.head_dim ?? 256;
  const specs: Array<[string, number[], 'w' | 'norm' | 'bias']> = [[`${P}embed_tokens.weight`, [tc.vocab_size, d], 'w'], [`${P}norm.weight`, [d], 'bias']];
  if (tc.tie_word_embeddings === false) specs.push([head, [tc.vocab_size, d], 'w']);
  for (let l = 0; l < tc.num_hidden_layers; l++) {
    const p = `${P}layers.${l}.`;
    for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm']) specs.push([`${p}${n}.weight`, [d], 'bias']);
    specs.push(
      [`${p}self_attn.q_proj.weight`, [tc.num_attention_heads * hd, d], 'w'],
      [`${p}self_attn.k_proj.weight`, [tc.num_key_value_heads * hd, d], 'w'],
      [`${p}self_attn.v_proj.weight`, [tc.num_key_value_heads * hd, d], 'w'],
      [`${p}self_attn.o_proj.weight`, [d, tc.num_attention_heads * hd], 'w'],
      [`${p}mlp.gate_proj.weight`, [tc.intermediate_size, d], 'w'],
      [`${p}mlp.up_proj.weight`, [tc.intermediate_size, d], 'w'],
      [`${p}mlp.down_proj.weight`, [d, tc.intermediate_size], 'w'],
    );
    if (tc.model_type === 'gemma3_text') specs.push([`${p}self_attn.q_norm.weight`, [hd], 'bias'], [`${p}self_attn.k_norm.weight`, [hd], 'bias']);
  }
  return tensors(specs);
}

// Gemma 2 (Gemma-2-2B's fields, small): every other layer slides from layer 0, window 4 < the
// 13-token test sequence; soft-caps small enough that tanh bends the scores and logits.
export const gemma2: GemmaConfig = {
  model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'], hidden_size: 32, intermediate_size: 40, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, vocab_size: 61, rms_norm_eps: 1e-6, max_position_embeddings: 64,
  rope_theta: 10000.0, query_pre_attn_scalar: 24, attn_logit_softcapping: 1.5, final_logit_softcapping: 2.5, sliding_window: 4,
  hidden_act: 'gelu_pytorch_tanh', hidden_activation: 'gelu_pytorch_tanh', cache_implementation: 'hybrid', attention_bias: false,
  bos_token_id: 2, eos_token_id: 1, pad_token_id: 0,
};
/** The 5.x layout: rope_parameters, layer_types (here not the default pattern), an untied head. */
export const gemma2v5: GemmaConfig = (({ rope_theta: _, ...c }) => ({
  ...c, rope_parameters: { rope_type: 'default', rope_theta: 10000.0 }, layer_types: ['full_attention', 'sliding_attention', 'sliding_attention'],
  tie_word_embeddings: false,
}))(gemma2);
// Gemma 3 text (Gemma-3-1B's fields, small): q/k norms, MQA, layers 0 and 1 local (theta 1e4,
// window 4), layer 2 global (theta 1e6, linear rope factor 8 as Gemma-3-4B), no soft-capping.
export const gemma3: GemmaConfig = {
  model_type: 'gemma3_text', architectures: ['Gemma3ForCausalLM'], hidden_size: 32, intermediate_size: 40, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 1, head_dim: 8, vocab_size: 61, rms_norm_eps: 1e-6, max_position_embeddings: 64,
  rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: { rope_type: 'linear', factor: 8.0 }, sliding_window: 4,
  sliding_window_pattern: 3, query_pre_attn_scalar: 8, attn_logit_softcapping: null, final_logit_softcapping: null,
  hidden_activation: 'gelu_pytorch_tanh', cache_implementation: 'hybrid', attention_bias: false,
};
/** The multimodal wrapper (model_type gemma3) in the 5.x layout: per-layer-type rope_parameters, layer_types. */
export const gemma3v5: GemmaConfig = {
  model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], mm_tokens_per_image: 256, boi_token_index: 255999,
  eoi_token_index: 256000, image_token_index: 262144, initializer_range: 0.02, eos_token_id: [1, 106],
  vision_config: { model_type: 'siglip_vision_model', hidden_size: 16, image_size: 32, patch_size: 8 },
  text_config: (({ rope_theta: _, rope_local_base_freq: _l, rope_scaling: _s, sliding_window_pattern: _p, ...c }) => ({
    ...c, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'], use_bidirectional_attention: false,
    rope_parameters: { full_attention: { rope_type: 'linear', factor: 8.0, rope_theta: 1000000.0 }, sliding_attention: { rope_type: 'default', rope_theta: 10000.0 } },
  }))(gemma3),
};
// Phi-3.5-mini's fields (4.x layout): longrope with the legacy name "su", original context 8 <
// the 13-token test sequence (long factors), partial_rotary_factor 0.5 of head_dim 12, GQA 4/2.
export const phi35: LlamaConfig = {
  model_type: 'phi3', hidden_size: 48, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 59, rms_norm_eps: 1e-5, tie_word_embeddings: false, max_position_embeddings: 32, original_max_position_embeddings: 8,
  rope_theta: 10000.0, partial_rotary_factor: 0.5, sliding_window: 262144,
  rope_scaling: { type: 'su', short_factor: [1, 1.5, 2.5], long_factor: [1.3, 4, 9] },
};
// Phi-3-mini-4k's fields (5.x layout): default rope, sliding_window 5 (< the sequence), MHA.
export const phi3mini: LlamaConfig = {
  model_type: 'phi3', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4,
  vocab_size: 59, rms_norm_eps: 1e-5, tie_word_embeddings: false, max_position_embeddings: 64, original_max_position_embeddings: 64,
  rope_parameters: { rope_type: 'default', rope_theta: 10000.0, partial_rotary_factor: 1.0 }, sliding_window: 5,
};

export const opt = (pre: boolean): OptConfig => ({
  model_type: 'opt', hidden_size: 32, ffn_dim: 64, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 57,
  max_position_embeddings: 40, word_embed_proj_dim: 16, do_layer_norm_before: pre,
});


/** Write config.json + model.safetensors (F32) into `dir` (created) and return it. */
export function writeModelDir(dir: string, config: LlamaConfig | OptConfig | GemmaConfig, weights: Tensors): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors([...weights].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data }))));
  return dir;
}

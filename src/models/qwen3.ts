// Qwen3 (model_type qwen3), as transformers' Qwen3Config / Qwen3Attention define it: the llama
// block with a per-head RMSNorm on q and k (self_attn.q_norm / k_norm, weights [head_dim], eps
// rms_norm_eps) applied after the projections and before RoPE; q/k/v/o biases only with
// attention_bias (default false); an explicit head_dim (default 128, independent of hidden_size);
// sliding-window layers exactly as Qwen2 (layer_types, else use_sliding_window and
// max_window_layers). The block itself is llama.ts's; self-attention.ts applies the q/k norms.
import type { LlamaVariant } from './llama-variants.js';
import { qwenLayerTypes } from './qwen-layers.js';

export const QWEN3: LlamaVariant = {
  modelType: 'qwen3',
  defaults: { maxPositions: 32768, eps: 1e-6, theta: 10000, headDim: 128 },
  read(c, numLayers) {
    const bias = c.boolean('attention_bias', false);
    return { qkvBias: bias, oBias: bias, mlpBias: false, qkNorm: true, ...qwenLayerTypes(c, numLayers) };
  },
};

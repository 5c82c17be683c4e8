// The model_types of the llama family, one row each: what differs between them is read here
// (biases, which layers use a sliding window, q/k norms, fused projections, the config class
// defaults); everything else is config.ts's llamaFamily. Defaults are those of the transformers
// config classes (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Phi3Config), attention
// as their modeling files do it.
import type { ConfigReader } from './config-reader.js';
import type { RopeType } from './rope.js';
import { PHI3 } from './phi3.js';
import { QWEN3 } from './qwen3.js';
import { qwenLayerTypes } from './qwen-layers.js';

import type { AttentionType } from './qwen-layers.js';

export type { AttentionType };

export interface VariantFields {
  /** Biases on q/k/v, on o, on the MLP linears. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  /** Attention type of each layer, and the window of the sliding ones (null: none). */
  layerTypes: AttentionType[];
  slidingWindow: number | null;
  /** Fused qkv_proj and gate_up_proj instead of q/k/v_proj and gate/up_proj (Phi-3, phi3.ts). */
  fused?: boolean;
}

export interface LlamaVariant {
  modelType: string;
  /** head_dim undefined: hidden_size / num_attention_heads. originalMaxPositions: the config
   *  class's own original_max_position_embeddings (Phi-3's 4096), used when the key is absent. */
  defaults: { maxPositions: number; eps: number; theta: number; headDim?: number; originalMaxPositions?: number };
  read(c: ConfigReader, numLayers: number): VariantFields;
  /** Whether the attention honours partial_rotary_factor (default: only 1 accepted). */
  partialRotary?: boolean;
  /** The rope types the config class accepts and the legacy names it rewrites (default: all, none). */
  ropeTypes?: { allowed: readonly RopeType[]; aliases: Readonly<Record<string, RopeType>> };
}

const allFull = (n: number): AttentionType[] => Array<AttentionType>(n).fill('full_attention');

/** LlamaConfig: attention_bias puts a bias on q, k, v and o; mlp_bias on gate, up, down. */
const LLAMA: LlamaVariant = {
  modelType: 'llama',
  defaults: { maxPositions: 2048, eps: 1e-6, theta: 10000 },
  read(c, numLayers) {
    const bias = c.boolean('attention_bias', false);
    // pretraining_tp > 1 made transformers 4.x split each linear into slices and sum them: the same
    // product, reassociated; 5.x ignores it. Any positive value computes the same model.
    c.positiveInt('pretraining_tp', 1);
    // nanotron's rope_interleaved: transformers always pairs (i, i + d/2); an interleaved export would
    // need permuted q/k rows, so only false is accepted.
    c.expect('rope_interleaved', (v) => v === false, 'transformers pairs rotary features (i, i + head_dim/2); an interleaved checkpoint would be computed wrongly');
    return { qkvBias: bias, oBias: bias, mlpBias: c.boolean('mlp_bias', false), qkNorm: false, layerTypes: allFull(numLayers), slidingWindow: null };
  },
};

/** MistralConfig: no biases; sliding_window (default 4096, null = none) on every layer. */
const MISTRAL: LlamaVariant = {
  modelType: 'mistral',
  defaults: { maxPositions: 4096 * 32, eps: 1e-6, theta: 10000 },
  read(c, numLayers) {
    const window = c.nullablePositiveInt('sliding_window', 4096);
    const layerTypes = Array<AttentionType>(numLayers).fill(window === null ? 'full_attention' : 'sliding_attention');
    return { qkvBias: false, oBias: false, mlpBias: false, qkNorm: false, layerTypes, slidingWindow: window };
  },
};

/** Qwen2Config: q/k/v biases always, none on o; sliding windows as qwenLayerTypes. */
const QWEN2: LlamaVariant = {
  modelType: 'qwen2',
  defaults: { maxPositions: 32768, eps: 1e-6, theta: 10000 },
  read(c, numLayers) {
    c.expect('use_mrope', (v) => v === false, 'multimodal rotary sections (Qwen2-VL) are not part of Qwen2ForCausalLM');
    return { qkvBias: true, oBias: false, mlpBias: false, qkNorm: false, ...qwenLayerTypes(c, numLayers) };
  },
};

/** The llama-family model_types, by name. */
export const LLAMA_VARIANTS: Readonly<Record<string, LlamaVariant>> = {
  llama: LLAMA,
  mistral: MISTRAL,
  qwen2: QWEN2,
  qwen3: QWEN3,
  phi3: PHI3,
};

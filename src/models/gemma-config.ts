// Gemma 2 (model_type gemma2) and Gemma 3 text (gemma3_text, and the text_config of a gemma3
// config) read as transformers' Gemma2Config / Gemma3TextConfig / Gemma3Config do, in both
// layouts (4.x: rope_theta, rope_scaling, rope_local_base_freq, sliding_window_pattern; 5.x:
// rope_parameters, per layer type for Gemma 3, and layer_types). The block is gemma.ts's; the
// tensor names are the llama family's plus pre/post feed-forward norms, so config.ts builds the
// spec with llamaSpec and gemmaSpec() below turns it into a Gemma one.
import { ConfigError } from '../io/errors.js';
import type { LlamaDims, ModelSpec, TensorRef } from './config.js';
import { type ConfigObject, ConfigReader } from './config-reader.js';
import { readGenericKeys, refuseUnreadKeys } from './config-keys.js';
import type { AttentionType } from './llama-variants.js';
import { readRope } from './rope-config.js';
import type { RopeParameters } from './rope.js';

export const GEMMA_MODEL_TYPES = ['gemma2', 'gemma3_text', 'gemma3'] as const;

/** What a Gemma config adds to the llama-family dimensions. */
export interface GemmaConfig {
  dims: LlamaDims;
  /** Tensor-name prefixes to try, in order ('model.' for the CausalLM checkpoints). */
  prefixes: string[];
  /** Attention logit soft-capping (Gemma 2: 50), final logit soft-capping (Gemma 2: 30); null = none. */
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** query_pre_attn_scalar^−0.5. */
  attentionScale: number;
}

interface Defaults {
  /** Shape defaults: Gemma2Config changed them between transformers versions (hidden 3072 and
   *  query_pre_attn_scalar 224 in 4.42, 2304 and 256 later), so for gemma2 they are required;
   *  Gemma3TextConfig's never changed, and Gemma-3-4B's text_config relies on them. */
  shape?: { hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number; vocab: number; queryPreAttnScalar: number };
  maxPositions: number;
  theta: number;
  window: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
}

const DEFAULTS: Record<'gemma2' | 'gemma3_text', Defaults> = {
  gemma2: { maxPositions: 8192, theta: 10000, window: 4096, attnSoftcap: 50, finalSoftcap: 30 },
  gemma3_text: {
    shape: { hidden: 2304, intermediate: 9216, layers: 26, heads: 8, kvHeads: 4, vocab: 262208, queryPreAttnScalar: 256 },
    maxPositions: 131072, theta: 1_000_000, window: 4096, attnSoftcap: null, finalSoftcap: null,
  },
};

/** Read a gemma2 / gemma3_text / gemma3 config (every key read or refused). */
export function readGemma(c: ConfigReader, modelType: string): GemmaConfig {
  if (modelType !== 'gemma3') return readText(c, modelType as 'gemma2' | 'gemma3_text');
  // Gemma3Config wraps the text model's config (and a vision tower's, refused in gemmaSpec when
  // its tensors are present); the weights sit under the language model's prefix.
  const text = c.objectOrNull('text_config');
  const [bos, eos] = [c.tokenId('bos_token_id'), c.tokenId('eos_token_id')];
  // Which config's flag ties the wrapper's head has moved between transformers versions; the
  // two can only be told apart when they disagree, and then the model is refused.
  const topTie = c.has('tie_word_embeddings') ? c.boolean('tie_word_embeddings', true) : (c.get('tie_word_embeddings'), null);
  refuseUnreadKeys(c, 'gemma3');
  const inner = new ConfigReader(text ?? {}, 'config.json text_config');
  const type = inner.string('model_type', 'gemma3_text');
  if (type !== 'gemma3_text') throw inner.error('model_type', `${JSON.stringify(type)} is not the text model of gemma3 ("gemma3_text")`);
  readGenericKeys(inner);
  const g = readText(inner, 'gemma3_text');
  if (topTie !== null && topTie !== g.dims.tieWordEmbeddings) {
    throw c.error('tie_word_embeddings', `${topTie} disagrees with text_config.tie_word_embeddings ${g.dims.tieWordEmbeddings}`);
  }
  g.dims.modelType = 'gemma3';
  g.dims.bosTokenId ??= bos;
  g.dims.eosTokenId ??= eos;
  // Hub checkpoints (transformers ≤ 4.51): language_model.model.*; saved by ≥ 4.52: model.language_model.*.
  return { ...g, prefixes: ['language_model.model.', 'model.language_model.', 'model.'] };
}

function readText(c: ConfigReader, modelType: 'gemma2' | 'gemma3_text'): GemmaConfig {
  const d = DEFAULTS[modelType];
  // transformers' Gemma MLP reads hidden_activation; hidden_act (still in Gemma-2 configs) is unused.
  c.string('hidden_act', '');
  const act = c.string('hidden_activation', 'gelu_pytorch_tanh');
  if (act !== 'gelu_pytorch_tanh') throw c.error('hidden_activation', `${JSON.stringify(act)} is not supported for ${modelType}: only "gelu_pytorch_tanh"`);
  c.expect('attention_bias', (v) => v === false, 'Gemma checkpoints have no attention biases');
  // Both config classes carry it (transformers 4.57 and 5.x save Gemma2Config's as null): null and
  // false are the causal model; true (EmbeddingGemma) is not a language model.
  c.expect('use_bidirectional_attention', (v) => v === false, 'bidirectional attention (EmbeddingGemma) is not a causal language model');
  // head_dim defaults to 256 in every version of both classes, independent of hidden_size.
  const shape = d.shape;
  const hiddenSize = c.positiveInt('hidden_size', shape?.hidden);
  const numHeads = c.positiveInt('num_attention_heads', shape?.heads);
  const numLayers = c.positiveInt('num_hidden_layers', shape?.layers);
  const headDim = c.positiveInt('head_dim', 256);
  const maxPositions = c.positiveInt('max_position_embeddings', d.maxPositions);
  // Gemma2Config has no pattern key: every other layer, fixed. Gemma3TextConfig (≥ 4.53) saves
  // _sliding_window_pattern too, but sets that attribute from sliding_window_pattern (default 6)
  // when it loads, so the saved one never counts: it is only checked to be a pattern.
  const pattern = modelType === 'gemma3_text' ? c.positiveInt('sliding_window_pattern', 6) : 2;
  if (modelType === 'gemma3_text') c.positiveInt('_sliding_window_pattern', 6);
  const { layerTypes, slidingWindow } = gemmaLayerTypes(c, numLayers, d.window, pattern);
  const rope = modelType === 'gemma2'
    ? readRope(c, { headDim, maxPositions, defaultTheta: d.theta, layerTypes: null, perLayerType: false, partialRotary: false, modelType })
    : gemma3Rope(c, headDim, maxPositions);
  const dims: LlamaDims = {
    modelType,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: c.positiveInt('num_key_value_heads', shape?.kvHeads),
    headDim,
    intermediateSize: c.positiveInt('intermediate_size', shape?.intermediate),
    vocabSize: c.positiveInt('vocab_size', shape?.vocab),
    maxPositions,
    rmsNormEps: c.positiveNumber('rms_norm_eps', 1e-6),
    rope: { full_attention: rope.full_attention, sliding_attention: rope.sliding_attention ?? rope.full_attention },
    layerTypes,
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    qkNorm: modelType === 'gemma3_text',
    slidingWindow,
    bosTokenId: c.tokenId('bos_token_id'),
    eosTokenId: c.tokenId('eos_token_id'),
  };
  const g: GemmaConfig = {
    dims,
    prefixes: ['model.', ''],
    attnSoftcap: nullableCap(c, 'attn_logit_softcapping', d.attnSoftcap),
    finalSoftcap: nullableCap(c, 'final_logit_softcapping', d.finalSoftcap),
    // The scale is a Python float multiplying f32 scores: PyTorch rounds it to f32, as the kernels do.
    attentionScale: c.positiveNumber('query_pre_attn_scalar', shape?.queryPreAttnScalar) ** -0.5,
  };
  refuseUnreadKeys(c, modelType);
  return g;
}

function nullableCap(c: ConfigReader, key: string, fallback: number | null): number | null {
  if (Object.hasOwn(c.c, key) && c.c[key] === null) {
    c.get(key);
    return null;
  }
  return c.has(key) ? c.positiveNumber(key) : (c.get(key), fallback);
}

/**
 * Which layers slide, as transformers: layer_types when given; else (4.x, and the 5.x default)
 * layer i slides unless (i + 1) is a multiple of the pattern (Gemma 2: 2, every other layer from
 * layer 0; Gemma 3: sliding_window_pattern, default 6). A null sliding_window means full attention.
 */
function gemmaLayerTypes(c: ConfigReader, numLayers: number, defaultWindow: number, pattern: number): { layerTypes: AttentionType[]; slidingWindow: number | null } {
  const slidingWindow = c.nullablePositiveInt('sliding_window', defaultWindow);
  const given = c.get('layer_types');
  if (given === undefined || given === null) {
    return { layerTypes: Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention')), slidingWindow };
  }
  if (!Array.isArray(given) || given.length !== numLayers || !given.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
    throw c.error('layer_types', `must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers, got ${JSON.stringify(given)}`);
  }
  return { layerTypes: given as AttentionType[], slidingWindow };
}

const BOTH_TYPES: AttentionType[] = ['full_attention', 'sliding_attention'];

/**
 * Gemma 3's two rotary settings. 5.x: rope_parameters {full_attention: {…}, sliding_attention: {…}}.
 * 4.x: rope_theta (default 1e6) and rope_scaling for the global layers only; the sliding ones use
 * default RoPE with rope_local_base_freq (default 1e4), as Gemma3Model's rotary_emb_local does.
 */
function gemma3Rope(c: ConfigReader, headDim: number, maxPositions: number): Record<string, RopeParameters> {
  const ctx = { headDim, maxPositions, defaultTheta: 1_000_000, perLayerType: true, partialRotary: false, modelType: 'gemma3_text' };
  const params = c.c.rope_parameters as ConfigObject | null | undefined;
  const nested = params !== null && typeof params === 'object' && !Array.isArray(params)
    && Object.keys(params).length > 0 && Object.keys(params).every((k) => (BOTH_TYPES as string[]).includes(k));
  if (nested) {
    const rope = readRope(c, { ...ctx, layerTypes: BOTH_TYPES });
    const local = c.optionalPositiveNumber('rope_local_base_freq');
    if (local !== undefined && local !== rope.sliding_attention.theta) {
      throw c.error('rope_local_base_freq', `${local} disagrees with rope_parameters.sliding_attention.rope_theta ${rope.sliding_attention.theta}`);
    }
    return rope;
  }
  const global = readRope(c, { ...ctx, layerTypes: null }).full_attention;
  const local: RopeParameters = { type: 'default', theta: c.positiveNumber('rope_local_base_freq', 10000), rotaryDim: headDim, maxPositions };
  return { full_attention: global, sliding_attention: local };
}

/** The llama-shaped spec of a Gemma config made Gemma's: norms, activation, scales, soft-caps. */
export function gemmaSpec(spec: ModelSpec, g: GemmaConfig, tensors: Map<string, number[]> | null): ModelSpec {
  const vision = tensors ? [...tensors.keys()].find((n) => /^(model\.)?(vision_tower|multi_modal_projector)\./.test(n)) : undefined;
  if (vision) {
    throw new ConfigError(`the checkpoint holds a vision tower ("${vision}"): dsnot prunes Gemma 3's text model only; save the language model alone (Gemma3ForCausalLM) and prune that`);
  }
  const d = spec.hiddenSize;
  for (const layer of spec.layers) {
    const p = layer.prefix;
    // Gemma names: post_attention_layernorm normalizes the attention output (not the MLP input).
    const [pre, postFf] = [`${p}pre_feedforward_layernorm.weight`, `${p}post_feedforward_layernorm.weight`];
    layer.mlpNorm = { weight: pre, bias: null };
    layer.postAttnNorm = { weight: `${p}post_attention_layernorm.weight`, bias: null };
    layer.postMlpNorm = { weight: postFf, bias: null };
    layer.copied.push({ name: pre, shape: [d] }, { name: postFf, shape: [d] });
  }
  // Gemma3ForConditionalGeneration's untied head (4.x hub layout) sits beside language_model.model.
  const prefix = spec.embedTokens.name.slice(0, -'embed_tokens.weight'.length);
  if (spec.lmHead && prefix === 'language_model.model.') {
    const head: TensorRef = { name: 'language_model.lm_head.weight', shape: spec.lmHead.shape };
    spec.globals = spec.globals.map((t) => (t === spec.lmHead ? head : t));
    spec.lmHead = head;
  }
  spec.family = 'gemma';
  spec.norm = { ...spec.norm, unitOffset: true };
  spec.activation = 'gelu_tanh';
  // Gemma2Model's normalizer (and Gemma3's embed_scale) is √hidden_size as a tensor of the hidden dtype.
  spec.embedScale = Math.fround(Math.sqrt(d));
  spec.attentionScale = g.attentionScale;
  spec.attnSoftcap = g.attnSoftcap;
  spec.finalSoftcap = g.finalSoftcap;
  return spec;
}

// config.json → ModelSpec: everything the pipeline needs to know about an architecture, with
// every tensor named, so that no other code parses tensor names or config keys.
//
// Supported: family 'llama' (model_type llama, mistral, qwen2, qwen3, phi3: one row each in
// llama-variants.ts; also llama2.c checkpoints), family 'gemma' (gemma2, gemma3_text, gemma3:
// gemma-config.ts) and family 'opt' (model_type opt). Defaults for
// missing keys are those of the transformers config classes; every key of config.json is either
// read here or listed as harmless in config-keys.ts, and any other key is refused by name.
import { ConfigError } from '../io/errors.js';
import { ConfigReader } from './config-reader.js';
import { readGenericKeys, refuseUnreadKeys } from './config-keys.js';
import { GEMMA_MODEL_TYPES, gemmaSpec, readGemma } from './gemma-config.js';
import { type AttentionType, LLAMA_VARIANTS } from './llama-variants.js';
import { phi3Linears } from './phi3.js';
import { readRope } from './rope-config.js';
import type { RopeParameters } from './rope.js';

export type ModelFamily = 'llama' | 'opt' | 'gemma';

export const SUPPORTED_MODEL_TYPES = [...Object.keys(LLAMA_VARIANTS), ...GEMMA_MODEL_TYPES, 'opt'] as const;

/** A tensor by its full name in the checkpoint, with its shape (row-major, PyTorch order). */
export interface TensorRef {
  name: string;
  shape: number[];
}

/** What a linear layer computes, independent of how the architecture names it. */
export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down' | 'fc1' | 'fc2';

/** One prunable linear layer: y = W·x (+ b), W of shape [out, in]. */
export interface LinearSpec {
  /** The name inside the decoder layer, as the authors' code names it: 'self_attn.q_proj', 'fc1'. */
  name: string;
  role: LinearRole;
  /** Full name of the weight tensor, e.g. 'model.layers.3.self_attn.q_proj.weight'. */
  weight: string;
  /** Full name of the bias tensor, or null when the layer has none. */
  bias: string | null;
  out: number;
  in: number;
  /** A fused linear (Phi-3's qkv_proj, gate_up_proj): its output rows are these parts' outputs,
   *  stacked in this order; `role` is the first part's. Absent for an ordinary linear. */
  parts?: ReadonlyArray<{ role: LinearRole; rows: number }>;
}

/** RMSNorm (weight only, bias null) or LayerNorm (weight and bias; either may be absent in OPT without elementwise affine). */
export interface NormSpec {
  weight: string | null;
  bias: string | null;
}

export interface LayerSpec {
  index: number;
  /** Prefix of every tensor of this layer, e.g. 'model.layers.3.' or 'model.decoder.layers.3.'. */
  prefix: string;
  /** The linears to prune, in the order the authors' code visits them (llama: q, k, v, o,
   *  gate, up, down; OPT: k, v, q, out, fc1, fc2). */
  linears: LinearSpec[];
  /** Norm before attention (llama input_layernorm; OPT self_attn_layer_norm). */
  attnNorm: NormSpec;
  /** Norm before the MLP (llama post_attention_layernorm; OPT final_layer_norm of the layer). */
  mlpNorm: NormSpec;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3 self_attn.q_norm / k_norm, weights [headDim]); null when none. */
  qNorm: NormSpec | null;
  kNorm: NormSpec | null;
  /** Gemma: norms of the attention output and of the MLP output, before each joins the residual
   *  (post_attention_layernorm, post_feedforward_layernorm); absent or null when none. */
  postAttnNorm?: NormSpec | null;
  postMlpNorm?: NormSpec | null;
  /** transformers' layer type: 'full_attention', or 'sliding_attention' (Mistral, Qwen2/3 with a window). */
  attentionType: AttentionType;
  /** This layer's attention window (each query sees the last `slidingWindow` keys); null = full causal. */
  slidingWindow: number | null;
  /** This layer's rotary settings; null for learned positions (OPT). */
  rope: RopeParameters | null;
  /** Every tensor of this layer written back unchanged: norms, biases, and any tensor the
   *  checkpoint holds under the prefix that is not a pruned weight (e.g. rotary_emb.inv_freq). */
  copied: TensorRef[];
}

/** Rotary positions, HF convention (rotate_half over the two halves of the rotary features). */
export interface RotaryPositions {
  kind: 'rotary';
  /** The rotary settings of full-attention layers (each layer's own are LayerSpec.rope). */
  rope: RopeParameters;
}

/** Learned absolute positions (OPT): row `position + offset` of `table`. */
export interface LearnedPositions {
  kind: 'learned';
  table: TensorRef;
  /** OPT's OPTLearnedPositionalEmbedding offset: 2. */
  offset: number;
}

export interface ModelSpec {
  family: ModelFamily;
  /** config.json's model_type ('llama' | 'mistral' | 'qwen2' | 'opt'), or 'llama2.c'. */
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads without GQA (always for OPT). */
  numKvHeads: number;
  headDim: number;
  /** MLP width: llama intermediate_size, OPT ffn_dim. */
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  /** unitOffset (Gemma): RMSNorm scales by (1 + weight) instead of weight. */
  norm: { kind: 'rmsnorm' | 'layernorm'; eps: number; unitOffset?: boolean };
  /** llama: silu (SwiGLU MLP: down(silu(gate x) * up x)); OPT: relu (fc2(relu(fc1 x)));
   *  Gemma: gelu_tanh (down(gelu_tanh(gate x) * up x)). */
  activation: 'silu' | 'relu' | 'gelu_tanh';
  /** Gemma: the embeddings are multiplied by this (f32 √hidden_size); absent = 1. */
  embedScale?: number;
  /** Multiplier of q·k; absent = 1/√headDim (Gemma: query_pre_attn_scalar^−0.5). */
  attentionScale?: number;
  /** Gemma 2: attention scores and final logits become tanh(x / cap) · cap; absent or null = none. */
  attnSoftcap?: number | null;
  finalSoftcap?: number | null;
  positions: RotaryPositions | LearnedPositions;
  /** Pre-norm residual blocks (true for llama and most OPT); OPT-350m is post-norm (false). */
  normBeforeBlock: boolean;
  /** The window of the sliding-attention layers (LayerSpec.slidingWindow says which); null = none. */
  slidingWindow: number | null;
  /** Width of the token embedding (OPT word_embed_proj_dim; hiddenSize otherwise). */
  wordEmbedDim: number;
  embedTokens: TensorRef;
  /** OPT word_embed_proj_dim ≠ hidden_size: project_in [hidden, wordEmbedDim] after the
   *  embedding, project_out [wordEmbedDim, hidden] before the lm head (no biases). */
  projectIn: TensorRef | null;
  projectOut: TensorRef | null;
  /** Final norm before the lm head (null for OPT post-norm models). */
  finalNorm: NormSpec | null;
  tieWordEmbeddings: boolean;
  /** The lm head [vocab, wordEmbedDim]; null when tied: logits = embedTokens · x. */
  lmHead: TensorRef | null;
  layers: LayerSpec[];
  /** Every tensor outside the decoder layers, written back unchanged: embeddings, position
   *  table, final norm, projections, lm head (also when tied but stored), any other tensor. */
  globals: TensorRef[];
  bosTokenId: number | null;
  eosTokenId: number | null;
}

export interface SpecOptions {
  /** The checkpoint's tensors. When given, the spec is checked against them (every tensor it
   *  names exists with the expected shape), the name prefix is taken from them ('model.' or
   *  none), and tensors the spec does not name are listed as copied. */
  tensors?: Iterable<TensorRef>;
}

/** Build the spec of a Hugging Face model from its parsed config.json. */
export function modelSpecFromConfig(config: unknown, options: SpecOptions = {}): ModelSpec {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError('config.json is not a JSON object');
  }
  const c = new ConfigReader(config as Record<string, unknown>);
  const modelType = c.string('model_type', '');
  const tensors = options.tensors ? new Map([...options.tensors].map((t) => [t.name, t.shape])) : null;
  if (modelType !== 'opt' && !Object.hasOwn(LLAMA_VARIANTS, modelType) && !(GEMMA_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(
      `unsupported model_type ${JSON.stringify(modelType || null)} in config.json: supported are ${SUPPORTED_MODEL_TYPES.join(', ')} (and llama2.c .bin checkpoints)`,
    );
  }
  readGenericKeys(c);
  if ((GEMMA_MODEL_TYPES as readonly string[]).includes(modelType)) {
    // gemma-config.ts reads the config; the tensor names are llama's plus Gemma's extra norms.
    const g = readGemma(c, modelType);
    return finish(gemmaSpec(llamaSpec(g.dims, resolvePrefix(tensors, g.prefixes, 'embed_tokens.weight')), g, tensors), tensors);
  }
  return finish(modelType === 'opt' ? optFamily(c, tensors) : llamaFamily(c, modelType, tensors), tensors);
}

/** Dimensions of a llama-family model, as config.json or a llama2.c header give them: the spec's
 *  own fields, plus what becomes its norm, positions and tensor names. */
export interface LlamaDims extends Pick<ModelSpec,
  'modelType' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'intermediateSize' |
  'vocabSize' | 'maxPositions' | 'tieWordEmbeddings' | 'slidingWindow' | 'bosTokenId' | 'eosTokenId'> {
  rmsNormEps: number;
  /** Rotary settings by attention type (the same object for all when the config has one). */
  rope: Partial<Record<AttentionType, RopeParameters>>;
  /** Each layer's attention type (sliding ones use slidingWindow, when it is not null). */
  layerTypes: AttentionType[];
  /** q/k/v biases (Qwen2; llama/Qwen3 attention_bias) and o bias (llama/Qwen3 attention_bias). */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Qwen3's per-head q/k RMSNorm. */
  qkNorm: boolean;
  /** Phi-3's fused qkv_proj and gate_up_proj. */
  fused?: boolean;
}

/** The llama-family spec with HF tensor names ('model.layers.{i}.…'), tensors not yet checked. */
export function llamaSpec(d: LlamaDims, prefix = 'model.'): ModelSpec {
  checkDims(d.hiddenSize, d.numHeads, d.numKvHeads, d.headDim);
  const q = d.numHeads * d.headDim;
  const kv = d.numKvHeads * d.headDim;
  const layers: LayerSpec[] = [];
  for (let i = 0; i < d.numLayers; i++) {
    const p = `${prefix}layers.${i}.`;
    const lin = (name: string, role: LinearRole, out: number, inp: number, bias: boolean) =>
      linearSpec(p, name, role, out, inp, bias);
    const linears = d.fused ? phi3Linears((n, r, o, i) => lin(n, r, o, i, false), d.hiddenSize, q, kv, d.intermediateSize) : [
      lin('self_attn.q_proj', 'q', q, d.hiddenSize, d.qkvBias),
      lin('self_attn.k_proj', 'k', kv, d.hiddenSize, d.qkvBias),
      lin('self_attn.v_proj', 'v', kv, d.hiddenSize, d.qkvBias),
      lin('self_attn.o_proj', 'o', d.hiddenSize, q, d.oBias),
      lin('mlp.gate_proj', 'gate', d.intermediateSize, d.hiddenSize, d.mlpBias),
      lin('mlp.up_proj', 'up', d.intermediateSize, d.hiddenSize, d.mlpBias),
      lin('mlp.down_proj', 'down', d.hiddenSize, d.intermediateSize, d.mlpBias),
    ];
    const attnNorm = { weight: `${p}input_layernorm.weight`, bias: null };
    const mlpNorm = { weight: `${p}post_attention_layernorm.weight`, bias: null };
    const qNorm = d.qkNorm ? { weight: `${p}self_attn.q_norm.weight`, bias: null } : null;
    const kNorm = d.qkNorm ? { weight: `${p}self_attn.k_norm.weight`, bias: null } : null;
    const copied: TensorRef[] = [
      { name: attnNorm.weight, shape: [d.hiddenSize] },
      { name: mlpNorm.weight, shape: [d.hiddenSize] },
      ...(qNorm && kNorm ? [{ name: qNorm.weight, shape: [d.headDim] }, { name: kNorm.weight, shape: [d.headDim] }] : []),
      ...biasesOf(linears),
    ];
    const attentionType = d.layerTypes[i];
    const rope = d.rope[attentionType] ?? d.rope.full_attention;
    if (!rope) throw new ConfigError(`no rotary parameters for layer type ${attentionType}`);
    const slidingWindow = attentionType === 'sliding_attention' ? d.slidingWindow : null;
    layers.push({ index: i, prefix: p, linears, attnNorm, mlpNorm, qNorm, kNorm, attentionType, slidingWindow, rope, copied });
  }
  const embedTokens = { name: `${prefix}embed_tokens.weight`, shape: [d.vocabSize, d.hiddenSize] };
  const finalNorm = { weight: `${prefix}norm.weight`, bias: null };
  const lmHead = d.tieWordEmbeddings ? null : { name: 'lm_head.weight', shape: [d.vocabSize, d.hiddenSize] };
  const globals = [embedTokens, { name: finalNorm.weight, shape: [d.hiddenSize] }, ...(lmHead ? [lmHead] : [])];
  return {
    family: 'llama',
    modelType: d.modelType,
    hiddenSize: d.hiddenSize,
    numLayers: d.numLayers,
    numHeads: d.numHeads,
    numKvHeads: d.numKvHeads,
    headDim: d.headDim,
    intermediateSize: d.intermediateSize,
    vocabSize: d.vocabSize,
    maxPositions: d.maxPositions,
    norm: { kind: 'rmsnorm', eps: d.rmsNormEps },
    activation: 'silu',
    positions: { kind: 'rotary', rope: (d.rope.full_attention ?? layers[0]?.rope)! },
    normBeforeBlock: true,
    slidingWindow: layers.some((l) => l.slidingWindow !== null) ? d.slidingWindow : null,
    wordEmbedDim: d.hiddenSize,
    embedTokens,
    projectIn: null,
    projectOut: null,
    finalNorm,
    tieWordEmbeddings: d.tieWordEmbeddings,
    lmHead,
    layers,
    globals,
    bosTokenId: d.bosTokenId,
    eosTokenId: d.eosTokenId,
  };
}

function llamaFamily(c: ConfigReader, modelType: string, tensors: Map<string, number[]> | null): ModelSpec {
  const variant = LLAMA_VARIANTS[modelType];
  const defaults = variant.defaults;
  const act = c.string('hidden_act', 'silu');
  if (act !== 'silu') throw new ConfigError(`config.json: hidden_act ${JSON.stringify(act)} is not supported for ${modelType}: only "silu"`);
  const hiddenSize = c.positiveInt('hidden_size');
  const numHeads = c.positiveInt('num_attention_heads');
  const numLayers = c.positiveInt('num_hidden_layers');
  const headDim = c.positiveInt('head_dim', defaults.headDim ?? Math.floor(hiddenSize / numHeads));
  const maxPositions = c.positiveInt('max_position_embeddings', defaults.maxPositions);
  const v = variant.read(c, numLayers);
  const rope = readRope(c, {
    headDim, maxPositions, defaultTheta: defaults.theta, layerTypes: v.layerTypes, perLayerType: false,
    partialRotary: variant.partialRotary ?? false, ropeTypes: variant.ropeTypes, defaultOriginalMax: defaults.originalMaxPositions, modelType,
  });
  const dims: LlamaDims = {
    modelType,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: c.positiveInt('num_key_value_heads', numHeads),
    headDim,
    intermediateSize: c.positiveInt('intermediate_size'),
    vocabSize: c.positiveInt('vocab_size'),
    maxPositions,
    rmsNormEps: c.positiveNumber('rms_norm_eps', defaults.eps),
    rope,
    layerTypes: v.layerTypes,
    tieWordEmbeddings: c.boolean('tie_word_embeddings', false),
    qkvBias: v.qkvBias,
    oBias: v.oBias,
    mlpBias: v.mlpBias,
    qkNorm: v.qkNorm,
    fused: v.fused,
    slidingWindow: v.slidingWindow,
    bosTokenId: c.tokenId('bos_token_id'),
    eosTokenId: c.tokenId('eos_token_id'),
  };
  refuseUnreadKeys(c, modelType);
  return llamaSpec(dims, resolvePrefix(tensors, ['model.', ''], 'embed_tokens.weight'));
}

function optFamily(c: ConfigReader, tensors: Map<string, number[]> | null): ModelSpec {
  const act = c.string('activation_function', 'relu');
  if (act !== 'relu') throw new ConfigError(`activation_function ${JSON.stringify(act)} is not supported for opt: only "relu"`);
  const hidden = c.positiveInt('hidden_size');
  const heads = c.positiveInt('num_attention_heads');
  const ffn = c.positiveInt('ffn_dim');
  const vocab = c.positiveInt('vocab_size');
  const maxPositions = c.positiveInt('max_position_embeddings', 2048);
  const numLayers = c.positiveInt('num_hidden_layers');
  const wordEmbedDim = c.positiveInt('word_embed_proj_dim', hidden);
  const normBefore = c.boolean('do_layer_norm_before', true);
  const bias = c.boolean('enable_bias', true);
  const affine = c.boolean('layer_norm_elementwise_affine', true);
  const tie = c.boolean('tie_word_embeddings', true);
  const removeFinalNorm = c.boolean('_remove_final_layer_norm', false);
  const bosTokenId = c.tokenId('bos_token_id');
  const eosTokenId = c.tokenId('eos_token_id');
  refuseUnreadKeys(c, 'opt');
  checkDims(hidden, heads, heads, Math.floor(hidden / heads));
  if (hidden % heads !== 0) throw new ConfigError(`hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);
  const prefix = resolvePrefix(tensors, ['model.decoder.', 'decoder.'], 'embed_tokens.weight');
  const norm = (name: string): NormSpec => ({
    weight: affine ? `${name}.weight` : null,
    bias: affine && bias ? `${name}.bias` : null,
  });
  const normTensors = (n: NormSpec): TensorRef[] =>
    [n.weight, n.bias].filter((x): x is string => x !== null).map((name) => ({ name, shape: [hidden] }));
  const layers: LayerSpec[] = [];
  for (let i = 0; i < numLayers; i++) {
    const p = `${prefix}layers.${i}.`;
    const lin = (name: string, role: LinearRole, out: number, inp: number) => linearSpec(p, name, role, out, inp, bias);
    const linears = [
      lin('self_attn.k_proj', 'k', hidden, hidden),
      lin('self_attn.v_proj', 'v', hidden, hidden),
      lin('self_attn.q_proj', 'q', hidden, hidden),
      lin('self_attn.out_proj', 'o', hidden, hidden),
      lin('fc1', 'fc1', ffn, hidden),
      lin('fc2', 'fc2', hidden, ffn),
    ];
    const attnNorm = norm(`${p}self_attn_layer_norm`);
    const mlpNorm = norm(`${p}final_layer_norm`);
    layers.push({
      index: i, prefix: p, linears, attnNorm, mlpNorm, qNorm: null, kNorm: null,
      attentionType: 'full_attention', slidingWindow: null, rope: null,
      copied: [...normTensors(attnNorm), ...normTensors(mlpNorm), ...biasesOf(linears)],
    });
  }
  const embedTokens = { name: `${prefix}embed_tokens.weight`, shape: [vocab, wordEmbedDim] };
  const table = { name: `${prefix}embed_positions.weight`, shape: [maxPositions + 2, hidden] };
  const projected = wordEmbedDim !== hidden;
  const projectIn = projected ? { name: `${prefix}project_in.weight`, shape: [hidden, wordEmbedDim] } : null;
  const projectOut = projected ? { name: `${prefix}project_out.weight`, shape: [wordEmbedDim, hidden] } : null;
  const finalNorm = normBefore && !removeFinalNorm ? norm(`${prefix}final_layer_norm`) : null;
  const lmHead = tie ? null : { name: 'lm_head.weight', shape: [vocab, wordEmbedDim] };
  const globals = [
    embedTokens, table,
    ...(projectIn ? [projectIn] : []), ...(projectOut ? [projectOut] : []),
    ...(finalNorm ? normTensors(finalNorm) : []),
    ...(lmHead ? [lmHead] : []),
  ];
  return {
    family: 'opt',
    modelType: 'opt',
    hiddenSize: hidden,
    numLayers,
    numHeads: heads,
    numKvHeads: heads,
    headDim: hidden / heads,
    intermediateSize: ffn,
    vocabSize: vocab,
    maxPositions,
    norm: { kind: 'layernorm', eps: 1e-5 }, // nn.LayerNorm's default; OPT has no config key for it
    activation: 'relu',
    positions: { kind: 'learned', table, offset: 2 },
    normBeforeBlock: normBefore,
    slidingWindow: null,
    wordEmbedDim,
    embedTokens,
    projectIn,
    projectOut,
    finalNorm,
    tieWordEmbeddings: tie,
    lmHead,
    layers,
    globals,
    bosTokenId,
    eosTokenId,
  };
}

/** The linear `name` of the layer whose tensors start with `prefix`. */
function linearSpec(prefix: string, name: string, role: LinearRole, out: number, inp: number, bias: boolean): LinearSpec {
  return { name, role, weight: `${prefix}${name}.weight`, bias: bias ? `${prefix}${name}.bias` : null, out, in: inp };
}

function biasesOf(linears: LinearSpec[]): TensorRef[] {
  return linears.filter((l) => l.bias !== null).map((l) => ({ name: l.bias!, shape: [l.out] }));
}

function checkDims(hidden: number, heads: number, kvHeads: number, headDim: number): void {
  if (heads % kvHeads !== 0) {
    throw new ConfigError(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  }
  if (headDim <= 0 || headDim % 2 !== 0) {
    throw new ConfigError(`head dimension ${headDim} (hidden ${hidden} / heads ${heads}) must be a positive even number`);
  }
}

/** Which of the candidate prefixes the checkpoint uses (first one without tensors to look at). */
function resolvePrefix(tensors: Map<string, number[]> | null, candidates: string[], probe: string): string {
  if (!tensors) return candidates[0];
  for (const p of candidates) if (tensors.has(p + probe)) return p;
  throw new ConfigError(`the checkpoint has no ${candidates.map((p) => `"${p}${probe}"`).join(' or ')} tensor`);
}

/** Check the spec against the checkpoint's tensors and list the tensors it did not name. */
function finish(spec: ModelSpec, tensors: Map<string, number[]> | null): ModelSpec {
  if (!tensors) return spec;
  const named = new Set<string>();
  const expect = (name: string, shape: number[], hint = ''): void => {
    named.add(name);
    const got = tensors.get(name);
    if (!got) throw new ConfigError(`config.json implies a tensor "${name}" that the checkpoint does not have`);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new ConfigError(`tensor "${name}" has shape [${got.join(', ')}] but config.json implies [${shape.join(', ')}]${hint}`);
    }
  };
  for (const t of spec.globals) expect(t.name, t.shape);
  for (const layer of spec.layers) {
    // An attention projection of the wrong size is almost always head_dim: say which numbers made it.
    const heads = `: head_dim ${spec.headDim} × ${spec.numHeads} heads (${spec.numKvHeads} key/value)`;
    for (const l of layer.linears) expect(l.weight, [l.out, l.in], ['q', 'k', 'v', 'o'].includes(l.role) ? heads : '');
    for (const t of layer.copied) expect(t.name, t.shape);
  }
  // A tied head may still be stored; it is written back unchanged, the forward pass uses the embedding.
  if (spec.lmHead === null && tensors.has('lm_head.weight')) {
    spec.globals.push({ name: 'lm_head.weight', shape: tensors.get('lm_head.weight')! });
    named.add('lm_head.weight');
  }
  const layerOf = new Map(spec.layers.map((l) => [l.prefix, l]));
  const layerPrefix = spec.layers.length > 0 ? spec.layers[0].prefix.replace(/0\.$/, '') : null;
  for (const [name, shape] of tensors) {
    if (named.has(name)) continue;
    const m = layerPrefix && name.startsWith(layerPrefix) ? /^(\d+)\./.exec(name.slice(layerPrefix.length)) : null;
    const layer = m ? layerOf.get(`${layerPrefix}${m[1]}.`) : undefined;
    if (m && !layer) {
      throw new ConfigError(`tensor "${name}" belongs to layer ${m[1]} but config.json has ${spec.numLayers} layers`);
    }
    (layer ? layer.copied : spec.globals).push({ name, shape });
  }
  return spec;
}

// Every key of real config.json files (the fields of Llama-3.2-1B, SmolLM2-135M, TinyLlama-1.1B,
// Mistral-7B-v0.3, Qwen2.5-0.5B, Qwen3-0.6B, Phi-3-mini-4k, Phi-3.5-mini and OPT-125m, as transformers 4.x wrote them and as
// 5.x writes them) is either read — spoiling its value makes the spec change or the config be
// refused — or listed as ignored with a reason, and spoiling an ignored key changes nothing. Both
// layouts give the same spec. Keys this package has never seen, and values it does not compute,
// are refused by name.
import { describe, expect, it } from 'vitest';
import { IGNORED_CONFIG_KEYS } from '../../src/models/config-keys.js';
import { modelSpecFromConfig } from '../../src/models/config.js';

type Config = Record<string, unknown>;

const LLAMA_32_1B: Config = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
  head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
  mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
  rms_norm_eps: 1e-05, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
};
const SMOLLM2_135M: Config = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: 'silu',
  hidden_size: 576, initializer_range: 0.041666666666666664, intermediate_size: 1536, is_llama_config: true, max_position_embeddings: 8192,
  mlp_bias: false, model_type: 'llama', num_attention_heads: 9, num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1,
  rms_norm_eps: 1e-05, rope_interleaved: false, rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.42.3', use_cache: true, vocab_size: 49152,
};
const TINYLLAMA: Config = {
  architectures: ['LlamaForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02,
  intermediate_size: 5632, max_position_embeddings: 2048, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 22,
  num_key_value_heads: 4, pretraining_tp: 1, rms_norm_eps: 1e-05, rope_scaling: null, tie_word_embeddings: false, torch_dtype: 'bfloat16',
  transformers_version: '4.35.0', use_cache: true, vocab_size: 32000,
};
const MISTRAL_7B_V03: Config = {
  architectures: ['MistralForCausalLM'], attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096,
  initializer_range: 0.02, intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral', num_attention_heads: 32,
  num_hidden_layers: 32, num_key_value_heads: 8, rms_norm_eps: 1e-05, rope_theta: 1000000.0, sliding_window: null, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', transformers_version: '4.42.0.dev0', use_cache: true, vocab_size: 32768,
};
const QWEN25_05B: Config = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
  hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
  model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-06, rope_theta: 1000000.0,
  sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true,
  use_sliding_window: false, vocab_size: 151936, use_mrope: false,
};
const QWEN3_06B: Config = {
  architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: 'silu', hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960,
  max_window_layers: 28, model_type: 'qwen3', num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-06,
  rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.51.0', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};
const PHI3_MINI_4K: Config = {
  _name_or_path: 'Phi-3-mini-4k-instruct', architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  auto_map: { AutoConfig: 'configuration_phi3.Phi3Config', AutoModelForCausalLM: 'modeling_phi3.Phi3ForCausalLM' }, bos_token_id: 1,
  embd_pdrop: 0.0, eos_token_id: 32000, hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192,
  max_position_embeddings: 4096, model_type: 'phi3', num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32,
  original_max_position_embeddings: 4096, pad_token_id: 32000, resid_pdrop: 0.0, rms_norm_eps: 1e-05, rope_scaling: null,
  rope_theta: 10000.0, sliding_window: 2047, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.40.2',
  use_cache: true, vocab_size: 32064,
};
// Phi-3.5-mini's longrope factors: 48 each (head_dim 96 / 2); the values are the shape of the real
// ones (short ≈ 1…3, long ≈ 1…60), not a copy.
const PHI35_MINI: Config = {
  ...PHI3_MINI_4K, _name_or_path: 'Phi-3.5-mini-instruct', max_position_embeddings: 131072, sliding_window: 262144,
  rope_scaling: {
    long_factor: Array.from({ length: 48 }, (_, i) => 1 + (59 * i * i) / (47 * 47)),
    short_factor: Array.from({ length: 48 }, (_, i) => 1 + (2 * i) / 47),
    type: 'longrope',
  },
  transformers_version: '4.43.3',
};
const OPT_125M: Config = {
  _name_or_path: 'facebook/opt-125m', _remove_final_layer_norm: false, activation_dropout: 0.0, activation_function: 'relu',
  architectures: ['OPTForCausalLM'], attention_dropout: 0.0, bos_token_id: 2, do_layer_norm_before: true, dropout: 0.1, eos_token_id: 2,
  ffn_dim: 3072, hidden_size: 768, init_std: 0.02, layerdrop: 0.0, max_position_embeddings: 2048, model_type: 'opt',
  num_attention_heads: 12, num_hidden_layers: 12, pad_token_id: 1, prefix: '</s>', torch_dtype: 'float16', transformers_version: '4.21.0.dev0',
  use_cache: true, vocab_size: 50272, word_embed_proj_dim: 768,
};

/** The same config as transformers 5.x saves it: rope settings inside rope_parameters, dtype, layer_types. */
function v5(c: Config): Config {
  const { rope_theta, rope_scaling, torch_dtype, ...rest } = c;
  const out: Config = { ...rest, dtype: torch_dtype, transformers_version: '5.17.0' };
  if (c.model_type === 'opt') return out;
  out.rope_parameters = { rope_theta: rope_theta ?? 10000.0, rope_type: 'default', ...(rope_scaling as Config | null ?? {}) };
  if (c.model_type === 'phi3') {
    // Phi3Config standardizes "type" to rope_type and puts partial_rotary_factor in the dict.
    const { type, ...p } = out.rope_parameters as Config;
    out.rope_parameters = { ...p, ...(type ? { rope_type: type } : {}), partial_rotary_factor: 1.0 };
  }
  if (c.model_type === 'qwen2' || c.model_type === 'qwen3') {
    const window = c.use_sliding_window ? c.sliding_window : null;
    out.layer_types = Array.from({ length: c.num_hidden_layers as number }, (_, i) => (window !== null && i >= (c.max_window_layers as number) ? 'sliding_attention' : 'full_attention'));
  }
  return out;
}

const REAL: Array<[string, Config]> = [
  ['Llama-3.2-1B', LLAMA_32_1B], ['SmolLM2-135M', SMOLLM2_135M], ['TinyLlama-1.1B', TINYLLAMA], ['Mistral-7B-v0.3', MISTRAL_7B_V03],
  ['Qwen2.5-0.5B', QWEN25_05B], ['Qwen3-0.6B', QWEN3_06B], ['Phi-3-mini-4k', PHI3_MINI_4K], ['Phi-3.5-mini', PHI35_MINI], ['OPT-125m', OPT_125M],
];
const BOTH: Array<[string, Config]> = REAL.flatMap(([n, c]) => [[`${n} (4.x)`, c], [`${n} (5.x)`, v5(c)]] as Array<[string, Config]>);

/** A value of a different type: a key that is read is refused or changes what comes out. */
const SPOILED = { spoiled: 'by the test' };
const spec = (c: Config) => JSON.stringify(modelSpecFromConfig(c));

describe('every config.json key is read or deliberately ignored', () => {
  it.each(BOTH)('%s', (_name, config) => {
    const baseline = spec(config);
    for (const key of Object.keys(config)) {
      const spoiled = { ...config, [key]: SPOILED };
      if (Object.hasOwn(IGNORED_CONFIG_KEYS, key)) {
        expect(IGNORED_CONFIG_KEYS[key].length, key).toBeGreaterThan(10);
        expect(spec(spoiled), `ignored key ${key} changed the spec`).toBe(baseline);
        continue;
      }
      let changed: boolean;
      try {
        changed = spec(spoiled) !== baseline;
      } catch (e) {
        expect((e as Error).message, `refusing a spoiled ${key} must name it`).toContain(key);
        changed = true;
      }
      expect(changed, `key ${key} is neither read nor listed as ignored`).toBe(true);
    }
  });

  it.each(REAL)('%s: the 4.x and 5.x layouts give the same model', (_name, config) => {
    expect(spec(v5(config))).toBe(spec(config));
  });

  it('reads the rope settings of each family', () => {
    const llama = modelSpecFromConfig(v5(LLAMA_32_1B));
    expect(llama.positions).toEqual({ kind: 'rotary', rope: {
      type: 'llama3', theta: 500000, rotaryDim: 64, maxPositions: 131072, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192,
    } });
    expect(modelSpecFromConfig(TINYLLAMA).layers[0].rope).toEqual({ type: 'default', theta: 10000, rotaryDim: 64, maxPositions: 2048 });
    expect(modelSpecFromConfig(v5(SMOLLM2_135M)).layers[29].rope!.theta).toBe(100000);
    const qwen3 = modelSpecFromConfig(v5(QWEN3_06B));
    expect([qwen3.headDim, qwen3.layers[0].qNorm, qwen3.layers[0].linears[0].bias, qwen3.layers[27].slidingWindow]).toEqual([
      128, { weight: 'model.layers.0.self_attn.q_norm.weight', bias: null }, null, null,
    ]);
    expect(qwen3.layers[0].linears[0].out).toBe(16 * 128);
    // transformers' precedence: a top-level original_max_position_embeddings (Phi-3 style) over the
    // dict's; the dict's rope_theta over the top-level one; absent: max_position_embeddings.
    const yarn = { rope_type: 'yarn', factor: 2, original_max_position_embeddings: 512 };
    expect(modelSpecFromConfig({ ...TINYLLAMA, original_max_position_embeddings: 1024, rope_scaling: yarn }).layers[0].rope!.originalMaxPositions).toBe(1024);
    expect(modelSpecFromConfig({ ...TINYLLAMA, rope_scaling: yarn }).layers[0].rope!.originalMaxPositions).toBe(512);
    expect(modelSpecFromConfig({ ...TINYLLAMA, rope_scaling: { rope_type: 'yarn', factor: 2 } }).layers[0].rope!.originalMaxPositions).toBe(2048);
    expect(modelSpecFromConfig({ ...TINYLLAMA, rope_theta: 5, rope_parameters: { rope_type: 'default', rope_theta: 7 } }).layers[0].rope!.theta).toBe(7);
  });

  it('Phi-3: fused linears, longrope from "longrope" / legacy "su", the top-level original context, the window on every layer', () => {
    const mini = modelSpecFromConfig(v5(PHI3_MINI_4K));
    expect(mini.layers[0].linears.map((l) => [l.name, l.role, l.out, l.in, l.parts?.map((p) => `${p.role}${p.rows}`).join(' ') ?? ''])).toEqual([
      ['self_attn.qkv_proj', 'q', 3 * 3072, 3072, 'q3072 k3072 v3072'], ['self_attn.o_proj', 'o', 3072, 3072, ''],
      ['mlp.gate_up_proj', 'gate', 2 * 8192, 3072, 'gate8192 up8192'], ['mlp.down_proj', 'down', 3072, 8192, ''],
    ]);
    expect(mini.layers.map((l) => l.slidingWindow)).toEqual(Array(32).fill(2047));
    expect(mini.layers[0].rope).toEqual({ type: 'default', theta: 10000, rotaryDim: 96, maxPositions: 4096 });
    const gqa = modelSpecFromConfig({ ...PHI3_MINI_4K, num_key_value_heads: 8 }).layers[0].linears[0];
    expect([gqa.out, gqa.parts]).toEqual([3072 + 2 * 8 * 96, [{ role: 'q', rows: 3072 }, { role: 'k', rows: 768 }, { role: 'v', rows: 768 }]]);
    const long = modelSpecFromConfig(PHI35_MINI).layers[0].rope!;
    expect([long.type, long.originalMaxPositions, long.maxPositions, long.shortFactor!.length]).toEqual(['longrope', 4096, 131072, 48]);
    expect(modelSpecFromConfig({ ...PHI35_MINI, rope_scaling: { ...(PHI35_MINI.rope_scaling as Config), type: 'su' } }).layers[0].rope).toEqual(long);
    expect(modelSpecFromConfig({ ...PHI3_MINI_4K, partial_rotary_factor: 0.5 }).layers[0].rope!.rotaryDim).toBe(48);
    // Absent, original_max_position_embeddings is Phi3Config's 4096, not max_position_embeddings.
    expect(modelSpecFromConfig({ ...PHI35_MINI, original_max_position_embeddings: undefined }).layers[0].rope!.originalMaxPositions).toBe(4096);
    // Phi3Config's default sliding_window is None: no window anywhere.
    expect(modelSpecFromConfig({ ...PHI3_MINI_4K, sliding_window: undefined }).slidingWindow).toBeNull();
  });

  it('sliding windows per layer as transformers: Mistral all layers, Qwen from max_window_layers or layer_types', () => {
    expect(modelSpecFromConfig({ ...MISTRAL_7B_V03, sliding_window: 4096 }).layers.map((l) => l.slidingWindow)).toEqual(Array(32).fill(4096));
    // MistralConfig's default is 4096 (Mistral-7B-v0.1 style); null (v0.3) means none.
    expect(modelSpecFromConfig({ ...MISTRAL_7B_V03, sliding_window: undefined }).slidingWindow).toBe(4096);
    expect(modelSpecFromConfig(MISTRAL_7B_V03).slidingWindow).toBeNull();
    const q = modelSpecFromConfig({ ...QWEN25_05B, use_sliding_window: true, sliding_window: 512, max_window_layers: 20 });
    expect(q.layers.map((l) => l.slidingWindow)).toEqual([...Array(20).fill(null), ...Array(4).fill(512)]);
    const types = Array.from({ length: 28 }, (_, i) => (i % 2 ? 'sliding_attention' : 'full_attention'));
    const q3 = modelSpecFromConfig({ ...v5(QWEN3_06B), use_sliding_window: true, sliding_window: 64, layer_types: types });
    expect(q3.layers.map((l) => l.slidingWindow)).toEqual(types.map((t) => (t === 'sliding_attention' ? 64 : null)));
    // layer_types says sliding but use_sliding_window is false: transformers has no window, full attention.
    expect(modelSpecFromConfig({ ...v5(QWEN3_06B), layer_types: types }).layers.every((l) => l.slidingWindow === null)).toBe(true);
  });
});

describe('refused by name: values this package does not compute', () => {
  const refused: Array<[string, Config, RegExp]> = [
    ['an unknown key', { ...LLAMA_32_1B, attn_logit_softcapping: 50 }, /attn_logit_softcapping=50 not understood for model_type llama/],
    ['a key of another family', { ...MISTRAL_7B_V03, attention_bias: true }, /attention_bias=true not understood for model_type mistral/],
    ['a rope type that does not exist', { ...LLAMA_32_1B, rope_scaling: { rope_type: 'su', factor: 2 } }, /rope_type "su" is not a rope type/],
    ['a 4.x "type" that does not exist', { ...TINYLLAMA, rope_scaling: { type: 'ntk', factor: 2 } }, /type "ntk" is not a rope type/],
    ['llama3 without low_freq_factor', v5({ ...LLAMA_32_1B, rope_scaling: { rope_type: 'llama3', factor: 8, high_freq_factor: 4 } }), /rope_parameters is missing low_freq_factor, required by rope_type "llama3"/],
    ['a key the rope type does not use', { ...TINYLLAMA, rope_scaling: { type: 'linear', factor: 2, beta_fast: 8 } }, /beta_fast=8 not used by rope_type "linear"/],
    ['longrope factors of the wrong length', { ...TINYLLAMA, rope_scaling: { rope_type: 'longrope', short_factor: [1, 2], long_factor: [1, 2] } }, /short_factor has 2 entries, the rotary dimension needs 32/],
    ['partial_rotary_factor on llama', { ...TINYLLAMA, partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5 is not supported for llama/],
    ['per-layer-type rope dicts on qwen3', { ...v5({ ...QWEN3_06B, use_sliding_window: true, sliding_window: 64, max_window_layers: 14 }), rope_parameters: { full_attention: { rope_type: 'default' }, sliding_attention: { rope_type: 'default' } } }, /one entry per layer type \(full_attention, sliding_attention\), but transformers' qwen3 model reads a single rope dict/],
    ['per-layer-type keys where the model has one layer type', { ...v5(QWEN3_06B), rope_parameters: { full_attention: { rope_type: 'default' }, sliding_attention: { rope_type: 'default' } } }, /full_attention=.* not used by rope_type "default"/],
    ['rope_scaling and rope_parameters that disagree', { ...LLAMA_32_1B, rope_parameters: { rope_type: 'llama3', factor: 8 } }, /rope_scaling.factor=32 and rope_parameters.factor=8 disagree/],
    ['hidden_act other than silu', { ...QWEN3_06B, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported for qwen3/],
    ['quantized weights', { ...LLAMA_32_1B, quantization_config: { quant_method: 'gptq' } }, /quantization_config .* is not supported/],
    ['interleaved rope (nanotron)', { ...SMOLLM2_135M, rope_interleaved: true }, /rope_interleaved true is not supported/],
    ['multimodal rope on qwen2', { ...QWEN25_05B, use_mrope: true }, /use_mrope true is not supported/],
    ['layer_types of the wrong length', { ...v5(QWEN3_06B), layer_types: ['full_attention'] }, /layer_types must list/],
    ['a missing required field', { ...MISTRAL_7B_V03, hidden_size: undefined }, /missing hidden_size/],
    ['gemma (Gemma 1)', { model_type: 'gemma' }, /unsupported model_type "gemma"/],
    ['a rope type Phi3Config does not accept', { ...PHI3_MINI_4K, rope_scaling: { type: 'linear', factor: 2 } }, /type "linear" is not a rope type transformers knows for phi3 \(default, longrope\)/],
    ['attention_bias on phi3', { ...PHI3_MINI_4K, attention_bias: true }, /attention_bias true is not supported/],
    ['hidden_act other than silu on phi3', { ...PHI3_MINI_4K, hidden_act: 'gelu_pytorch_tanh' }, /hidden_act "gelu_pytorch_tanh" is not supported for phi3/],
  ];
  it.each(refused)('%s', (_n, config, message) => {
    expect(() => modelSpecFromConfig(config)).toThrow(message);
  });

  it('pretraining_tp > 1 and mlp_bias are computed, not refused', () => {
    expect(spec({ ...TINYLLAMA, pretraining_tp: 2 })).toBe(spec(TINYLLAMA));
    expect(modelSpecFromConfig({ ...TINYLLAMA, mlp_bias: true }).layers[0].linears[6].bias).toBe('model.layers.0.mlp.down_proj.bias');
  });

  it('head_dim inconsistent with the weights is refused naming the tensor', () => {
    const tiny = { ...QWEN3_06B, num_hidden_layers: 1, hidden_size: 8, intermediate_size: 8, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 5 };
    const s = modelSpecFromConfig(tiny);
    const tensors = [...s.globals, ...s.layers.flatMap((l) => [...l.linears.map((x) => ({ name: x.weight, shape: [x.out, x.in] })), ...l.copied])];
    expect(() => modelSpecFromConfig({ ...tiny, head_dim: 8 }, { tensors })).toThrow(/q_proj.weight" has shape \[8, 8\] but config.json implies \[16, 8\]: head_dim 8 × 2 heads \(1 key\/value\)/);
  });
});

// Gemma 2 and Gemma 3: the fields of Gemma-2-2B, Gemma-3-1B (gemma3_text) and Gemma-3-4B (the
// gemma3 multimodal wrapper, whose text_config relies on Gemma3TextConfig's defaults), as
// transformers 4.x wrote them and as 5.x writes them (rope_parameters, per layer type for Gemma 3;
// layer_types; dtype). Every key, and every key of text_config, is read or ignored with a reason.
const GEMMA2_2B: Config = {
  architectures: ['Gemma2ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: 50.0, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: 1, final_logit_softcapping: 30.0, head_dim: 256, hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh', hidden_size: 2304, initializer_range: 0.02, intermediate_size: 9216, max_position_embeddings: 8192,
  model_type: 'gemma2', num_attention_heads: 8, num_hidden_layers: 26, num_key_value_heads: 4, pad_token_id: 0, query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-06, rope_theta: 10000.0, sliding_window: 4096, torch_dtype: 'float32', transformers_version: '4.42.4', use_cache: true,
  vocab_size: 256000,
};
const GEMMA3_1B: Config = {
  architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: 2,
  cache_implementation: 'hybrid', eos_token_id: 1, final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh',
  hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-06,
  rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6,
  torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0', use_cache: true, vocab_size: 262144,
};
const GEMMA3_4B: Config = {
  architectures: ['Gemma3ForConditionalGeneration'], boi_token_index: 255999, eoi_token_index: 256000, eos_token_id: [1, 106],
  image_token_index: 262144, initializer_range: 0.02, mm_tokens_per_image: 256, model_type: 'gemma3',
  text_config: {
    hidden_size: 2560, intermediate_size: 10240, model_type: 'gemma3_text', num_hidden_layers: 34,
    rope_scaling: { factor: 8.0, rope_type: 'linear' }, sliding_window: 1024,
  },
  torch_dtype: 'bfloat16', transformers_version: '4.50.0.dev0',
  vision_config: { hidden_size: 1152, image_size: 896, intermediate_size: 4304, model_type: 'siglip_vision_model', num_attention_heads: 16, num_hidden_layers: 27, patch_size: 14, vision_use_head: false },
};
const gemmaTypes = (n: number, pattern: number) => Array.from({ length: n }, (_, i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention'));
const GEMMA3_270M: Config = { // as transformers 4.55 saved it: layer_types and _sliding_window_pattern
  _sliding_window_pattern: 6, architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null,
  bos_token_id: 2, eos_token_id: 1, final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 640,
  initializer_range: 0.02, intermediate_size: 2048, layer_types: gemmaTypes(18, 6), max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 18, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-06,
  rope_local_base_freq: 10000.0, rope_scaling: null, rope_theta: 1000000.0, sliding_window: 512, torch_dtype: 'bfloat16',
  transformers_version: '4.55.0.dev0', use_bidirectional_attention: false, use_cache: true, vocab_size: 262144,
};
const GEMMA2_2B_V5: Config = (({ rope_theta: _, torch_dtype: _d, ...c }) => ({
  ...c, dtype: 'float32', transformers_version: '5.17.0', rope_parameters: { rope_type: 'default', rope_theta: 10000.0 }, layer_types: gemmaTypes(26, 2),
}))(GEMMA2_2B);
/** Gemma 3's 5.x text fields: one rope dict per layer type, layer_types, no local base or pattern. */
function gemma3TextV5({ rope_theta, rope_local_base_freq, rope_scaling, sliding_window_pattern, torch_dtype: _, ...c }: Config): Config {
  return {
    ...c, layer_types: gemmaTypes(c.num_hidden_layers as number, (sliding_window_pattern as number | undefined) ?? 6), use_bidirectional_attention: false,
    rope_parameters: {
      full_attention: { rope_type: 'default', rope_theta: rope_theta ?? 1000000.0, ...(rope_scaling as Config | null ?? {}) },
      sliding_attention: { rope_type: 'default', rope_theta: rope_local_base_freq ?? 10000.0 },
    },
  };
}
const GEMMA3_1B_V5: Config = { ...gemma3TextV5(GEMMA3_1B), dtype: 'bfloat16', transformers_version: '5.17.0' };
const GEMMA3_4B_V5: Config = (({ torch_dtype: _, ...c }) => ({
  ...c, dtype: 'bfloat16', transformers_version: '5.17.0', text_config: gemma3TextV5({ num_hidden_layers: 34, ...(c.text_config as Config) }),
}))(GEMMA3_4B);

const GEMMA3_270M_V5: Config = { ...gemma3TextV5(GEMMA3_270M), dtype: 'bfloat16', transformers_version: '5.17.0' };
const GEMMAS: Array<[string, Config, Config]> = [
  ['Gemma-2-2B', GEMMA2_2B, GEMMA2_2B_V5], ['Gemma-3-1B', GEMMA3_1B, GEMMA3_1B_V5], ['Gemma-3-270M', GEMMA3_270M, GEMMA3_270M_V5],
  ['Gemma-3-4B (gemma3)', GEMMA3_4B, GEMMA3_4B_V5],
];

/** Spoil each key of `keys` in a copy made by `put`: ignored keys change nothing, the others change the spec or are refused by name. */
function walk(config: Config, keys: string[], put: (key: string, value: unknown) => Config): void {
  const baseline = spec(config);
  for (const key of keys) {
    if (Object.hasOwn(IGNORED_CONFIG_KEYS, key)) {
      expect(spec(put(key, SPOILED)), `ignored key ${key} changed the spec`).toBe(baseline);
      continue;
    }
    let changed: boolean;
    try {
      changed = spec(put(key, SPOILED)) !== baseline;
    } catch (e) {
      expect((e as Error).message, `refusing a spoiled ${key} must name it`).toContain(key);
      changed = true;
    }
    expect(changed, `key ${key} is neither read nor listed as ignored`).toBe(true);
  }
}

describe('Gemma configs: every key read or deliberately ignored, both layouts', () => {
  it.each(GEMMAS.flatMap(([n, v4, v5c]) => [[`${n} (4.x)`, v4], [`${n} (5.x)`, v5c]] as Array<[string, Config]>))('%s', (_n, config) => {
    walk(config, Object.keys(config), (k, v) => ({ ...config, [k]: v }));
    const text = config.text_config as Config | undefined;
    if (text) walk(config, Object.keys(text), (k, v) => ({ ...config, text_config: { ...text, [k]: v } }));
  });

  it.each(GEMMAS)('%s: the 4.x and 5.x layouts give the same model', (_n, v4, v5c) => {
    expect(spec(v5c)).toBe(spec(v4));
  });

  it('reads what each Gemma computes', () => {
    const g2 = modelSpecFromConfig(GEMMA2_2B);
    expect([g2.family, g2.activation, g2.norm, g2.embedScale, g2.attentionScale, g2.attnSoftcap, g2.finalSoftcap, g2.tieWordEmbeddings]).toEqual([
      'gemma', 'gelu_tanh', { kind: 'rmsnorm', eps: 1e-6, unitOffset: true }, 48, 1 / 16, 50, 30, true,
    ]);
    expect(g2.layers.slice(0, 3).map((l) => l.slidingWindow)).toEqual([4096, null, 4096]);
    expect([g2.layers[0].mlpNorm.weight, g2.layers[0].postAttnNorm!.weight, g2.layers[0].postMlpNorm!.weight, g2.layers[0].qNorm]).toEqual([
      'model.layers.0.pre_feedforward_layernorm.weight', 'model.layers.0.post_attention_layernorm.weight', 'model.layers.0.post_feedforward_layernorm.weight', null,
    ]);
    const g3 = modelSpecFromConfig(GEMMA3_1B_V5);
    expect(g3.layers.map((l) => l.slidingWindow)).toEqual(gemmaTypes(26, 6).map((t) => (t === 'sliding_attention' ? 512 : null)));
    expect([g3.layers[0].rope!.theta, g3.layers[5].rope!.theta, g3.attnSoftcap, g3.finalSoftcap, g3.embedScale]).toEqual([10000, 1e6, null, null, Math.fround(Math.sqrt(1152))]);
    expect(g3.layers[0].qNorm).toEqual({ weight: 'model.layers.0.self_attn.q_norm.weight', bias: null });
    // Gemma-3-4B: Gemma3TextConfig's defaults (8 heads, 4 key/value heads, head_dim 256, vocab 262208);
    // linear rope factor 8 on the global layers only; the hub's tensor prefix.
    const g4 = modelSpecFromConfig(GEMMA3_4B);
    expect([g4.modelType, g4.numHeads, g4.numKvHeads, g4.headDim, g4.vocabSize, g4.eosTokenId]).toEqual(['gemma3', 8, 4, 256, 262208, 1]);
    expect([g4.layers[5].rope, g4.layers[0].rope]).toEqual([
      { type: 'linear', theta: 1e6, rotaryDim: 256, maxPositions: 131072, factor: 8 }, { type: 'default', theta: 10000, rotaryDim: 256, maxPositions: 131072 },
    ]);
  });

  it('finds the text model under the prefixes transformers writes, and refuses a vision tower', () => {
    const tiny: Config = { ...GEMMA3_4B, text_config: { ...(GEMMA3_4B.text_config as Config), hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4, vocab_size: 5 } };
    const names = (prefix: string) => {
      const s = modelSpecFromConfig({ ...tiny, text_config: { ...(tiny.text_config as Config) } });
      const all = [...s.globals, ...s.layers.flatMap((l) => [...l.linears.map((x) => ({ name: x.weight, shape: [x.out, x.in] })), ...l.copied])];
      return all.map((t) => ({ ...t, name: t.name.replace(/^language_model\.model\./, prefix) }));
    };
    for (const prefix of ['language_model.model.', 'model.language_model.']) {
      expect(modelSpecFromConfig(tiny, { tensors: names(prefix) }).embedTokens.name).toBe(`${prefix}embed_tokens.weight`);
    }
    const vision = [...names('model.language_model.'), { name: 'model.vision_tower.vision_model.post_layernorm.weight', shape: [8] }];
    expect(() => modelSpecFromConfig(tiny, { tensors: vision })).toThrow(/holds a vision tower .* prunes Gemma 3's text model only/);
  });

  it('a top-level tie_word_embeddings that agrees with text_config is the same model', () => {
    expect(spec({ ...GEMMA3_4B, tie_word_embeddings: true })).toBe(spec(GEMMA3_4B));
  });

  it('a text_config written out in full (every PretrainedConfig default, as 4.x sub-configs were) is the same model', () => {
    const defaults: Config = {
      return_dict: true, output_hidden_states: false, output_attentions: false, torchscript: false, torch_dtype: null, use_bfloat16: false,
      tf_legacy_loss: false, pruned_heads: {}, tie_word_embeddings: true, chunk_size_feed_forward: 0, is_encoder_decoder: false, is_decoder: false,
      cross_attention_hidden_size: null, add_cross_attention: false, tie_encoder_decoder: false, max_length: 20, min_length: 0, do_sample: false,
      early_stopping: false, num_beams: 1, num_beam_groups: 1, diversity_penalty: 0.0, temperature: 1.0, top_k: 50, top_p: 1.0, typical_p: 1.0,
      repetition_penalty: 1.0, length_penalty: 1.0, no_repeat_ngram_size: 0, encoder_no_repeat_ngram_size: 0, bad_words_ids: null,
      num_return_sequences: 1, output_scores: false, return_dict_in_generate: false, forced_bos_token_id: null, forced_eos_token_id: null,
      remove_invalid_values: false, exponential_decay_length_penalty: null, suppress_tokens: null, begin_suppress_tokens: null, architectures: null,
      finetuning_task: null, id2label: { 0: 'LABEL_0', 1: 'LABEL_1' }, label2id: { LABEL_0: 0, LABEL_1: 1 }, tokenizer_class: null, prefix: null,
      sep_token_id: null, decoder_start_token_id: null, task_specific_params: null, problem_type: null, _name_or_path: '',
      _attn_implementation_autoset: true, initializer_range: 0.02, attention_dropout: 0.0, use_cache: true, cache_implementation: 'hybrid',
    };
    expect(spec({ ...GEMMA3_4B, text_config: { ...(GEMMA3_4B.text_config as Config), ...defaults } })).toBe(spec(GEMMA3_4B));
  });

  const refused: Array<[string, Config, RegExp]> = [
    ['another activation', { ...GEMMA2_2B, hidden_activation: 'gelu' }, /hidden_activation "gelu" is not supported for gemma2/],
    ['bidirectional attention (EmbeddingGemma)', { ...GEMMA3_1B_V5, use_bidirectional_attention: true }, /use_bidirectional_attention true is not supported/],
    ['bidirectional attention on Gemma 2', { ...GEMMA2_2B_V5, use_bidirectional_attention: true }, /use_bidirectional_attention true is not supported/],
    ['Gemma 2 without its shape (the class defaults changed between versions)', { ...GEMMA2_2B, query_pre_attn_scalar: undefined }, /missing query_pre_attn_scalar/],
    ['a text_config of another model', { ...GEMMA3_4B, text_config: { model_type: 'llama' } }, /text_config: model_type "llama" is not the text model of gemma3/],
    ['a local rope base that disagrees with rope_parameters', { ...GEMMA3_1B_V5, rope_local_base_freq: 5 }, /rope_local_base_freq 5 disagrees/],
    ['a wrapper tie flag that disagrees with text_config\'s', { ...GEMMA3_4B, tie_word_embeddings: false }, /tie_word_embeddings false disagrees with text_config.tie_word_embeddings true/],
    ['sliding_window_pattern on Gemma 2', { ...GEMMA2_2B, sliding_window_pattern: 3 }, /sliding_window_pattern=3 not understood for model_type gemma2/],
  ];
  it('Gemma 2 as transformers 4.57 / 5.x save it (use_bidirectional_attention null or false) is the causal model', () => {
    expect(spec({ ...GEMMA2_2B_V5, use_bidirectional_attention: null })).toBe(spec(GEMMA2_2B_V5));
    expect(spec({ ...GEMMA2_2B_V5, use_bidirectional_attention: false })).toBe(spec(GEMMA2_2B_V5));
  });

  it.each(refused)('refuses %s', (_n, config, message) => {
    expect(() => modelSpecFromConfig(config)).toThrow(message);
  });
});

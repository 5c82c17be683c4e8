// config.json → ModelSpec for each supported family, against shapes worked out by hand from
// the transformers modeling files, and the errors for what is not supported.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/io/errors.js';
import { modelSpecFromConfig, type ModelSpec, type TensorRef } from '../../src/models/config.js';

const QWEN2_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936,
  max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0, tie_word_embeddings: true,
  use_sliding_window: false, sliding_window: 32768, hidden_act: 'silu', bos_token_id: 151643, eos_token_id: 151643,
};
const MISTRAL_7B = {
  model_type: 'mistral', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 8, vocab_size: 32000, max_position_embeddings: 32768, rms_norm_eps: 1e-5, rope_theta: 10000.0,
  sliding_window: 4096, tie_word_embeddings: false,
};
const OPT_125M = {
  model_type: 'opt', hidden_size: 768, ffn_dim: 3072, num_attention_heads: 12, num_hidden_layers: 12,
  max_position_embeddings: 2048, vocab_size: 50272, word_embed_proj_dim: 768, do_layer_norm_before: true,
  activation_function: 'relu', enable_bias: true, bos_token_id: 2, eos_token_id: 2,
};
const OPT_350M = { ...OPT_125M, hidden_size: 1024, ffn_dim: 4096, num_attention_heads: 16, num_hidden_layers: 24, word_embed_proj_dim: 512, do_layer_norm_before: false };

/** Every tensor a spec names, with its shape. */
function named(spec: ModelSpec): TensorRef[] {
  const out = [...spec.globals];
  for (const l of spec.layers) {
    out.push(...l.linears.map((x) => ({ name: x.weight, shape: [x.out, x.in] })), ...l.copied);
  }
  return out;
}

describe('ModelSpec from config.json', () => {
  it('qwen2: GQA, q/k/v biases but no o bias, tied embeddings, no sliding window', () => {
    const s = modelSpecFromConfig(QWEN2_05B);
    expect(s.family).toBe('llama');
    expect([s.headDim, s.numKvHeads, s.slidingWindow, s.lmHead, s.tieWordEmbeddings]).toEqual([64, 2, null, null, true]);
    expect(s.positions).toEqual({ kind: 'rotary', rope: { type: 'default', theta: 1e6, rotaryDim: 64, maxPositions: 32768 } });
    const l = s.layers[23];
    expect(l.linears.map((x) => [x.name, x.out, x.in, x.bias])).toEqual([
      ['self_attn.q_proj', 896, 896, 'model.layers.23.self_attn.q_proj.bias'],
      ['self_attn.k_proj', 128, 896, 'model.layers.23.self_attn.k_proj.bias'],
      ['self_attn.v_proj', 128, 896, 'model.layers.23.self_attn.v_proj.bias'],
      ['self_attn.o_proj', 896, 896, null],
      ['mlp.gate_proj', 4864, 896, null], ['mlp.up_proj', 4864, 896, null], ['mlp.down_proj', 896, 4864, null],
    ]);
    expect(l.copied.map((t) => t.name)).toEqual([
      'model.layers.23.input_layernorm.weight', 'model.layers.23.post_attention_layernorm.weight',
      'model.layers.23.self_attn.q_proj.bias', 'model.layers.23.self_attn.k_proj.bias', 'model.layers.23.self_attn.v_proj.bias',
    ]);
    expect(s.norm).toEqual({ kind: 'rmsnorm', eps: 1e-6 });
  });

  it('mistral: sliding window kept, untied lm_head', () => {
    const s = modelSpecFromConfig(MISTRAL_7B);
    expect([s.slidingWindow, s.headDim, s.numKvHeads]).toEqual([4096, 128, 8]);
    expect(s.lmHead).toEqual({ name: 'lm_head.weight', shape: [32000, 4096] });
    expect(s.globals.map((g) => g.name)).toEqual(['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight']);
  });

  it('llama: explicit head_dim, attention_bias on all four, eos list, llama3 rope_scaling read', () => {
    const s = modelSpecFromConfig({
      model_type: 'llama', hidden_size: 64, intermediate_size: 100, num_hidden_layers: 1, num_attention_heads: 4,
      head_dim: 32, vocab_size: 10, attention_bias: true, eos_token_id: [7, 8],
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 512 },
    });
    expect(s.layers[0].linears.map((x) => [x.out, x.in, x.bias !== null])).toEqual([
      [128, 64, true], [128, 64, true], [128, 64, true], [64, 128, true], [100, 64, false], [100, 64, false], [64, 100, false],
    ]);
    expect(s.eosTokenId).toBe(7);
    expect(s.positions).toEqual({ kind: 'rotary', rope: {
      type: 'llama3', theta: 10000, rotaryDim: 32, maxPositions: 2048, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 512,
    } });
    expect(s.norm.eps).toBe(1e-6); // LlamaConfig's default
  });

  it('opt-125m: learned positions with offset 2, LayerNorm, biases, authors\' order k, v, q, out, fc1, fc2', () => {
    const s = modelSpecFromConfig(OPT_125M);
    expect(s.family).toBe('opt');
    expect(s.positions).toEqual({ kind: 'learned', table: { name: 'model.decoder.embed_positions.weight', shape: [2050, 768] }, offset: 2 });
    expect(s.norm).toEqual({ kind: 'layernorm', eps: 1e-5 });
    expect([s.activation, s.normBeforeBlock, s.lmHead, s.projectIn, s.headDim]).toEqual(['relu', true, null, null, 64]);
    const l = s.layers[0];
    expect(l.linears.map((x) => [x.name, x.role, x.out, x.in])).toEqual([
      ['self_attn.k_proj', 'k', 768, 768], ['self_attn.v_proj', 'v', 768, 768], ['self_attn.q_proj', 'q', 768, 768],
      ['self_attn.out_proj', 'o', 768, 768], ['fc1', 'fc1', 3072, 768], ['fc2', 'fc2', 768, 3072],
    ]);
    expect(l.linears.every((x) => x.bias === x.weight.replace(/weight$/, 'bias'))).toBe(true);
    expect(l.attnNorm).toEqual({ weight: 'model.decoder.layers.0.self_attn_layer_norm.weight', bias: 'model.decoder.layers.0.self_attn_layer_norm.bias' });
    expect(l.mlpNorm.weight).toBe('model.decoder.layers.0.final_layer_norm.weight');
    expect(s.finalNorm).toEqual({ weight: 'model.decoder.final_layer_norm.weight', bias: 'model.decoder.final_layer_norm.bias' });
    expect(l.copied.length).toBe(4 + 6);
  });

  it('opt-350m: post-norm, word_embed_proj_dim 512 with project_in/out, no final norm', () => {
    const s = modelSpecFromConfig(OPT_350M);
    expect([s.normBeforeBlock, s.finalNorm, s.wordEmbedDim]).toEqual([false, null, 512]);
    expect(s.embedTokens.shape).toEqual([50272, 512]);
    expect(s.projectIn).toEqual({ name: 'model.decoder.project_in.weight', shape: [1024, 512] });
    expect(s.projectOut).toEqual({ name: 'model.decoder.project_out.weight', shape: [512, 1024] });
  });

  it('checks the spec against the tensors: prefix, missing, wrong shapes, extras, tied heads stored', () => {
    const opt = { ...OPT_125M, num_hidden_layers: 2, hidden_size: 8, ffn_dim: 16, num_attention_heads: 2, vocab_size: 11, max_position_embeddings: 6, word_embed_proj_dim: 8 };
    const tensors = named(modelSpecFromConfig(opt)).map((t) => ({ name: t.name.replace(/^model\./, ''), shape: t.shape }));
    const s = modelSpecFromConfig(opt, { tensors });
    expect(s.embedTokens.name).toBe('decoder.embed_tokens.weight');
    expect(s.layers[1].prefix).toBe('decoder.layers.1.');

    const extras = [...tensors, { name: 'decoder.layers.1.self_attn.rotary.inv_freq', shape: [4] }, { name: 'lm_head.weight', shape: [11, 8] }, { name: 'decoder.version', shape: [1] }];
    const s2 = modelSpecFromConfig(opt, { tensors: extras });
    expect(s2.layers[1].copied.at(-1)!.name).toBe('decoder.layers.1.self_attn.rotary.inv_freq');
    expect(s2.globals.map((g) => g.name)).toContain('lm_head.weight');
    expect(s2.globals.map((g) => g.name)).toContain('decoder.version');
    expect(s2.lmHead).toBeNull(); // tied: the forward pass uses the embedding

    expect(() => modelSpecFromConfig(opt, { tensors: tensors.filter((t) => !t.name.endsWith('fc2.bias')) })).toThrow(/implies a tensor "decoder.layers.0.fc2.bias"/);
    expect(() => modelSpecFromConfig(opt, { tensors: tensors.map((t) => (t.name.endsWith('0.fc1.weight') ? { ...t, shape: [8, 16] } : t)) })).toThrow(/shape \[8, 16\] but config.json implies \[16, 8\]/);
    expect(() => modelSpecFromConfig(opt, { tensors: [...tensors, { name: 'decoder.layers.7.fc1.weight', shape: [1] }] })).toThrow(/layer 7 but config.json has 2 layers/);
    expect(() => modelSpecFromConfig(opt, { tensors: [] })).toThrow(/no "model.decoder.embed_tokens.weight" or "decoder.embed_tokens.weight"/);
    // Every tensor is accounted for exactly once.
    const all = named(s2).map((t) => t.name).sort();
    expect(all).toEqual(extras.map((t) => t.name).sort());
  });

  it('names what is supported when the architecture is not', () => {
    expect(() => modelSpecFromConfig({ model_type: 'gpt2' })).toThrow(/unsupported model_type "gpt2".*llama, mistral, qwen2, qwen3, .*gemma2, gemma3_text, gemma3, .*opt/);
    expect(() => modelSpecFromConfig({})).toThrow(ConfigError);
    expect(() => modelSpecFromConfig([])).toThrow(/not a JSON object/);
    expect(() => modelSpecFromConfig({ ...MISTRAL_7B, hidden_act: 'gelu' })).toThrow(/hidden_act "gelu"/);
    expect(() => modelSpecFromConfig({ ...OPT_125M, activation_function: 'gelu' })).toThrow(/activation_function/);
    expect(() => modelSpecFromConfig({ ...MISTRAL_7B, hidden_size: '4096' })).toThrow(/hidden_size must be a positive integer/);
    expect(() => modelSpecFromConfig({ ...MISTRAL_7B, num_key_value_heads: 5 })).toThrow(/not a multiple of num_key_value_heads/);
    expect(() => modelSpecFromConfig({ ...MISTRAL_7B, num_hidden_layers: undefined })).toThrow(/missing num_hidden_layers/);
    expect(() => modelSpecFromConfig({ ...MISTRAL_7B, rms_norm_eps: -1 })).toThrow(/rms_norm_eps/);
    expect(() => modelSpecFromConfig({ ...OPT_125M, hidden_size: 770 })).toThrow(ConfigError);
  });
});

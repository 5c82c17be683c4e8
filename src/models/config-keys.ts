// config.json keys that never change the forward pass, each with the reason, and the rule for the
// rest: every key a family reads is read by its code (ConfigReader records it); any key left over
// that is not listed here is refused by name. A key this package has never seen may change the
// computation in transformers (a new variant, a quantization), and a silently wrong model is the
// worst failure a pruner can have; a user who hits a harmless one gets a message naming it, and
// the key is added here with its reason.
import { ConfigError } from '../io/errors.js';
import type { ConfigReader } from './config-reader.js';

const METADATA = 'metadata: names, versions, provenance; no effect on the weights or the computation';
const TRAINING = 'training only: dropout and initialization do nothing in an evaluation forward pass';
const GENERATION = 'generation settings (sampling, beam search, caching): dsnot runs whole sequences, no decoding';
const TOKENS = 'token ids the tokenizer and generation use; the forward pass reads ids, not these';
const DTYPE = 'storage dtype: dsnot reads every tensor in its stored dtype (safetensors header) and computes in f32';
const IMAGE = 'image inputs of a multimodal model: the text model dsnot prunes and evaluates never reads them';
const RUNTIME = 'a transformers runtime choice (attention kernel, output flags): same numbers, different implementation';

/** Keys ignored in every family, with the reason. */
export const IGNORED_CONFIG_KEYS: Readonly<Record<string, string>> = {
  architectures: `${METADATA} (model_type selects the family)`,
  _name_or_path: METADATA,
  transformers_version: METADATA,
  tokenizer_class: METADATA,
  auto_map: `${METADATA} (remote-code class names, e.g. in Phi-3 configs; model_type selects transformers' own class)`,
  is_llama_config: `${METADATA} (nanotron export marker)`,
  finetuning_task: METADATA,
  'transformers.js_config': `${METADATA} (ONNX runtime settings of transformers.js, e.g. in SmolLM2 configs)`,
  unsloth_fixed: `${METADATA} (unsloth upload marker)`,
  unsloth_version: `${METADATA} (unsloth upload marker)`,
  id2label: `${METADATA} (classification heads only)`,
  label2id: `${METADATA} (classification heads only)`,
  problem_type: `${METADATA} (classification heads only)`,
  task_specific_params: GENERATION,
  prefix: `${METADATA} (a text prefix for pipelines)`,
  torch_dtype: DTYPE,
  dtype: DTYPE,
  use_bfloat16: DTYPE,
  initializer_range: TRAINING,
  init_std: TRAINING,
  attention_dropout: TRAINING,
  resid_pdrop: `${TRAINING} (Phi-3's residual dropout)`,
  embd_pdrop: `${TRAINING} (Phi-3's embedding dropout)`,
  dropout: TRAINING,
  activation_dropout: TRAINING,
  hidden_dropout: TRAINING,
  layerdrop: TRAINING,
  gradient_checkpointing: TRAINING,
  tf_legacy_loss: `${TRAINING} (a TensorFlow loss flag, written in full sub-config dicts such as a gemma3 text_config)`,
  use_cache: GENERATION,
  max_length: GENERATION,
  min_length: GENERATION,
  do_sample: GENERATION,
  early_stopping: GENERATION,
  num_beams: GENERATION,
  num_beam_groups: GENERATION,
  diversity_penalty: GENERATION,
  temperature: GENERATION,
  top_k: GENERATION,
  top_p: GENERATION,
  typical_p: GENERATION,
  repetition_penalty: GENERATION,
  length_penalty: GENERATION,
  no_repeat_ngram_size: GENERATION,
  encoder_no_repeat_ngram_size: GENERATION,
  bad_words_ids: GENERATION,
  num_return_sequences: GENERATION,
  output_scores: GENERATION,
  return_dict_in_generate: GENERATION,
  forced_bos_token_id: GENERATION,
  forced_eos_token_id: GENERATION,
  remove_invalid_values: GENERATION,
  exponential_decay_length_penalty: GENERATION,
  suppress_tokens: GENERATION,
  begin_suppress_tokens: GENERATION,
  chunk_size_feed_forward: `${RUNTIME} (chunking a feed-forward layer gives the same numbers)`,
  pad_token_id: TOKENS,
  sep_token_id: TOKENS,
  decoder_start_token_id: TOKENS,
  output_attentions: RUNTIME,
  output_hidden_states: RUNTIME,
  return_dict: RUNTIME,
  torchscript: RUNTIME,
  _attn_implementation: RUNTIME,
  attn_implementation: RUNTIME,
  _attn_implementation_autoset: RUNTIME,
  is_decoder: `${RUNTIME} (every supported model is a causal decoder)`,
  tie_encoder_decoder: `${RUNTIME} (decoder-only models have no encoder to tie)`,
  cross_attention_hidden_size: `${RUNTIME} (only used with add_cross_attention, which is refused)`,
  cache_implementation: `${GENERATION} (Gemma's "hybrid" key/value cache)`,
  // Gemma 3's multimodal wrapper (model_type gemma3): dsnot prunes its text model (text_config).
  vision_config: `${IMAGE} (a checkpoint that holds vision tower tensors is refused)`,
  mm_tokens_per_image: IMAGE,
  boi_token_index: IMAGE,
  eoi_token_index: IMAGE,
  image_token_index: IMAGE,
  boi_token_id: IMAGE,
  eoi_token_id: IMAGE,
  image_token_id: IMAGE,
};

/** Generic PretrainedConfig keys that are harmless at their default and refused otherwise. */
export function readGenericKeys(c: ConfigReader): void {
  c.expect('is_encoder_decoder', (v) => v === false, 'dsnot prunes decoder-only models');
  c.expect('add_cross_attention', (v) => v === false, 'cross-attention layers are not part of a decoder-only model');
  c.expect('pruned_heads', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'attention heads pruned by transformers change the layer shapes');
  c.expect('quantization_config', () => false, 'quantized checkpoints (GPTQ, AWQ, bitsandbytes…) are not read; prune the full-precision model');
}

/** Refuse every key of config.json that was neither read nor is listed as ignored. */
export function refuseUnreadKeys(c: ConfigReader, modelType: string): void {
  const left = c.unread().filter((k) => !Object.hasOwn(IGNORED_CONFIG_KEYS, k));
  if (left.length === 0) return;
  const shown = left.map((k) => `${k}=${JSON.stringify(c.c[k])}`).join(', ');
  throw new ConfigError(
    `${c.where}: ${left.length === 1 ? 'key' : 'keys'} ${shown} not understood for model_type ${modelType}: `
    + 'it may change the computation, so the model is refused rather than computed differently from transformers',
  );
}

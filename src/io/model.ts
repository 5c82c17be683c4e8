// Open a model wherever it is and whatever its format: finds the files, validates them, and
// returns one ModelReader plus the ModelSpec of its architecture.
import { ConfigError, Llama2cError, ModelIOError, SourceError } from './errors.js';
import { Llama2cReader } from './llama2c.js';
import { Llama2cTokenizer } from './llama2c-tokenizer.js';
import type { ModelReader } from './model-reader.js';
import { SafetensorsReader, INDEX_FILE, SINGLE_FILE } from './safetensors-reader.js';
import type { Sink } from './sink.js';
import { openSource, type ModelInput, type OpenSourceOptions, type ReadOptions, type Source } from './source.js';
import { writeWholeFile } from './safetensors-writer.js';
import { modelSpecFromConfig, type ModelSpec } from '../models/config.js';

/** Files written alongside the weights, copied unchanged when present. */
export const SIDE_FILES = [
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'tokenizer.model',
  'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json',
];
/** Side files larger than this are refused (tokenizer.json files are tens of MB at most). */
const MAX_SIDE_FILE_BYTES = 256 * 2 ** 20;

export interface OpenedModel {
  source: Source;
  reader: ModelReader;
  spec: ModelSpec;
  format: 'safetensors' | 'llama2c';
  /** config.json as parsed (safetensors models), or the equivalent one built for a llama2.c model. */
  config: Record<string, unknown>;
  /** Side files present in the source (config, tokenizer, …), to copy next to a written model. */
  sideFiles: string[];
  /** The llama2.c tokenizer file found beside a .bin checkpoint (tokenizer.bin or the one tok*.bin), or null. */
  llama2cTokenizerFile: string | null;
  close(): Promise<void>;
}

export interface OpenModelOptions extends OpenSourceOptions, ReadOptions {}

/**
 * Open a model: a folder with config.json and model.safetensors (or a sharded index), a single
 * .safetensors / index file with config.json beside it, or a llama2.c .bin checkpoint (a file,
 * or a folder holding exactly one).
 */
export async function openModel(model: ModelInput, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const source = await openSource(model, options);
  try {
    return await openFromSource(source, options);
  } catch (e) {
    await source.close();
    throw e;
  }
}

async function openFromSource(source: Source, options: OpenModelOptions): Promise<OpenedModel> {
  const files = await source.list();
  const entry = source.entry;
  let weights: string | null = null;
  if (entry && (entry.endsWith('.safetensors') || entry.endsWith('.index.json'))) weights = entry;
  else if (!entry || entry === 'config.json') {
    if (files.includes(INDEX_FILE)) weights = INDEX_FILE;
    else if (files.includes(SINGLE_FILE)) weights = SINGLE_FILE;
  }
  const sideFiles = SIDE_FILES.filter((f) => files.includes(f));
  if (weights) {
    const reader = await SafetensorsReader.open(source, { file: weights, signal: options.signal });
    if (!files.includes('config.json')) {
      throw new ConfigError(`${source.location}: no config.json beside ${weights}: it is needed to know the architecture`);
    }
    const config = await readJson(source, 'config.json', options);
    const spec = modelSpecFromConfig(config, { tensors: reader.tensors });
    return opened(source, reader, spec, 'safetensors', config, sideFiles, null);
  }
  const candidates = entry && entry !== 'config.json' ? [entry] : files.filter((f) => f.endsWith('.bin'));
  const found: Llama2cReader[] = [];
  const problems: string[] = [];
  for (const f of candidates) {
    try {
      found.push(await Llama2cReader.open(source, f, options));
    } catch (e) {
      if (!(e instanceof Llama2cError)) throw e;
      problems.push(e.message);
    }
  }
  if (found.length === 1) {
    const reader = found[0];
    const tokenizer = findLlama2cTokenizer(files, reader.file);
    return opened(source, reader, reader.spec, 'llama2c', llamaConfigJson(reader.spec), sideFiles, tokenizer);
  }
  if (found.length > 1) {
    throw new ModelIOError(`${source.location} holds several llama2.c checkpoints (${found.map((r) => r.file).join(', ')}): name the file`);
  }
  if (entry && problems.length) throw new Llama2cError(problems[0]);
  throw new SourceError(
    `${source.location}: no model found: expected ${SINGLE_FILE}, ${INDEX_FILE} (with config.json) or a llama2.c .bin checkpoint`
    + (files.includes('pytorch_model.bin') ? ' (PyTorch pickle files are not read: convert them to safetensors)' : ''),
  );
}

function opened(
  source: Source, reader: ModelReader, spec: ModelSpec, format: 'safetensors' | 'llama2c',
  config: Record<string, unknown>, sideFiles: string[], llama2cTokenizerFile: string | null,
): OpenedModel {
  return { source, reader, spec, format, config, sideFiles, llama2cTokenizerFile, close: () => reader.close() };
}

/** tokenizer.bin, else the only tok*.bin, beside a checkpoint. */
function findLlama2cTokenizer(files: string[], checkpoint: string): string | null {
  if (files.includes('tokenizer.bin') && checkpoint !== 'tokenizer.bin') return 'tokenizer.bin';
  const tok = files.filter((f) => /^tok.*\.bin$/.test(f) && f !== checkpoint);
  return tok.length === 1 ? tok[0] : null;
}

/** Load a llama2.c tokenizer file from a source (its size is checked against the model's vocabulary). */
export async function loadLlama2cTokenizer(source: Source, file: string, vocabSize?: number, options?: ReadOptions): Promise<Llama2cTokenizer> {
  const size = await source.size(file);
  if (size === null) throw new SourceError(`${source.location}: no tokenizer file ${JSON.stringify(file)}`);
  if (size > MAX_SIDE_FILE_BYTES) throw new SourceError(`${source.location}/${file}: ${size} bytes is too large for a tokenizer`);
  return new Llama2cTokenizer(await source.read(file, 0, size, options), vocabSize);
}

async function readJson(source: Source, file: string, options: ReadOptions): Promise<Record<string, unknown>> {
  const size = (await source.size(file))!;
  if (size > MAX_SIDE_FILE_BYTES) throw new ConfigError(`${source.location}/${file}: ${size} bytes is too large`);
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(file, 0, size, options)));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ModelIOError) throw e;
    throw new ConfigError(`${source.location}/${file}: ${(e as Error).message}`);
  }
}

/** Copy side files (config, tokenizer…) from a source into a sink, each through a temporary name. */
export async function copySideFiles(source: Source, sink: Sink, files: string[], options?: ReadOptions): Promise<void> {
  for (const f of files) {
    const size = await source.size(f);
    if (size === null) throw new SourceError(`${source.location}: no file ${JSON.stringify(f)} to copy`);
    if (size > MAX_SIDE_FILE_BYTES) throw new SourceError(`${source.location}/${f}: ${size} bytes is too large for a side file`);
    await writeWholeFile(sink, f, await source.read(f, 0, size, options));
  }
}

/** A Hugging Face LlamaForCausalLM config.json for a llama-family spec (llama2.c models written as safetensors). */
export function llamaConfigJson(spec: ModelSpec): Record<string, unknown> {
  if (spec.family !== 'llama' || spec.positions.kind !== 'rotary') throw new ConfigError(`no llama config for a ${spec.family} model`);
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: spec.hiddenSize,
    intermediate_size: spec.intermediateSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    num_key_value_heads: spec.numKvHeads,
    vocab_size: spec.vocabSize,
    max_position_embeddings: spec.maxPositions,
    rms_norm_eps: spec.norm.eps,
    rope_theta: spec.positions.rope.theta,
    hidden_act: 'silu',
    tie_word_embeddings: spec.tieWordEmbeddings,
    bos_token_id: spec.bosTokenId,
    eos_token_id: spec.eosTokenId,
    torch_dtype: 'float32',
    attention_bias: false,
    mlp_bias: false,
  };
}

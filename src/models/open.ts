// Open a model location (path, URL, Blob, directory handle, Source) as a ModelSpec and a reader
// of its tensors: a Hugging Face folder (config.json + safetensors, single or sharded) or a
// llama2.c checkpoint (.bin, named directly or alone in its folder), plus the llama2.c
// tokenizer found beside it, if any.
import { ConfigError } from '../io/errors.js';
import { Llama2cReader } from '../io/llama2c.js';
import { Llama2cTokenizer } from '../io/llama2c-tokenizer.js';
import type { ModelReader } from '../io/model-reader.js';
import { SafetensorsReader } from '../io/safetensors-reader.js';
import { type ModelInput, type OpenSourceOptions, openSource, type Source } from '../io/source.js';
import { type ModelSpec, modelSpecFromConfig } from './config.js';

export interface OpenedModel {
  spec: ModelSpec;
  reader: ModelReader;
  source: Source;
  close(): Promise<void>;
}

const TOKENIZER_BIN = /^(tok\d*|tokenizer)\.bin$/;

export async function openModel(model: ModelInput, options: OpenSourceOptions = {}): Promise<OpenedModel> {
  const source = await openSource(model, options);
  try {
    const opened = await openFrom(source);
    return { ...opened, source, close: () => opened.reader.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}

async function openFrom(source: Source): Promise<{ spec: ModelSpec; reader: ModelReader }> {
  const entry = source.entry;
  if (entry?.endsWith('.bin')) return llama2c(source, entry);
  if ((await source.size('config.json')) !== null) {
    const config = JSON.parse(new TextDecoder().decode(await source.read('config.json', 0, (await source.size('config.json'))!)));
    const reader = await SafetensorsReader.open(source, entry?.endsWith('.safetensors') || entry?.endsWith('.index.json') ? { file: entry } : {});
    return { spec: modelSpecFromConfig(config, { tensors: reader.tensors }), reader };
  }
  const bins = (await source.list()).filter((f) => f.endsWith('.bin') && !TOKENIZER_BIN.test(f));
  if (bins.length === 1) return llama2c(source, bins[0]);
  throw new ConfigError(
    bins.length > 1
      ? `${source.location}: several llama2.c checkpoints (${bins.join(', ')}): name the file`
      : `${source.location}: no config.json and no llama2.c .bin checkpoint`,
  );
}

async function llama2c(source: Source, file: string): Promise<{ spec: ModelSpec; reader: ModelReader }> {
  const reader = await Llama2cReader.open(source, file);
  return { spec: reader.spec, reader };
}

/** The llama2.c tokenizer beside a model (tok*.bin / tokenizer.bin), or null when there is none. */
export async function openLlama2cTokenizer(source: Source, vocabSize: number): Promise<Llama2cTokenizer | null> {
  const names = (await source.list()).filter((f) => TOKENIZER_BIN.test(f));
  if (names.length === 0) return null;
  const size = (await source.size(names[0]))!;
  return new Llama2cTokenizer(await source.read(names[0], 0, size), vocabSize);
}

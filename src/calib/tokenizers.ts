// The model's tokenizer, from whatever files the model ships:
//   tokenizer.json (+ tokenizer_config.json)  → @huggingface/tokenizers (a maintained JS port of
//                                                HF tokenizers: BPE, Unigram, WordPiece, templates),
//                                                BOS/EOS as transformers adds them (special-tokens.ts)
//   tokenizer.model (SentencePiece BPE)        → converted to the llama2.c vocabulary and encoded
//                                                by run.c's algorithm (the same score-greedy merges);
//                                                BOS/EOS as LlamaTokenizer: add_bos_token (default
//                                                on) and add_eos_token (default off)
//   tok*.bin / tokenizer.bin (llama2.c)        → run.c's encoder, BOS first (as run.c)
//   vocab.json + merges.txt (GPT-2 / OPT)      → a byte-level BPE tokenizer.json built on the fly
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../io/errors.js';
import { specialTokenRule, withSpecialTokenRule } from './special-tokens.js';
import { Llama2cTokenizer } from '../io/llama2c-tokenizer.js';
import { loadLlama2cTokenizer, type OpenedModel } from '../io/model.js';
import type { Source } from '../io/source.js';
import type { TextTokenizer } from './data.js';

export interface LoadedTokenizer extends TextTokenizer {
  /** Which files it came from, for reports. */
  readonly kind: 'tokenizer.json' | 'sentencepiece' | 'llama2c' | 'gpt2-bpe';
  decode(ids: number[]): string;
}

const MAX_TOKENIZER_BYTES = 256 * 2 ** 20;

/** The tokenizer of an opened model; a clear error when it ships none this package reads. */
export async function loadTokenizer(model: OpenedModel): Promise<LoadedTokenizer> {
  const { source, sideFiles } = model;
  const has = (f: string) => sideFiles.includes(f);
  // As transformers: tokenizer_config.json's entries win, special_tokens_map.json fills in the tokens.
  const specialMap = (await readJsonIf(source, has('special_tokens_map.json') ? 'special_tokens_map.json' : null)) ?? {};
  const config = { ...specialMap, ...((await readJsonIf(source, has('tokenizer_config.json') ? 'tokenizer_config.json' : null)) ?? {}) };
  if (has('tokenizer.json')) return tokenizerJson((await readJsonIf(source, 'tokenizer.json'))!, config);
  if (model.llama2cTokenizerFile) {
    const tok = await loadLlama2cTokenizer(source, model.llama2cTokenizerFile, model.spec.vocabSize);
    return fromLlama2c(tok, 'llama2c', config.add_bos_token !== false, false);
  }
  if (has('tokenizer.model')) {
    // transformers' LlamaTokenizer (SentencePiece): BOS unless add_bos_token is false, EOS only if add_eos_token.
    const tok = sentencePieceToLlama2c(await readBytes(source, 'tokenizer.model'), model.spec.vocabSize);
    return fromLlama2c(tok, 'sentencepiece', config.add_bos_token !== false, config.add_eos_token === true);
  }
  if (has('vocab.json') && has('merges.txt')) {
    const vocab = await readJsonIf(source, 'vocab.json');
    const merges = new TextDecoder().decode(await readBytes(source, 'merges.txt'));
    const bos = model.config.model_type === 'opt' ? Number(model.config.bos_token_id ?? 2) : null;
    return fromHuggingFace(new Tokenizer(gpt2TokenizerJson(vocab as Record<string, number>, merges, bos), {}), 'gpt2-bpe');
  }
  throw new TokenizerError(
    `${source.location}: no tokenizer found (looked for tokenizer.json, tokenizer.model, a llama2.c tok*.bin, or vocab.json + merges.txt): pass token ids instead`,
  );
}

/**
 * A tokenizer.json (an object, as parsed) with tokenizer_config.json's settings, adding BOS/EOS
 * exactly as transformers' `tokenizer(text)` does.
 */
export function tokenizerJson(json: Record<string, unknown>, config: Record<string, unknown>): LoadedTokenizer {
  const rule = specialTokenRule(config, json.post_processor === null || json.post_processor === undefined);
  return fromHuggingFace(new Tokenizer(withSpecialTokenRule(json, rule), config), 'tokenizer.json');
}

function fromHuggingFace(tok: Tokenizer, kind: LoadedTokenizer['kind']): LoadedTokenizer {
  return {
    kind,
    encode: (text) => tok.encode(text).ids,
    decode: (ids) => tok.decode(ids),
  };
}

function fromLlama2c(tok: Llama2cTokenizer, kind: LoadedTokenizer['kind'], bos: boolean, eos: boolean): LoadedTokenizer {
  return {
    kind,
    encode: (text) => tok.encode(text, { bos, eos }),
    // run.c's pieces, but without printing the BOS/EOS pieces themselves (as HF decoders skip them).
    decode: (ids) => {
      const parts: Uint8Array[] = [];
      ids.forEach((id, i) => {
        if (id !== tok.bosId && id !== tok.eosId) parts.push(tok.decodePiece(i > 0 ? ids[i - 1] : -1, id));
      });
      return new TextDecoder().decode(concat(parts));
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A GPT-2 byte-level BPE tokenizer.json from vocab.json and merges.txt (what OPT checkpoints
 * ship), with `bos` prepended when given (OPT prepends `</s>`).
 */
export function gpt2TokenizerJson(vocab: Record<string, number>, mergesTxt: string, bos: number | null): object {
  const merges = mergesTxt.split('\n').filter((l) => l && !l.startsWith('#version'));
  const bosToken = bos === null ? null : Object.entries(vocab).find(([, id]) => id === bos)?.[0];
  if (bos !== null && bosToken === undefined) throw new TokenizerError(`BOS id ${bos} is not in vocab.json`);
  return {
    version: '1.0',
    added_tokens: bosToken ? [{ id: bos, content: bosToken, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: bosToken
      ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: bosToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { [bosToken]: { id: bosToken, ids: [bos], tokens: [bosToken] } } }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

// --- SentencePiece ModelProto (protobuf) → llama2.c vocabulary -------------------------------

const PIECE_BYTE = 6;

/**
 * Convert a SentencePiece BPE `tokenizer.model` to the llama2.c tokenizer layout (pieces with
 * '▁' as ' ', scores; ids 3..258 the byte pieces), whose encoder is SentencePiece's BPE
 * algorithm. Only the layout LLaMA-family models use is accepted; anything else is refused.
 */
export function sentencePieceToLlama2c(bytes: Uint8Array, vocabSize?: number): Llama2cTokenizer {
  const pieces: Array<{ piece: string; score: number; type: number }> = [];
  let addDummyPrefix = true;
  let removeExtraWhitespace = false;
  for (const f of protoFields(bytes, 'tokenizer.model')) {
    if (f.field === 1 && f.bytes) pieces.push(parsePiece(f.bytes));
    if (f.field === 3 && f.bytes) {
      for (const n of protoFields(f.bytes, 'normalizer_spec')) {
        if (n.field === 3) addDummyPrefix = n.varint !== 0;
        if (n.field === 4) removeExtraWhitespace = n.varint !== 0;
      }
    }
  }
  if (!addDummyPrefix || removeExtraWhitespace) {
    throw new TokenizerError('tokenizer.model: only SentencePiece models with add_dummy_prefix and without remove_extra_whitespaces are supported (as LLaMA ships): provide tokenizer.json');
  }
  if (pieces.length <= 258) throw new TokenizerError(`tokenizer.model holds only ${pieces.length} pieces`);
  for (let b = 0; b < 256; b++) {
    const p = pieces[b + 3];
    if (p.type !== PIECE_BYTE || p.piece !== `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) {
      throw new TokenizerError('tokenizer.model: ids 3..258 are not the 256 byte pieces (<0x00>..<0xFF>): provide tokenizer.json');
    }
  }
  const encoded = pieces.map((p) => new TextEncoder().encode(p.piece.replaceAll('\u2581', ' ')));
  const total = 4 + encoded.reduce((n, e) => n + 8 + e.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setInt32(0, Math.max(...encoded.map((e) => e.length)), true);
  let at = 4;
  pieces.forEach((p, i) => {
    view.setFloat32(at, p.score, true);
    view.setInt32(at + 4, encoded[i].length, true);
    out.set(encoded[i], at + 8);
    at += 8 + encoded[i].length;
  });
  return new Llama2cTokenizer(out, vocabSize);
}

function parsePiece(bytes: Uint8Array): { piece: string; score: number; type: number } {
  let piece = '';
  let score = 0;
  let type = 1;
  for (const f of protoFields(bytes, 'SentencePiece')) {
    if (f.field === 1 && f.bytes) piece = new TextDecoder().decode(f.bytes);
    if (f.field === 2 && f.fixed32 !== undefined) score = f.fixed32;
    if (f.field === 3 && f.varint !== undefined) type = f.varint;
  }
  return { piece, score, type };
}

interface ProtoField {
  field: number;
  varint?: number;
  fixed32?: number;
  bytes?: Uint8Array;
}

/** Minimal protobuf wire-format reader (varint, 64-bit, length-delimited, 32-bit), bounds-checked. */
function* protoFields(buf: Uint8Array, where: string): Generator<ProtoField> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= buf.length) throw new TokenizerError(`${where}: truncated protobuf varint`);
      const b = buf[at++];
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) return result;
      scale *= 128;
    }
    throw new TokenizerError(`${where}: malformed protobuf varint`);
  };
  while (at < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) yield { field, varint: varint() };
    else if (wire === 1) {
      if (at + 8 > buf.length) throw new TokenizerError(`${where}: truncated protobuf field`);
      at += 8;
      yield { field };
    } else if (wire === 2) {
      const len = varint();
      if (at + len > buf.length) throw new TokenizerError(`${where}: protobuf field ${field} runs past the end`);
      yield { field, bytes: buf.subarray(at, at + len) };
      at += len;
    } else if (wire === 5) {
      if (at + 4 > buf.length) throw new TokenizerError(`${where}: truncated protobuf field`);
      yield { field, fixed32: view.getFloat32(at, true) };
      at += 4;
    } else throw new TokenizerError(`${where}: unsupported protobuf wire type ${wire}`);
  }
}

async function readBytes(source: Source, file: string): Promise<Uint8Array> {
  const size = await source.size(file);
  if (size === null) throw new TokenizerError(`${source.location}: no ${file}`);
  if (size > MAX_TOKENIZER_BYTES) throw new TokenizerError(`${source.location}/${file}: ${size} bytes is too large for a tokenizer file`);
  return source.read(file, 0, size);
}

async function readJsonIf(source: Source, file: string | null): Promise<Record<string, unknown> | null> {
  if (!file) return null;
  try {
    return JSON.parse(new TextDecoder().decode(await readBytes(source, file)));
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    throw new TokenizerError(`${source.location}/${file}: not valid JSON (${(e as Error).message})`);
  }
}

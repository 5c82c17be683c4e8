import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpt2TokenizerJson, loadTokenizer, tokenizerJson } from '../../src/calib/tokenizers.js';
import { TokenizerError } from '../../src/io/errors.js';
import { openModel } from '../../src/io/model.js';
import { tempDir } from '../support/temp-dir.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const LILY = 'Once upon a time, there was a little girl named Lily.';
const LILY_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
const tmp = tempDir('dsnot-tok-');

async function tokenizerOf(dir: string) {
  const model = await openModel(dir);
  try {
    return await loadTokenizer(model);
  } finally {
    await model.close();
  }
}

describe('model tokenizers', () => {
  it('reads the llama2.c tokenizer beside a .bin checkpoint', async () => {
    const tok = await tokenizerOf(join(fixtures, 'stories260K', 'stories260K.bin'));
    expect(tok.kind).toBe('llama2c');
    expect(tok.encode(LILY)).toEqual(LILY_IDS);
  });

  it('converts a SentencePiece tokenizer.model and encodes as the llama2.c tokenizer does', async () => {
    const sp = await tokenizerOf(join(fixtures, 'stories260K-hf'));
    const ref = await tokenizerOf(join(fixtures, 'stories260K', 'stories260K.bin'));
    expect(sp.kind).toBe('sentencepiece');
    expect(sp.encode(LILY)).toEqual(LILY_IDS);
    const text = readFileSync(join(fixtures, 'tinystories-valid', 'tinystories_val.txt'), 'utf8').slice(0, 60_000);
    const ids = sp.encode(text);
    expect(ids.length).toBeGreaterThan(20_000);
    expect(ids).toEqual(ref.encode(text));
    expect(sp.decode(ids)).toBe(text);
  });

  it('builds GPT-2 byte-level BPE from vocab.json + merges.txt (the published WikiText-2 count)', async () => {
    const dir = join(tmp, 'gpt2');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.model'));
    rmSync(join(dir, 'tokenizer_config.json'));
    cpSync(join(fixtures, 'gpt2-tokenizer', 'vocab.json'), join(dir, 'vocab.json'));
    cpSync(join(fixtures, 'gpt2-tokenizer', 'merges.txt'), join(dir, 'merges.txt'));
    const tok = await tokenizerOf(dir);
    expect(tok.kind).toBe('gpt2-bpe');
    const text = readFileSync(join(fixtures, 'wikitext-2-raw', 'wiki.test.joined.txt'), 'utf8');
    const ids = tok.encode(text);
    expect(ids.slice(0, 12)).toEqual([628, 796, 5199, 347, 2852, 353, 796, 220, 628, 628, 198, 5199]);
    expect(ids.length).toBe(287_644);
  });

  it('uses tokenizer.json through @huggingface/tokenizers, BOS template included', async () => {
    const dir = join(tmp, 'json');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    // (its tokenizer_config.json is LlamaTokenizer's, which would put <s> into the template.)
    rmSync(join(dir, 'tokenizer_config.json'));
    const vocab = JSON.parse(readFileSync(join(fixtures, 'gpt2-tokenizer', 'vocab.json'), 'utf8'));
    const merges = readFileSync(join(fixtures, 'gpt2-tokenizer', 'merges.txt'), 'utf8');
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(vocab, merges, 50256)));
    const tok = await tokenizerOf(dir);
    expect(tok.kind).toBe('tokenizer.json');
    expect(tok.encode(' = Robert Boulter =')).toEqual([50256, 796, 5199, 347, 2852, 353, 796]);
  });

  it('honours add_bos_token / add_eos_token beside a SentencePiece tokenizer.model, as LlamaTokenizer', async () => {
    const dir = join(tmp, 'sp-flags');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, add_bos_token: false, add_eos_token: true }));
    expect((await tokenizerOf(dir)).encode(LILY)).toEqual([...LILY_IDS.slice(1), 2]);
    const { add_bos_token: _b, add_eos_token: _e, ...unset } = config;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(unset));
    expect((await tokenizerOf(dir)).encode(LILY)).toEqual(LILY_IDS);
  });

  it('refuses a model without a tokenizer it can read, naming what it looked for', async () => {
    const dir = join(tmp, 'none');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.model'));
    await expect(tokenizerOf(dir)).rejects.toThrow(TokenizerError);
    await expect(tokenizerOf(dir)).rejects.toThrow(/tokenizer.json, tokenizer.model/);
  });

  it('refuses a corrupt tokenizer.model with a clear error', async () => {
    const dir = join(tmp, 'corrupt');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    const good = readFileSync(join(dir, 'tokenizer.model'));
    writeFileSync(join(dir, 'tokenizer.model'), good.subarray(0, good.length - 3));
    await expect(tokenizerOf(dir)).rejects.toThrow(/tokenizer.model/);
  });
});

// A tiny word-level BPE: "hi" is one merge, so "hi hi" is [HI, HI] before any special tokens.
const [S, SLASH_S, BOT, BOS, EOS, HI] = [0, 1, 2, 3, 4, 7];
function tinyTokenizer(postProcessor: object | null): Record<string, unknown> {
  const vocab = { '<s>': S, '</s>': SLASH_S, '<|begin_of_text|>': BOT, '<bos>': BOS, '<eos>': EOS, h: 5, i: 6, hi: HI };
  const added = Object.entries(vocab).slice(0, 5).map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0', added_tokens: added, normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: postProcessor, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['h i'] },
  };
}
const template = (...tokens: string[]) => ({
  type: 'TemplateProcessing',
  single: [...tokens.map((t) => (t === '$A' ? { Sequence: { id: 'A', type_id: 0 } } : { SpecialToken: { id: t, type_id: 0 } }))],
  pair: [],
  special_tokens: Object.fromEntries(tokens.filter((t) => t !== '$A').map((t) => [t, { id: t, ids: [tinyIds[t]], tokens: [t] }])),
});
const tinyIds: Record<string, number> = { '<s>': S, '</s>': SLASH_S, '<|begin_of_text|>': BOT, '<bos>': BOS, '<eos>': EOS };
const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const encode = (json: Record<string, unknown>, config: Record<string, unknown>) => tokenizerJson(json, config).encode('hi hi');

describe('BOS/EOS as transformers adds them from tokenizer.json + tokenizer_config.json', () => {
  it("keeps the shipped post_processor when the config sets no flag (Llama 3's Sequence with a BOS template)", () => {
    const llama3 = tinyTokenizer({ type: 'Sequence', processors: [byteLevel, template('<|begin_of_text|>', '$A')] });
    expect(encode(llama3, { tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<|begin_of_text|>' })).toEqual([BOT, HI, HI]);
    expect(encode(tinyTokenizer(template('$A')), { tokenizer_class: 'PreTrainedTokenizerFast' })).toEqual([HI, HI]);
  });

  it('adds nothing for a ByteLevel post_processor without flags (Qwen2 / Qwen3)', () => {
    expect(encode(tinyTokenizer(byteLevel), { tokenizer_class: 'Qwen2Tokenizer', bos_token: null, eos_token: '</s>' })).toEqual([HI, HI]);
  });

  it('builds [BOS] $A [EOS] from the flags when the post_processor is null (both off unless set)', () => {
    expect(encode(tinyTokenizer(null), {})).toEqual([HI, HI]);
    expect(encode(tinyTokenizer(null), { add_bos_token: true, bos_token: '<s>' })).toEqual([S, HI, HI]);
    expect(encode(tinyTokenizer(null), { add_eos_token: true, eos_token: { content: '</s>' } })).toEqual([HI, HI, SLASH_S]);
    // A flag for a token the config does not name is dropped, as transformers drops it.
    expect(encode(tinyTokenizer(null), { add_bos_token: true })).toEqual([HI, HI]);
  });

  it("lets tokenizer_config.json's flags replace the shipped template", () => {
    const withBos = tinyTokenizer(template('<|begin_of_text|>', '$A'));
    expect(encode(withBos, { add_bos_token: false, bos_token: '<|begin_of_text|>' })).toEqual([HI, HI]);
    expect(encode(withBos, { add_bos_token: true, add_eos_token: true, bos_token: '<|begin_of_text|>', eos_token: '</s>' })).toEqual([BOT, HI, HI, SLASH_S]);
  });

  it('applies the class defaults of LlamaTokenizer (BOS <s>) and GemmaTokenizer (BOS <bos>) when no flag is set', () => {
    expect(encode(tinyTokenizer(template('$A')), { tokenizer_class: 'LlamaTokenizerFast' })).toEqual([S, HI, HI]);
    expect(encode(tinyTokenizer(template('$A')), { tokenizer_class: 'LlamaTokenizer', add_bos_token: false })).toEqual([HI, HI]);
    expect(encode(tinyTokenizer(null), { tokenizer_class: 'GemmaTokenizer', bos_token: '<bos>', eos_token: '<eos>' })).toEqual([BOS, HI, HI]);
  });

  it('reads the flags from tokenizer_config.json and the tokens from special_tokens_map.json on disk', async () => {
    const dir = join(tmp, 'tiny-json');
    cpSync(join(fixtures, 'stories260K-hf'), dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.model'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizer(null)));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', add_bos_token: true, add_eos_token: true, eos_token: '</s>' }));
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: { content: '<|begin_of_text|>' }, eos_token: '<eos>' }));
    // tokenizer_config.json's eos_token wins over special_tokens_map.json's, as in transformers.
    expect((await tokenizerOf(dir)).encode('hi hi')).toEqual([BOT, HI, HI, SLASH_S]);
  });

  it('refuses a flagged special token that the vocabulary lacks', () => {
    expect(() => encode(tinyTokenizer(null), { add_bos_token: true, bos_token: '<nope>' })).toThrow(/<nope>/);
  });
});

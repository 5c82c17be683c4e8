import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpt2TokenizerJson, loadTokenizer } from '../../src/calib/tokenizers.js';
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
    const vocab = JSON.parse(readFileSync(join(fixtures, 'gpt2-tokenizer', 'vocab.json'), 'utf8'));
    const merges = readFileSync(join(fixtures, 'gpt2-tokenizer', 'merges.txt'), 'utf8');
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(vocab, merges, 50256)));
    const tok = await tokenizerOf(dir);
    expect(tok.kind).toBe('tokenizer.json');
    expect(tok.encode(' = Robert Boulter =')).toEqual([50256, 796, 5199, 347, 2852, 353, 796]);
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

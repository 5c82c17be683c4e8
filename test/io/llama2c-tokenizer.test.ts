// The llama2.c tokenizer against the ids in test/fixtures/stories260K/SOURCE.md and REFERENCE.md,
// and against a plain transcription of run.c's quadratic encode() written here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../src/io/llama2c-tokenizer.js';
import { TokenizerError } from '../../src/io/errors.js';

const TOK = new Uint8Array(readFileSync('test/fixtures/stories260K/tok512.bin'));
const TEXT = readFileSync('test/fixtures/tinystories-valid/tinystories_val.txt', 'utf8');

/** run.c encode(), line for line (strings as latin1 byte strings). */
function runcEncode(vocab: string[], scores: Float32Array, text: string): number[] {
  const lookup = (s: string): number => vocab.indexOf(s);
  const bytes = new TextEncoder().encode(text);
  const tokens: number[] = [1];
  if (bytes.length > 0) tokens.push(lookup(' '));
  let buf = '';
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] & 0xc0) !== 0x80) buf = '';
    buf += String.fromCharCode(bytes[i]);
    if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup(buf);
    if (id !== -1) tokens.push(id);
    else for (const ch of buf) tokens.push(ch.charCodeAt(0) + 3);
    buf = '';
  }
  for (;;) {
    let best = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(vocab[tokens[i]] + vocab[tokens[i + 1]]);
      if (id !== -1 && scores[id] > best) {
        best = scores[id];
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}

function vocabOf(tok: Llama2cTokenizer): { vocab: string[]; scores: Float32Array } {
  const vocab: string[] = [];
  for (let i = 0; i < tok.vocabSize; i++) vocab.push(String.fromCharCode(...tok.piece(i)));
  // Scores as in the file: read them back independently of the class.
  const scores = new Float32Array(tok.vocabSize);
  const view = new DataView(TOK.buffer, TOK.byteOffset);
  let at = 4;
  for (let i = 0; i < tok.vocabSize; i++) {
    scores[i] = view.getFloat32(at, true);
    at += 8 + view.getInt32(at + 4, true);
  }
  return { vocab, scores };
}

describe('llama2.c tokenizer (tok512.bin)', () => {
  const tok = new Llama2cTokenizer(TOK, 512);

  it('encodes the SOURCE.md example', () => {
    expect(tok.encode('Once upon a time, there was a little girl named Lily.')).toEqual(
      [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426],
    );
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(tok.encode('', { bos: true })).toEqual([1]);
    expect(tok.encode('hi', { bos: false, eos: true }).at(-1)).toBe(2);
  });

  it('reproduces REFERENCE.md: the first 20 ids and the 388,718-token count of the TinyStories text', () => {
    const s = TEXT.trim().replaceAll('\n\n', '\n');
    const ids = tok.encode(s);
    expect(ids.slice(0, 20)).toEqual([1, 301, 427, 309, 426, 301, 427, 309, 394, 265, 262, 415, 271, 422, 280, 295, 269, 336, 432, 313]);
    expect(ids.length).toBe(388_718);
  });

  it('agrees with a plain transcription of run.c on paragraphs, unicode and odd bytes', () => {
    const { vocab, scores } = vocabOf(tok);
    const paragraphs = TEXT.split('\n\n').filter((p) => p.length > 0);
    const samples = [
      ...paragraphs.filter((_, i) => i % 97 === 0).slice(0, 30),
      'héllo wörld — “quoted” ☃ 😀 日本語', '  two  spaces', '\t\n\r', 'a', ' ', 'aaaaaaaaaaaaaaaaaaaa',
      '\u{10FFFF}\u0301e\u0301', 'The the THE tHe',
    ];
    for (const s of samples) expect(tok.encode(s), s).toEqual(runcEncode(vocab, scores, s));
  });

  it('decodes as run.c: leading space after BOS dropped, byte tokens become bytes', () => {
    const ids = tok.encode('Once upon a time, there was a little girl named Lily.');
    expect(tok.decode(ids)).toBe('\n<s>\nOnce upon a time, there was a little girl named Lily.'.replace('\n<s>\n', new TextDecoder().decode(tok.piece(1))));
    expect(tok.decode(ids.slice(1))).toBe(' Once upon a time, there was a little girl named Lily.');
    const s = 'snow ☃ and 😀';
    const round = tok.encode(s, { bos: false });
    expect(round.some((id) => id >= 3 && id <= 258)).toBe(true); // byte fallback was used
    expect(tok.decode(round)).toBe(' ' + s);
    expect(tok.decodePiece(1, 403)).toEqual(new TextEncoder().encode('Once'));
    expect(tok.decodePiece(3 + 0x41, 3 + 0x41)).toEqual(Uint8Array.of(0x41));
  });

  it('rejects malformed tokenizer files with a typed error', () => {
    expect(() => new Llama2cTokenizer(TOK.subarray(0, 2))).toThrow(TokenizerError);
    expect(() => new Llama2cTokenizer(TOK.subarray(0, 1000))).toThrow(TokenizerError);
    expect(() => new Llama2cTokenizer(TOK, 1000)).toThrow(/vocab_size is 1000/);
    const bad = TOK.slice();
    new DataView(bad.buffer).setInt32(8, 1 << 30, true); // first entry's length
    expect(() => new Llama2cTokenizer(bad)).toThrow(/beyond the end/);
    expect(() => tok.decode([512])).toThrow(TokenizerError);
  });
});

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CalibrationError, calibrationWindows, parseCalibration, type TextTokenizer } from '../../src/calib/data.js';

// A character tokenizer with a BOS of 1, so the authors' loops can be replayed in Python.
const chars: TextTokenizer = { encode: (t) => [1, ...Array.from(t, (c) => c.codePointAt(0)!)] };
const docs = Array.from({ length: 30 }, (_, i) => `doc ${i} ` + 'x'.repeat((i * 37) % 50));
const jsonl = docs.map((text, i) => JSON.stringify({ text, url: `u${i}` })).join('\n') + '\n';
const bytes = (s: string) => new TextEncoder().encode(s);

// (document, start) pairs printed by the authors' get_c4 loop in CPython 3.11 on the same
// documents and tokenizer (random.seed(seed); randint until len > seqlen; randint window start).
const C4_REFERENCE: Array<[number, number, Array<[number, number]>]> = [
  [0, 40, [[27, 12], [24, 3], [1, 2], [16, 7], [12, 4], [28, 1]]],
  [7, 12, [[10, 4], [12, 3], [2, 17], [3, 2]]],
];

describe('calibration data', () => {
  it.each(C4_REFERENCE)('samples C4-style documents as the authors do (seed %s, seqlen %s)', async (seed, seqlen, expected) => {
    for (const name of ['c4.json', 'c4.json.gz']) {
      const raw = bytes(jsonl);
      const data = await parseCalibration(name.endsWith('.gz') ? gzipSync(raw) : raw, name);
      expect(data.kind).toBe('documents');
      const windows = calibrationWindows(data, chars, { nsamples: expected.length, seqlen, seed });
      expect(windows).toEqual(expected.map(([d, s]) => chars.encode(docs[d]).slice(s, s + seqlen)));
    }
  });

  it('samples a plain text as one token stream (WikiText style)', async () => {
    const text = docs.join(' ');
    const data = await parseCalibration(bytes(text), 'train.txt');
    const windows = calibrationWindows(data, chars, { nsamples: 5, seqlen: 16, seed: 0 });
    const ids = chars.encode(text);
    expect(windows).toEqual([864, 394, 776, 911, 430].map((s) => ids.slice(s, s + 16)));
  });

  it('uses token-id windows exactly as given', async () => {
    const given = [[1, 5, 9], [1, 2, 3, 4]];
    const data = await parseCalibration(bytes(JSON.stringify(given)), 'calib.json');
    expect(calibrationWindows(data, null, { nsamples: 128, seqlen: 2048, seed: 0 })).toEqual(given);
  });

  it('is reproducible and depends on the seed', async () => {
    const data = await parseCalibration(bytes(jsonl), 'c4.jsonl');
    const a = calibrationWindows(data, chars, { nsamples: 8, seqlen: 20, seed: 3 });
    expect(calibrationWindows(data, chars, { nsamples: 8, seqlen: 20, seed: 3 })).toEqual(a);
    expect(calibrationWindows(data, chars, { nsamples: 8, seqlen: 20, seed: 4 })).not.toEqual(a);
  });

  it.each([
    ['{"text": "a"}\n{"nope": 1}\n', 'x.jsonl', /:2: no "text" string field/],
    ['{"text": "a"}\n{broken\n', 'x.jsonl', /:2: not a JSON object/],
    ['[[1, 2], [3, -1]]', 'x.json', /window 1 must be a non-empty array/],
    ['[]', 'x.json', /non-empty JSON array/],
    ['', 'x.txt', /is empty/],
  ])('rejects malformed files with a clear error: %j', async (content, name, message) => {
    await expect(parseCalibration(bytes(content), name)).rejects.toThrow(message);
  });

  it('rejects corrupt gzip, impossible seqlen and bad sampling options', async () => {
    await expect(parseCalibration(bytes('not gzip at all'), 'x.json.gz')).rejects.toBeInstanceOf(CalibrationError);
    const data = await parseCalibration(bytes(jsonl), 'c4.jsonl');
    expect(() => calibrationWindows(data, chars, { nsamples: 2, seqlen: 500, seed: 0 })).toThrow(/no calibration document is longer than seqlen = 500/);
    const text = await parseCalibration(bytes('short text'), 'a.txt');
    expect(() => calibrationWindows(text, chars, { nsamples: 1, seqlen: 64, seed: 0 })).toThrow(/not more than seqlen = 64/);
    expect(() => calibrationWindows(text, chars, { nsamples: 0, seqlen: 4, seed: 0 })).toThrow(/nsamples/);
    expect(() => calibrationWindows(text, chars, { nsamples: 1, seqlen: 4.5, seed: 0 })).toThrow(/seqlen/);
  });
});

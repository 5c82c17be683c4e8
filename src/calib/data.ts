// Calibration data: read a file (plain text, C4-style JSON lines, optionally gzipped, or a
// JSON array of token-id windows) and turn it into token windows exactly as the authors do
// (ALGORITHM.md §8.2): Python's random seeded with `seed`; for documents, draw random
// documents until one is longer than `seqlen` tokens, then a random window in it; for one
// long text (WikiText style), a random window of the whole token stream per sample.
import { PythonRandom } from './python-random.js';

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** What a tokenizer must offer to calibration and evaluation. */
export interface TextTokenizer {
  /** Token ids of `text`, with the BOS token when the model's tokenizer adds one. */
  encode(text: string): number[];
}

/** Parsed calibration file. */
export type CalibrationData =
  | { kind: 'text'; text: string }
  | { kind: 'documents'; documents: string[] }
  | { kind: 'tokens'; windows: number[][] };

export interface SamplingOptions {
  nsamples: number;
  seqlen: number;
  seed: number;
}

/** Decompress gzip bytes with the platform's DecompressionStream (Node ≥ 18, browsers, Deno). */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new CalibrationError(`gzip data is corrupt: ${(e as Error).message}`);
  }
}

/**
 * Parse calibration bytes. `name` (a file name) decides gzip (`.gz`); the content decides the
 * rest: a JSON array of arrays of integers is token windows, lines of JSON objects with a
 * "text" field are documents (C4 style), anything else is one plain text.
 */
export async function parseCalibration(bytes: Uint8Array, name: string): Promise<CalibrationData> {
  const raw = /\.gz$/i.test(name) ? await gunzip(bytes) : bytes;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new CalibrationError(`${name} is not UTF-8 text`);
  }
  const head = text.trimStart();
  if (head.startsWith('[')) return { kind: 'tokens', windows: parseTokenWindows(text, name) };
  if (head.startsWith('{')) return { kind: 'documents', documents: parseJsonLines(text, name) };
  if (text.length === 0) throw new CalibrationError(`${name} is empty`);
  return { kind: 'text', text };
}

function parseTokenWindows(text: string, name: string): number[][] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CalibrationError(`${name}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every(Array.isArray)) {
    throw new CalibrationError(`${name}: expected a non-empty JSON array of token-id arrays`);
  }
  return value.map((w: unknown[], i) => {
    if (w.length === 0 || !w.every((t) => Number.isSafeInteger(t) && (t as number) >= 0)) {
      throw new CalibrationError(`${name}: window ${i} must be a non-empty array of non-negative integer token ids`);
    }
    return w as number[];
  });
}

function parseJsonLines(text: string, name: string): string[] {
  const documents: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new CalibrationError(`${name}:${i + 1}: not a JSON object (${(e as Error).message})`);
    }
    const doc = (row as { text?: unknown } | null)?.text;
    if (typeof doc !== 'string') throw new CalibrationError(`${name}:${i + 1}: no "text" string field`);
    documents.push(doc);
  }
  if (documents.length === 0) throw new CalibrationError(`${name}: no documents`);
  return documents;
}

/** Token windows for calibration: given windows as they are, or sampled as the authors do. */
export function calibrationWindows(data: CalibrationData, tokenizer: TextTokenizer | null, opts: SamplingOptions): number[][] {
  checkSampling(opts);
  if (data.kind === 'tokens') return data.windows;
  if (!tokenizer) throw new CalibrationError('a tokenizer is needed to sample calibration text');
  const random = new PythonRandom(opts.seed);
  return data.kind === 'documents'
    ? sampleDocuments(data.documents, tokenizer, opts, random)
    : sampleStream(tokenizer.encode(data.text), opts, random);
}

function checkSampling({ nsamples, seqlen, seed }: SamplingOptions): void {
  if (!Number.isSafeInteger(nsamples) || nsamples < 1) throw new CalibrationError(`nsamples must be a positive integer, got ${nsamples}`);
  if (!Number.isSafeInteger(seqlen) || seqlen < 1) throw new CalibrationError(`seqlen must be a positive integer, got ${seqlen}`);
  if (!Number.isSafeInteger(seed)) throw new CalibrationError(`seed must be an integer, got ${seed}`);
}

// get_c4: for each sample, random documents until one has more than seqlen tokens, then
// randint(0, len − seqlen − 1) as the window start.
function sampleDocuments(documents: string[], tokenizer: TextTokenizer, { nsamples, seqlen }: SamplingOptions, random: PythonRandom): number[][] {
  const cache = new Map<number, number[]>();
  const tooShort = new Set<number>();
  const windows: number[][] = [];
  for (let s = 0; s < nsamples; s++) {
    let ids: number[];
    for (;;) {
      const i = random.randint(0, documents.length - 1);
      let enc = cache.get(i);
      if (!enc) {
        enc = tokenizer.encode(documents[i]);
        if (enc.length > seqlen) cache.set(i, enc);
      }
      if (enc.length > seqlen) {
        ids = enc;
        break;
      }
      tooShort.add(i);
      if (tooShort.size === documents.length) {
        throw new CalibrationError(`no calibration document is longer than seqlen = ${seqlen} tokens: use a smaller --seqlen or longer documents`);
      }
    }
    const start = random.randint(0, ids.length - seqlen - 1);
    windows.push(ids.slice(start, start + seqlen));
  }
  return windows;
}

// get_wikitext2 (train split): one token stream, randint(0, n − seqlen − 1) per sample.
function sampleStream(ids: number[], { nsamples, seqlen }: SamplingOptions, random: PythonRandom): number[][] {
  if (ids.length <= seqlen) {
    throw new CalibrationError(`the calibration text has ${ids.length} tokens, not more than seqlen = ${seqlen}`);
  }
  const windows: number[][] = [];
  for (let s = 0; s < nsamples; s++) {
    const start = random.randint(0, ids.length - seqlen - 1);
    windows.push(ids.slice(start, start + seqlen));
  }
  return windows;
}

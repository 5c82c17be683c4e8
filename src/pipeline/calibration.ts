// prune()'s `calibration` option → token windows. Token windows given by the caller (a `.json`
// file of arrays, or { tokens }) are used exactly as given; text is tokenized with the model's
// own tokenizer and sampled as the authors do (src/calib/data.ts).
import { CalibrationError, calibrationWindows, parseCalibration, type CalibrationData } from '../calib/data.js';
import { loadTokenizer } from '../calib/tokenizers.js';
import type { OpenedModel } from '../io/model.js';
import type { ModelSpec } from '../models/config.js';

/**
 * A file path (Node/Deno), a Blob/File, the bytes of a file (plain text, C4-style JSON lines,
 * gzip of either, or a JSON array of token-id arrays), or already parsed data.
 */
export type CalibrationInput =
  | string
  | Blob
  | Uint8Array
  | { tokens: number[][] }
  | { text: string }
  | { documents: string[] };

export interface CalibrationWindows {
  windows: number[][];
  /** Where the windows came from: given token ids, or sampled from text / documents. */
  kind: CalibrationData['kind'];
  tokens: number;
}

export async function resolveCalibration(
  input: CalibrationInput | undefined,
  model: OpenedModel,
  sampling: { nsamples: number; seqlen: number; seed: number },
): Promise<CalibrationWindows> {
  if (input === undefined || input === null) {
    throw new CalibrationError('calibration data is required: a text file (plain or C4 JSON lines, optionally .gz), a .json file of token-id windows, or { tokens }');
  }
  const data = await parse(input);
  const tokenizer = data.kind === 'tokens' ? null : await loadTokenizer(model);
  const windows = calibrationWindows(data, tokenizer, sampling);
  checkWindows(windows, model.spec);
  return { windows, kind: data.kind, tokens: windows.reduce((n, w) => n + w.length, 0) };
}

async function parse(input: CalibrationInput): Promise<CalibrationData> {
  if (typeof input === 'string') {
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(input));
    } catch (e) {
      throw new CalibrationError(`cannot read calibration file ${input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseCalibration(bytes, input);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const name = (input as File).name ?? 'calibration';
    const bytes = new Uint8Array(await input.arrayBuffer());
    return parseCalibration(bytes, isGzip(bytes) && !/\.gz$/i.test(name) ? `${name}.gz` : name);
  }
  if (input instanceof Uint8Array) return parseCalibration(input, isGzip(input) ? 'calibration.gz' : 'calibration');
  if (typeof input === 'object') {
    if ('tokens' in input) {
      // Through the same checks as a .json file of windows.
      return parseCalibration(new TextEncoder().encode(JSON.stringify(input.tokens)), 'calibration tokens');
    }
    if ('text' in input && typeof input.text === 'string') {
      if (input.text.length === 0) throw new CalibrationError('calibration text is empty');
      return { kind: 'text', text: input.text };
    }
    if ('documents' in input && Array.isArray(input.documents) && input.documents.every((d) => typeof d === 'string') && input.documents.length > 0) {
      return { kind: 'documents', documents: input.documents };
    }
  }
  throw new CalibrationError('calibration must be a file path, a Blob, bytes, { tokens: number[][] }, { text } or { documents }');
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Windows the model can run: ids inside the vocabulary, lengths within its positions. */
function checkWindows(windows: number[][], spec: ModelSpec): void {
  windows.forEach((w, i) => {
    if (w.length > spec.maxPositions) throw new CalibrationError(`calibration window ${i} has ${w.length} tokens; the model has ${spec.maxPositions} positions`);
    const bad = w.findIndex((id) => id >= spec.vocabSize);
    if (bad >= 0) throw new CalibrationError(`calibration window ${i}: token id ${w[bad]} is outside the vocabulary [0, ${spec.vocabSize})`);
  });
}

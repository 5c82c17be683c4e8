// Shared by the pipeline tests: the bundled stories260K model, token windows cut from the
// TinyStories validation text (calibration from its first half, evaluation from its second),
// temporary folders, and reading a written model back.
import { readFileSync } from 'node:fs';
import { Llama2cTokenizer } from '../../src/io/llama2c-tokenizer.js';
import { toFloat32 } from '../../src/io/safetensors-reader.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { tempDir as makeTempDir } from '../support/temp-dir.js';

export const HF = 'test/fixtures/stories260K-hf';
export const BIN = 'test/fixtures/stories260K/stories260K.bin';
const TEXT = 'test/fixtures/tinystories-valid/tinystories_val.txt';

let text: string | null = null;
let tokenizer: Llama2cTokenizer | null = null;

/** REFERENCE.md's preprocessing: paragraphs joined by one newline, as the model was trained. */
function storiesText(): string {
  text ??= readFileSync(TEXT, 'utf8').trim().replaceAll('\n\n', '\n');
  return text;
}

/** BOS + run.c encoding of a slice of the validation text (characters [from, to)). */
export function storiesIds(from: number, to: number): number[] {
  tokenizer ??= new Llama2cTokenizer(readFileSync('test/fixtures/stories260K/tok512.bin'));
  return tokenizer.encode(storiesText().slice(from, to));
}

/** `n` windows of `seqlen` ids, evenly spaced over the start of the text's first half. */
export function calibrationWindows(n: number, seqlen: number): number[][] {
  const ids = storiesIds(0, 20_000);
  const step = Math.floor((ids.length - seqlen) / n);
  return Array.from({ length: n }, (_, i) => ids.slice(i * step, i * step + seqlen));
}

/** Evaluation ids from the text's second half (never seen by calibration). */
export function evaluationIds(count: number): number[] {
  const half = Math.floor(storiesText().length / 2);
  return storiesIds(half, half + count * 4).slice(0, count);
}

/** A fresh temporary folder, removed after the test file. */
export const tempDir = (prefix = 'dsnot-prune-'): string => makeTempDir(prefix);

/** Every tensor of a single-file safetensors model as float32. */
export function readWeights(file: string): Map<string, Float32Array> {
  const f = decodeSafetensors(new Uint8Array(readFileSync(file)));
  return new Map(f.header.tensors.map((t) => [t.name, toFloat32(t.dtype, f.tensor(t.name).slice())]));
}

export function zerosIn(a: Float32Array, from = 0, to = a.length): number {
  let z = 0;
  for (let i = from; i < to; i++) if (a[i] === 0) z++;
  return z;
}

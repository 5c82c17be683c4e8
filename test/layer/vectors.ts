// Loads the authors' test vectors (test/fixtures/vectors/*.safetensors, see SOURCE.md there) from
// disk; the decoding is test/support/vector.ts's, shared with the browser tests.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vectorFromBytes, type VectorData } from '../support/vector.js';

export const VECTOR_DIR = fileURLToPath(new URL('../fixtures/vectors/', import.meta.url));

export interface Vector extends VectorData {
  /** The file name inside VECTOR_DIR. */
  file: string;
}

export function vectorNames(): string[] {
  return readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.safetensors')).sort();
}

export function loadVector(file: string): Vector {
  return { ...vectorFromBytes(new Uint8Array(readFileSync(join(VECTOR_DIR, file))), file), file };
}

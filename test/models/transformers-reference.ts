// The fixtures made by Hugging Face transformers itself (test/fixtures/transformers/SOURCE.md):
// each model folder in both config layouts, and its reference.safetensors (token ids, the logits
// of the first window, per-window losses, the perplexity per seqlen).
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { tempDir } from '../support/temp-dir.js';

export const FIXTURES = 'test/fixtures/transformers';

/** The model folders (each has a reference.safetensors), by name. */
export const MODEL_NAMES = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'reference.safetensors'))).sort();

export type Layout = '5.x' | '4.x';

export interface Reference {
  tokens: number[];
  /** seqlen → perplexity (transformers, the authors' protocol). */
  perplexity: Map<number, number>;
  /** seqlen → logits of the first window's rows (row-major, vocab wide). */
  logits: Map<number, Float32Array>;
  meta: Record<string, string>;
}

export function readReference(file: string): Reference {
  const f = decodeSafetensors(new Uint8Array(readFileSync(file)));
  const meta = f.header.metadata ?? {};
  const asI32 = (b: Uint8Array) => Array.from(new Int32Array(b.slice().buffer));
  const asF32 = (b: Uint8Array) => new Float32Array(b.slice().buffer);
  const seqlens = Object.keys(meta).filter((k) => k.startsWith('perplexity_')).map((k) => Number(k.slice('perplexity_'.length)));
  return {
    tokens: asI32(f.tensor('tokens')),
    perplexity: new Map(seqlens.map((s) => [s, Number(meta[`perplexity_${s}`])])),
    logits: new Map(seqlens.map((s) => [s, asF32(f.tensor(`logits_${s}`))])),
    meta,
  };
}

export const modelReference = (name: string): Reference => readReference(join(FIXTURES, name, 'reference.safetensors'));

/** The fixture's config.json as transformers 5.x saved it. */
export const savedConfig = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8'));

/**
 * A model folder: the fixture itself for the 5.x layout; for the 4.x layout (or an edited
 * config) a copy whose config.json is config-4x.json (or the edit).
 */
export function modelDir(name: string, layout: Layout, edit?: (config: Record<string, unknown>) => void): string {
  const src = join(FIXTURES, name);
  if (layout === '5.x' && !edit) return src;
  const dir = tempDir('dsnot-hf-ref-');
  cpSync(src, dir, { recursive: true });
  if (layout === '4.x') copyFileSync(join(src, 'config-4x.json'), join(dir, 'config.json'));
  if (edit) {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    edit(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  }
  return dir;
}

export const relative = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

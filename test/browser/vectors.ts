/// <reference types="vite/client" />
// The authors' vectors in the browser: fetched from the dev server (no node:fs there).
import { decodeSafetensors, typedArrayOf } from '../../src/io/safetensors.js';

const urls = import.meta.glob('../fixtures/vectors/*.safetensors', { query: '?url', import: 'default', eager: true }) as Record<string, string>;

export interface BrowserVector {
  name: string;
  config: { sparsity: number; prune_n: number; prune_m: number; initial_method: 'wanda' | 'magnitude' | 'sparsegpt'; max_cycle_time: number; update_threshold: number; pow_of_var_regrowing: number; without_same_sign: boolean };
  rows: number;
  cols: number;
  has(name: string): boolean;
  f32(name: string): Float32Array;
  f64(name: string): Float64Array;
  u8(name: string): Uint8Array;
  int(name: string): number;
  shape(name: string): number[];
}

export function browserVectorNames(): string[] {
  return Object.keys(urls).sort();
}

export async function fetchVector(key: string): Promise<BrowserVector> {
  const res = await fetch(urls[key]);
  if (!res.ok) throw new Error(`${key}: HTTP ${res.status}`);
  const st = decodeSafetensors(new Uint8Array(await res.arrayBuffer()));
  const entries = new Map(st.header.tensors.map((t) => [t.name, t]));
  const typed = (name: string) => typedArrayOf(entries.get(name)!.dtype, st.tensor(name));
  const [rows, cols] = entries.get('W')!.shape;
  return {
    name: key.replace(/^.*\//, '').replace(/\.safetensors$/, ''),
    config: JSON.parse(st.header.metadata.config),
    rows,
    cols,
    has: (name) => entries.has(name),
    f32: (name) => Float32Array.from(typed(name) as Float32Array | Float64Array),
    f64: (name) => Float64Array.from(typed(name) as Float32Array | Float64Array),
    u8: (name) => typed(name) as Uint8Array,
    int: (name) => Number((typed(name) as BigInt64Array)[0]),
    shape: (name) => entries.get(name)!.shape,
  };
}

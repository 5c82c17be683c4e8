// One of the authors' test vectors (test/fixtures/vectors/*.safetensors, see SOURCE.md there),
// decoded from its bytes. The Node loader (test/layer/vectors.ts, node:fs) and the browser loader
// (test/browser/vectors.ts, fetch) both return this: no Node imports here.
import { decodeSafetensors, typedArrayOf } from '../../src/io/safetensors.js';

export interface VectorConfig {
  sparsity: number;
  prune_n: number;
  prune_m: number;
  initial_method: 'wanda' | 'magnitude' | 'sparsegpt';
  max_cycle_time: number;
  update_threshold: number;
  pow_of_var_regrowing: number;
  without_same_sign: boolean;
  nseq: number;
  seqlen: number;
  blocksize?: number;
  percdamp?: number;
}

export interface VectorData {
  /** The file name without .safetensors. */
  name: string;
  config: VectorConfig;
  rows: number;
  cols: number;
  has(name: string): boolean;
  f32(name: string): Float32Array;
  f64(name: string): Float64Array;
  u8(name: string): Uint8Array;
  int(name: string): number;
  shape(name: string): number[];
}

/** The vector in `bytes`, the contents of the file `file` (named in errors). */
export function vectorFromBytes(bytes: Uint8Array, file: string): VectorData {
  const st = decodeSafetensors(bytes);
  const entries = new Map(st.header.tensors.map((t) => [t.name, t]));
  const typed = (name: string) => {
    const e = entries.get(name);
    if (!e) throw new Error(`${file}: no tensor ${name}`);
    return typedArrayOf(e.dtype, st.tensor(name));
  };
  const [rows, cols] = entries.get('W')!.shape;
  return {
    name: file.replace(/^.*\//, '').replace(/\.safetensors$/, ''),
    config: JSON.parse(st.header.metadata.config) as VectorConfig,
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

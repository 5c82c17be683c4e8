// The one reading interface of the pipeline: a model's tensors by their Hugging Face names,
// read one at a time as float32, whichever format (safetensors, llama2.c) stores them.
import type { SafetensorsDType } from './safetensors.js';
import { ModelIOError } from './errors.js';
import type { ReadOptions } from './source.js';

export interface TensorInfo {
  /** Hugging Face name, e.g. 'model.layers.0.self_attn.q_proj.weight'. */
  name: string;
  /** How the tensor is stored (llama2.c: always F32). The writer keeps this dtype. */
  dtype: SafetensorsDType;
  shape: number[];
  /** Bytes as stored. */
  byteLength: number;
}

/** One output file of the same layout: which tensors, in which order, with which metadata. */
export interface ShardLayout {
  file: string;
  /** The file's `__metadata__` (string values only). */
  metadata: Record<string, string>;
  /** Tensor names in the order of their bytes in the file. */
  tensors: string[];
}

/** How the model is laid out in safetensors files (for llama2.c: the equivalent HF layout). */
export interface ModelLayout {
  shards: ShardLayout[];
  /** The `metadata` object of model.safetensors.index.json (sharded models), else null. */
  indexMetadata: Record<string, unknown> | null;
}

export interface ModelReader {
  readonly format: 'safetensors' | 'llama2c';
  /** Every tensor, in storage order (llama2.c: the order of the equivalent HF file, sorted by name). */
  readonly tensors: readonly TensorInfo[];
  readonly layout: ModelLayout;
  /** Info on one tensor, or undefined. */
  info(name: string): TensorInfo | undefined;
  /**
   * Read one tensor as float32 (F16/BF16/F64 converted; integer dtypes are an error). Pass
   * `into` (exactly the tensor's element count) to reuse a buffer across layers: fresh large
   * allocations cost page faults that can dominate the read itself.
   */
  readFloat32(name: string, options?: ReadOptions & { into?: Float32Array }): Promise<Float32Array>;
  /** Read one tensor's bytes as stored (llama2.c q/k: after the row permutation to HF order). */
  readBytes(name: string, options?: ReadOptions & { into?: Uint8Array }): Promise<Uint8Array>;
  /**
   * Read bytes [begin, begin + into.length) of one tensor as stored into `into` (returned): large
   * tensors (embeddings, lm head) pass through a small buffer instead of a tensor-sized one.
   */
  readByteRange(name: string, begin: number, into: Uint8Array, options?: ReadOptions): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A byte range [begin, begin + length) that lies inside a tensor of `byteLength` bytes. */
export function checkByteRange(name: string, byteLength: number, begin: number, length: number): void {
  if (!Number.isInteger(begin) || begin < 0 || begin + length > byteLength) {
    throw new ModelIOError(`tensor "${name}" has ${byteLength} bytes: cannot read ${length} at ${begin}`);
  }
}

/** The caller's `into` buffer if it fits the tensor exactly, else a new one. */
export function outputBuffer<T extends Float32Array | Uint8Array>(into: T | undefined, length: number, make: (n: number) => T, name: string): T {
  if (into === undefined) return make(length);
  if (into.length !== length) throw new ModelIOError(`tensor "${name}" has ${length} elements but the buffer given holds ${into.length}`);
  return into;
}

// The one seam between the pipeline and the two implementations (wasm, webgpu).
// The pipeline (src/layer.ts, src/prune.ts, src/models/*) is written once against this
// interface and never knows which implementation runs. Each kernel family has one file in
// assembly/ and one in gpu/ with the same name; the methods below are grouped the same way.
//
// Numerics contract (both backends must give bit-identical masks; see docs/NUMERICS in README):
//   * sort keys (initial metrics, the DSnoT growing score G, the Wanda pruning order) are f32,
//     computed with single correctly rounded f32 operations on host-derived f32 column vectors;
//   * the DSnoT error e is accumulated in f64 (wasm) / double-float (webgpu);
//   * ties always go to the lower column index (what a stable ascending sort does).
import type { PruneKernels } from './prune-kernels.js';
import type { ForwardKernels } from './forward-kernels.js';

export type DeviceKind = 'wasm' | 'webgpu';
export type DeviceOption = 'auto' | DeviceKind;
export type DType = 'f32' | 'u8' | 'i32';

/** A buffer that lives on a backend (wasm linear memory or a GPUBuffer). Opaque to the pipeline. */
export interface DeviceTensor {
  readonly dtype: DType;
  /** Number of elements. */
  readonly length: number;
}

export type HostArrayOf<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'u8'
    ? Uint8Array
    : Int32Array;

/** Moving data across the seam: at most once per layer in each direction. */
export interface TensorStore {
  /** Copy host data onto the device. */
  upload<D extends DType>(dtype: D, data: HostArrayOf<D>): DeviceTensor;
  /** Allocate an uninitialised tensor (contents unspecified: kernels write before they read). */
  alloc(dtype: DType, length: number): DeviceTensor;
  /** Overwrite a tensor's contents from the host (same length). */
  write<D extends DType>(t: DeviceTensor, data: HostArrayOf<D>): void;
  /**
   * Copy a tensor back to the host: into a new array, or into `into` (its dtype's array of exactly
   * `t.length` elements, returned), so that a caller reading many large tensors reuses one buffer.
   */
  read<D extends DType>(t: DeviceTensor & { dtype: D }, into?: HostArrayOf<D>): Promise<HostArrayOf<D>>;
  read(t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array): Promise<Float32Array | Uint8Array | Int32Array>;
  /** Give the memory back (the backend may keep it for the next tensor of the same size). */
  release(t: DeviceTensor): void;
}

export interface BackendInfo {
  readonly kind: DeviceKind;
  /** Human-readable: 'wasm-simd' or the GPU adapter's description. */
  readonly adapterName: string;
  /** True for software adapters such as SwiftShader or lavapipe (slow: 'auto' avoids them). */
  readonly isFallbackAdapter: boolean;
  /** CPU threads the wasm kernels run on (1 on WebGPU, whose lent wasm work has its own count). */
  readonly threads: number;
  /** Why fewer threads run than were asked for (e.g. no SharedArrayBuffer); null when all do. */
  readonly threadsNote: string | null;
}

export interface Backend extends BackendInfo, TensorStore, PruneKernels, ForwardKernels {
  /** Free every device resource. The backend is unusable afterwards. */
  dispose(): void;
  /**
   * Optional (wasm with threads): touch the pages of a fresh host array in the main thread's idle
   * moments while worker threads run kernels, since on fresh memory the page faults cost more
   * than the copy into it. Returns a function to call before the array is written (it drops the
   * part not yet done).
   */
  prefault?(array: Float32Array | Uint8Array): () => void;
  /**
   * Optional (wasm): the tensor's own memory as a host array, no copy, so that a caller can read
   * a file straight into a tensor or write one out. Valid until the tensor is released or the
   * backend next allocates (growing the memory may detach the view): take it just before use.
   */
  hostView?<D extends DType>(t: DeviceTensor & { dtype: D }): HostArrayOf<D>;
  hostView?(t: DeviceTensor): Float32Array | Uint8Array | Int32Array;
  /** Optional: dst = src on this backend, both tensors of one dtype and length (no host copy). */
  copy?(src: DeviceTensor, dst: DeviceTensor): void;
}

// The WebGPU backend: a device (device.ts), tensors as pooled GPUBuffers (store.ts), the
// pruning kernels (prune.ts) and the forward-pass kernels (forward.ts), all through one
// pipeline cache. SparseGPT and the f64 Cholesky behind obsDiagonal run on wasm.
import type { Backend, DType, DeviceTensor, HostArrayOf } from '../backend.js';
import { WasmContext } from '../wasm/context.js';
import { createWasmPruneKernels } from '../wasm/prune.js';
import { acquireGpuDevice, type AcquireOptions, WebGpuUnavailableError } from './device.js';
import { createWebGpuForwardKernels } from './forward.js';
import { PipelineCache } from './pipelines.js';
import { createWebGpuPruneKernels } from './prune.js';
import { GpuTensorStore } from './store.js';

export interface WebGpuBackendOptions extends AcquireOptions {
  /** Refuse a software adapter (SwiftShader, lavapipe) instead of using it: what 'auto' wants. */
  requireHardware?: boolean;
  /** Split work so that no storage binding exceeds this many bytes (tests of the split path). */
  maxBindingBytes?: number;
}

export interface WebGpuBackend extends Backend {
  readonly kind: 'webgpu';
  readonly device: GPUDevice;
  /** Bytes held by live tensors and by the buffer pool. */
  readonly footprint: { live: number; pooled: number };
  /** Why the device was lost, or null while it works (a lost backend must be replaced). */
  readonly lostReason: string | null;
}

export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const gpu = await acquireGpuDevice(options);
  if (gpu.isFallbackAdapter && options.requireHardware) {
    if (!options.device) gpu.device.destroy();
    throw new WebGpuUnavailableError(`only a software WebGPU adapter is available (${gpu.adapterName}, isFallbackAdapter)`);
  }
  const store = new GpuTensorStore(gpu);
  const cache = new PipelineCache(gpu.device);
  // Its few host-side kernels (e.g. the OBS diagonal) are small: one thread.
  const wasm = createWasmPruneKernels(await WasmContext.create({ threads: 1 }));
  return {
    kind: 'webgpu',
    adapterName: gpu.adapterName,
    isFallbackAdapter: gpu.isFallbackAdapter,
    threads: 1,
    threadsNote: null,
    device: gpu.device,
    get footprint() {
      return store.footprint;
    },
    get lostReason() {
      return gpu.lostReason;
    },
    upload: <D extends DType>(dtype: D, data: HostArrayOf<D>) => store.upload(dtype, data),
    alloc: (dtype: DType, length: number) => store.alloc(dtype, length),
    write: <D extends DType>(t: DeviceTensor, data: HostArrayOf<D>) => store.write(t, data),
    read: ((t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array) => store.read(t, into)) as Backend['read'],
    release: (t: DeviceTensor) => store.release(t),
    ...createWebGpuPruneKernels(gpu, store, cache, { maxBindingBytes: options.maxBindingBytes, hostKernels: wasm }),
    ...createWebGpuForwardKernels(gpu, cache, { maxBindingBytes: options.maxBindingBytes }),
    dispose() {
      store.trim();
      // A device the caller passed in stays the caller's.
      if (!options.device) gpu.device.destroy();
    },
  };
}

export { WebGpuUnavailableError, GpuDeviceLostError, GpuKernelError } from './device.js';

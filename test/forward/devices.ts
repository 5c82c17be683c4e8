// The devices a forward test runs on: wasm always; WebGPU when an adapter exists (SwiftShader in
// CI: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json NODEVICE_SELECT=1).
import type { DeviceTensor, TensorStore } from '../../src/backends/backend.js';
import type { ForwardKernels } from '../../src/backends/forward-kernels.js';
import type { ForwardBackend } from '../../src/models/decoder.js';
import { WebGpuUnavailableError } from '../../src/backends/webgpu/device.js';
import { createWebGpuForwardBackend } from '../../src/backends/webgpu/forward.js';
import { WasmContext } from '../../src/backends/wasm/context.js';
import { createWasmForwardKernels } from '../../src/backends/wasm/forward.js';

export interface ForwardDevice {
  name: 'wasm' | 'webgpu';
  store: TensorStore;
  kernels: ForwardKernels;
  /** store + kernels as one object, what the decoder models take (a full Backend is one too). */
  backend: ForwardBackend;
}

function device(name: ForwardDevice['name'], store: TensorStore, kernels: ForwardKernels): ForwardDevice {
  const backend: ForwardBackend = {
    ...kernels,
    upload: (dtype, data) => store.upload(dtype, data),
    alloc: (dtype, length) => store.alloc(dtype, length),
    write: (t, data) => store.write(t, data),
    read: ((t: DeviceTensor) => store.read(t)) as TensorStore['read'],
    release: (t) => store.release(t),
  };
  return { name, store, kernels, backend };
}

export async function wasmDevice(): Promise<ForwardDevice> {
  const ctx = await WasmContext.create();
  return device('wasm', ctx, createWasmForwardKernels(ctx));
}

/** WebGPU device, or null (with the reason) when no adapter is available here. */
export async function webgpuDevice(): Promise<ForwardDevice | { unavailable: string }> {
  try {
    const gpu = await createWebGpuForwardBackend({ allowFallbackAdapter: true });
    return { name: 'webgpu', store: gpu, kernels: gpu, backend: gpu };
  } catch (e) {
    if (e instanceof WebGpuUnavailableError) return { unavailable: e.message };
    throw e;
  }
}

/** A tensor whose every element is NaN: a kernel that skips an output element is caught. */
export function poisoned(store: TensorStore, length: number): DeviceTensor {
  return store.upload('f32', new Float32Array(length).fill(NaN));
}

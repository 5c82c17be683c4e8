// The devices a forward test runs on: the real backends (createWasmBackend, createWebGpuBackend).
// WebGPU needs an adapter: SwiftShader in CI (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
// NODEVICE_SELECT=1, see .ci/run); tests fail, not skip, when it is missing.
import type { Backend, DeviceTensor, TensorStore } from '../../src/backends/backend.js';
import type { ForwardKernels } from '../../src/backends/forward-kernels.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { WebGpuUnavailableError } from '../../src/backends/webgpu/device.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';

export interface ForwardDevice {
  name: 'wasm' | 'webgpu';
  /** The same backend seen as its tensor store, its kernels, and whole. */
  store: TensorStore;
  kernels: ForwardKernels;
  backend: Backend;
}

export async function wasmDevice(): Promise<ForwardDevice> {
  const b = await createWasmBackend();
  return { name: 'wasm', store: b, kernels: b, backend: b };
}

/** The WebGPU backend (software adapters allowed), or why there is none here. */
export async function webgpuDevice(): Promise<ForwardDevice | { unavailable: string }> {
  try {
    const b = await createWebGpuBackend();
    return { name: 'webgpu', store: b, kernels: b, backend: b };
  } catch (e) {
    if (e instanceof WebGpuUnavailableError) return { unavailable: e.message };
    throw e;
  }
}

/** A tensor whose every element is NaN: a kernel that skips an output element is caught. */
export function poisoned(store: TensorStore, length: number): DeviceTensor {
  return store.upload('f32', new Float32Array(length).fill(NaN));
}

// The devices a forward test runs on: wasm always; WebGPU when an adapter exists (SwiftShader in
// CI: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json NODEVICE_SELECT=1).
import type { DeviceTensor, TensorStore } from '../../src/backends/backend.js';
import type { ForwardKernels } from '../../src/backends/forward-kernels.js';
import { WasmContext } from '../../src/backends/wasm/context.js';
import { createWasmForwardKernels } from '../../src/backends/wasm/forward.js';

export interface ForwardDevice {
  name: 'wasm' | 'webgpu';
  store: TensorStore;
  kernels: ForwardKernels;
}

export async function wasmDevice(): Promise<ForwardDevice> {
  const ctx = await WasmContext.create();
  return { name: 'wasm', store: ctx, kernels: createWasmForwardKernels(ctx) };
}

/** WebGPU device, or null (with the reason) when no adapter is available here. */
export async function webgpuDevice(): Promise<ForwardDevice | { unavailable: string }> {
  return { unavailable: 'WebGPU forward kernels not wired yet' };
}

/** A tensor whose every element is NaN: a kernel that skips an output element is caught. */
export function poisoned(store: TensorStore, length: number): DeviceTensor {
  return store.upload('f32', new Float32Array(length).fill(NaN));
}

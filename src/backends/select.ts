// Which backend runs: 'wasm' always exists; 'webgpu' uses WebGPU (any adapter, software ones
// included) or fails with a clear error; 'auto' takes WebGPU only on a real (non-fallback)
// adapter and otherwise wasm, and says why (deviceSelectionNote, and one console warning).
// Backends are created once per process and shared (creating one compiles shaders or
// instantiates the module; its memory is reused from layer to layer).
import type { Backend, DeviceOption } from './backend.js';
import { createWasmBackend } from './wasm/index.js';
import { createWebGpuBackend, type WebGpuBackend } from './webgpu/index.js';
import { DsnotInputError } from '../validate.js';

let wasm: Promise<Backend> | undefined;
let webgpu: Promise<WebGpuBackend> | undefined;
let auto: Promise<Backend> | undefined;
let autoNote: string | null = null;

/** Why 'auto' chose wasm (no adapter, only a software one, …); null when it chose WebGPU or has not run. */
export function deviceSelectionNote(): string | null {
  return autoNote;
}

async function chooseAuto(): Promise<Backend> {
  try {
    return await createWebGpuBackend({ requireHardware: true });
  } catch (e) {
    autoNote = `device 'auto' runs on wasm: ${(e as Error).message}`;
    console.warn(`dsnot: ${autoNote}`);
    wasm ??= createWasmBackend();
    return wasm;
  }
}

/** The shared backend for a device option. Do not dispose it: later calls reuse it. */
export async function acquireBackend(option: DeviceOption = 'auto'): Promise<Backend> {
  switch (option) {
    case 'auto':
      auto ??= chooseAuto();
      return auto;
    case 'wasm':
      wasm ??= createWasmBackend();
      return wasm;
    case 'webgpu':
      // A failure (WebGpuUnavailableError) or a lost device is not kept: a later call may find one.
      if (webgpu && (await webgpu.catch(() => null))?.lostReason) webgpu = undefined;
      webgpu ??= createWebGpuBackend().catch((e) => {
        webgpu = undefined;
        throw e;
      });
      return webgpu;
    default:
      throw new DsnotInputError(`device must be 'auto', 'wasm' or 'webgpu' (got ${String(option)})`);
  }
}

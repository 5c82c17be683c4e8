// Which backend runs: 'wasm' always exists; 'auto' is wasm until the WebGPU backend exists.
// Backends are created once per process and shared (creating one compiles shaders or
// instantiates the module; its memory is reused from layer to layer).
import type { Backend, DeviceOption } from './backend.js';
import { createWasmBackend } from './wasm/index.js';
import { DsnotInputError } from '../validate.js';

let wasm: Promise<Backend> | undefined;

/** The shared backend for a device option. Do not dispose it: later calls reuse it. */
export async function acquireBackend(option: DeviceOption = 'auto'): Promise<Backend> {
  switch (option) {
    case 'auto':
    case 'wasm':
      wasm ??= createWasmBackend();
      return wasm;
    case 'webgpu':
      throw new DsnotInputError("device 'webgpu': the WebGPU backend is not available in this build; use 'wasm' or 'auto'");
    default:
      throw new DsnotInputError(`device must be 'auto', 'wasm' or 'webgpu' (got ${String(option)})`);
  }
}

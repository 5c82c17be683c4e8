// Which backend runs: 'wasm' always exists; 'webgpu' uses WebGPU (any adapter, software ones
// included) or fails with a clear error; 'auto' takes WebGPU only on a real (non-fallback)
// adapter and otherwise wasm, and says why (deviceSelectionNote, and one console warning).
// Backends are created once per process and shared (creating one compiles shaders or
// instantiates the module; its memory is reused from layer to layer). wasm backends are kept per
// thread count ('auto' resolved first), each with its own memory and workers.
import type { Backend, DeviceOption } from './backend.js';
import { createWasmBackend } from './wasm/index.js';
import { resolveThreads, type ThreadsOption } from './wasm/threads.js';
import { createWebGpuBackend, type WebGpuBackend } from './webgpu/index.js';
import { DsnotInputError } from '../validate.js';

const wasmByThreads = new Map<number, Promise<Backend>>();
let webgpu: Promise<WebGpuBackend> | undefined;
const autoByThreads = new Map<number, Promise<Backend>>();
let autoNote: string | null = null;

/** Why 'auto' chose wasm (no adapter, only a software one, …); null when it chose WebGPU or has not run. */
export function deviceSelectionNote(): string | null {
  return autoNote;
}

function wasmWith(threads: number): Promise<Backend> {
  let b = wasmByThreads.get(threads);
  if (!b) wasmByThreads.set(threads, (b = createWasmBackend({ threads })));
  return b;
}

let autoGpu: Promise<Backend | null> | undefined;

/** WebGPU on a hardware adapter (tried once per process), else wasm with `threads`. */
async function chooseAuto(threads: number): Promise<Backend> {
  autoGpu ??= createWebGpuBackend({ requireHardware: true }).catch((e: unknown) => {
    autoNote = `device 'auto' runs on wasm: ${(e as Error).message}`;
    console.warn(`dsnot: ${autoNote}`);
    return null;
  });
  return (await autoGpu) ?? wasmWith(threads);
}

export interface AcquireOptions {
  /** Threads of the wasm kernels: 'auto' (every core, at most 16; default) or a count. */
  threads?: ThreadsOption;
}

/** The shared backend for a device option. Do not dispose it: later calls reuse it. */
export async function acquireBackend(option: DeviceOption = 'auto', options: AcquireOptions = {}): Promise<Backend> {
  switch (option) {
    case 'auto': {
      const threads = await resolveThreads(options.threads);
      let b = autoByThreads.get(threads);
      if (!b) autoByThreads.set(threads, (b = chooseAuto(threads)));
      return b;
    }
    case 'wasm':
      return wasmWith(await resolveThreads(options.threads));
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

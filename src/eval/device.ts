// Which backend evaluate() runs on. 'webgpu' uses WebGPU or fails with a clear error; 'auto'
// takes WebGPU only on a real (non-fallback) adapter and otherwise wasm. A backend object
// passed in is used as it is (and not disposed).
import type { DeviceKind, DeviceOption, DeviceTensor } from '../backends/backend.js';
import { WasmContext } from '../backends/wasm/context.js';
import { createWasmForwardKernels } from '../backends/wasm/forward.js';
import type { ForwardBackend } from '../models/decoder.js';

export type EvalDevice = DeviceOption | (ForwardBackend & { kind?: DeviceKind });

export interface ResolvedDevice {
  backend: ForwardBackend;
  kind: DeviceKind;
  dispose(): void;
}

export async function resolveForwardBackend(device: EvalDevice): Promise<ResolvedDevice> {
  if (typeof device === 'object') return { backend: device, kind: device.kind ?? 'wasm', dispose() {} };
  if (device !== 'auto' && device !== 'wasm' && device !== 'webgpu') {
    throw new TypeError(`device must be 'auto', 'wasm' or 'webgpu', got ${JSON.stringify(device)}`);
  }
  if (device !== 'wasm') {
    const { createWebGpuForwardBackend } = await import('../backends/webgpu/forward.js');
    const gpu = await createWebGpuForwardBackend({ allowFallbackAdapter: device === 'webgpu' }).catch((e: Error) => {
      if (device === 'webgpu') throw e;
      return null;
    });
    if (gpu) return { backend: gpu, kind: 'webgpu', dispose: () => gpu.dispose() };
  }
  const ctx = await WasmContext.create();
  const kernels = createWasmForwardKernels(ctx);
  const backend: ForwardBackend = {
    ...kernels,
    upload: (dtype, data) => ctx.upload(dtype, data),
    alloc: (dtype, length) => ctx.alloc(dtype, length),
    write: (t, data) => ctx.write(t, data),
    read: ((t: DeviceTensor) => ctx.read(t)) as ForwardBackend['read'],
    release: (t) => ctx.release(t),
  };
  return { backend, kind: 'wasm', dispose() {} };
}

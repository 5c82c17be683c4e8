// Which backend evaluate() runs on: a device option goes through the shared backend selection
// (src/backends/select.ts: 'webgpu' or a clear error; 'auto' = WebGPU on a real adapter, else
// wasm); a backend object passed in is used as it is.
import type { DeviceKind, DeviceOption } from '../backends/backend.js';
import { acquireBackend } from '../backends/select.js';
import type { ThreadsOption } from '../backends/wasm/threads.js';
import type { ForwardBackend } from '../models/decoder.js';

export type EvalDevice = DeviceOption | (ForwardBackend & { kind?: DeviceKind });

export async function resolveForwardBackend(device: EvalDevice, threads?: ThreadsOption): Promise<{ backend: ForwardBackend; kind: DeviceKind }> {
  if (typeof device === 'object') return { backend: device, kind: device.kind ?? 'wasm' };
  const backend = await acquireBackend(device, { threads });
  return { backend, kind: backend.kind };
}

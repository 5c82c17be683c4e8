// Shared by the random-weight model tests (random-models.test.ts, gemma.test.ts): one wasm and
// one WebGPU device per test file, and the relative error the comparisons use.
import { afterAll, beforeAll, expect } from 'vitest';
import { type ForwardDevice, wasmDevice, webgpuDevice } from '../forward/devices.js';

/**
 * Registers the file's hooks: both devices are created before its tests and disposed after.
 * device(name) throws when WebGPU is missing (CI provides SwiftShader: a test fails, never skips).
 */
export function forwardDevices(): { device(name: 'wasm' | 'webgpu'): ForwardDevice } {
  const devices: Record<string, ForwardDevice | null> = { wasm: null, webgpu: null };
  let gpuMissing = '';
  beforeAll(async () => {
    devices.wasm = await wasmDevice();
    const g = await webgpuDevice();
    if ('unavailable' in g) gpuMissing = g.unavailable;
    else devices.webgpu = g;
  });
  afterAll(() => devices.webgpu?.backend.dispose());
  return {
    device(name) {
      const d = devices[name];
      if (!d) throw new Error(`no WebGPU device (CI provides SwiftShader): ${gpuMissing}`);
      return d;
    },
  };
}

/** max |got − want| / max |want| (∞ when got holds a non-finite value). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let mag = 1e-30;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - want[i]));
    mag = Math.max(mag, Math.abs(want[i]));
  }
  return err / mag;
}

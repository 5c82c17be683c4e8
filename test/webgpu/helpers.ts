// Shared by the WebGPU tests: one device per test file (Dawn on SwiftShader in CI) and a runner
// for small test-only WGSL kernels (seeded random numbers: test/support/random.ts).
import { acquireGpuDevice, type GpuDeviceHandle, untilDone } from '../../src/backends/webgpu/device.js';
import { Batch, PipelineCache, registerShader } from '../../src/backends/webgpu/pipelines.js';
import { GpuTensorStore } from '../../src/backends/webgpu/store.js';

let shared: Promise<GpuDeviceHandle> | null = null;

/** The test device. CI provides SwiftShader, so a missing adapter FAILS the test (no skipping). */
export function testGpu(): Promise<GpuDeviceHandle> {
  shared ??= acquireGpuDevice();
  return shared;
}

/**
 * Run `main` of a test kernel over `n` invocations (workgroup size 64): binding 0 = input words,
 * binding 1 = output words (poisoned with 0xAAAAAAAA first), binding 2 = uniform vec4<u32> of zeros.
 */
export async function runWords(gpu: GpuDeviceHandle, name: string, body: string, input: Uint32Array, outWords: number, n: number): Promise<Uint32Array> {
  registerShader(name, `// #import numerics
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> outp: array<u32>;
@group(0) @binding(2) var<uniform> params: vec4<u32>;
${body}`);
  const store = new GpuTensorStore(gpu);
  const cache = new PipelineCache(gpu.device);
  const messages = (await cache.messages(name)).filter((m) => m.includes('error'));
  if (messages.length) throw new Error(messages.join('\n'));
  const tin = store.upload('i32', new Int32Array(input.buffer, input.byteOffset, input.length));
  const tout = store.upload('i32', new Int32Array(outWords).fill(0xaaaaaaaa | 0));
  const batch = new Batch(gpu.device, cache);
  batch.dispatch(name, 'main', { 0: tin.buffer, 1: tout.buffer, 2: batch.uniform([0, 0, 0, 0]) }, [Math.ceil(n / 64)]);
  batch.submit();
  const out = await untilDone(gpu, store.read(tout), 'test kernel');
  return new Uint32Array(out.buffer, out.byteOffset, out.length);
}

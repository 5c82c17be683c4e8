// The WebAssembly SIMD backend: one module instance and its linear memory (WasmContext), the
// pruning kernels (prune.ts) and the forward-pass kernels (forward.ts) over it.
import type { Backend, DType, DeviceTensor, HostArrayOf } from '../backend.js';
import { WasmContext } from './context.js';
import { createWasmForwardKernels } from './forward.js';
import { createWasmPruneKernels } from './prune.js';
import type { ThreadsOption } from './threads.js';

export interface WasmBackendOptions {
  /** Threads for the kernels: 'auto' (default: every core, at most 16) or a count. */
  threads?: ThreadsOption;
}

export interface WasmBackend extends Backend {
  readonly kind: 'wasm';
  /** Bytes of linear memory: in live blocks, and reserved (the memory never shrinks). */
  readonly footprint: { live: number; reserved: number };
}

export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const ctx = await WasmContext.create(options);
  return {
    kind: 'wasm',
    get footprint() {
      return { live: ctx.liveBytes, reserved: ctx.footprint };
    },
    adapterName: 'wasm-simd',
    isFallbackAdapter: false,
    threads: ctx.threads,
    threadsNote: ctx.threadsNote,
    upload: <D extends DType>(dtype: D, data: HostArrayOf<D>) => ctx.upload(dtype, data),
    alloc: (dtype: DType, length: number) => ctx.alloc(dtype, length),
    write: <D extends DType>(t: DeviceTensor, data: HostArrayOf<D>) => ctx.write(t, data),
    read: ((t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array) => ctx.read(t, into)) as Backend['read'],
    release: (t: DeviceTensor) => ctx.release(t),
    hostView: ((t: DeviceTensor) => ctx.view(t)) as Backend['hostView'],
    copy: (src: DeviceTensor, dst: DeviceTensor) => ctx.copy(src, dst),
    ...(ctx.runner.pool ? { prefault: (a: Float32Array | Uint8Array) => prefault(ctx, a) } : {}),
    ...createWasmPruneKernels(ctx),
    // The forward pass's kernels (gemm, norm, rope, attention, act, loss).
    ...createWasmForwardKernels(ctx),
    dispose() {
      // Linear memory is reclaimed with the instance once nothing references it; workers stop now.
      ctx.dispose();
    },
  };
}

/** Pages of `a` touched in idle slices (1 MiB each: short enough to join the chunks soon). */
function prefault(ctx: WasmContext, a: Float32Array | Uint8Array): () => void {
  const owner = {};
  const step = (1 << 20) / a.BYTES_PER_ELEMENT;
  const runs: Array<() => void> = [];
  for (let i = 0; i < a.length; i += step) runs.push(() => a.fill(0, i, Math.min(a.length, i + step)));
  ctx.runner.idle.add(owner, runs);
  return () => ctx.runner.idle.cancel(owner);
}

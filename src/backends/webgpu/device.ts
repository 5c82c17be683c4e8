// Getting a GPUDevice: from a caller, from navigator.gpu (browsers, Deno), or from Dawn's
// `webgpu` package in Node (an optional dependency, loaded lazily so the package still runs
// on wasm where it is missing). Also: the limits the kernels ask for, and device loss.

/** WebGPU could not be used: no API, no adapter, or the device could not be created. */
export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

/** The device was lost (driver reset, destroy(), out of memory) while or before work ran. */
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
}

/** The GPU rejected work (a validation or out-of-memory error): a bug or a resource limit, never silent. */
export class GpuKernelError extends Error {
  override name = 'GpuKernelError';
}

/** A GPU device and what the kernels need to know about it. */
export interface GpuDeviceHandle {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly isFallbackAdapter: boolean;
  /** Resolves (never rejects) with the loss reason once the device is lost. */
  readonly lost: Promise<string>;
  /** Set once the device is lost. */
  lostReason: string | null;
  /** Uncaptured device errors since the last wait (reported by untilDone). */
  readonly errors: string[];
}

export interface AcquireOptions {
  /** Use this device instead of requesting one (its limits are taken as they are). */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
}

// dawn.node crashes if the GPU object create() returns is collected while a device lives:
// keep it for the life of the module.
let dawnGpu: GPU | null = null;
let dawnLoadError: string | null = null;

/** Why requestAdapter() found nothing: Dawn enumerated no adapter. */
export const NO_ADAPTER = 'requestAdapter() returned null: no WebGPU adapter (no GPU driver; in Node Dawn needs a Vulkan, Metal or D3D12 driver)';

/**
 * A check run before Dawn is loaded into this process (once: the load is shared): it resolves to null when Dawn may
 * be loaded, or to the reason there is no adapter, and then Dawn is never loaded here. Dawn and
 * the Vulkan loader write their warnings from native code straight to file descriptor 2, where
 * no JS hook reaches; the CLI installs a gate that asks Dawn in a child process whose stderr it
 * holds (src/backends/webgpu/probe.ts), so that a machine without a driver sees only dsnot's line.
 */
export type DawnGate = () => Promise<string | null>;
let dawnGate: DawnGate | null = null;

/** Install (or with null, remove) the check run before Dawn is loaded; no effect once it is. */
export function setDawnGate(gate: DawnGate | null): void {
  dawnGate = gate;
}

// One load for the process: concurrent callers share it (two create() calls would leave one GPU
// object unreferenced, and dawn.node crashes when it is collected), and a failure is kept.
let dawnLoad: Promise<GPU | null> | null = null;

function nodeGpu(): Promise<GPU | null> {
  dawnLoad ??= loadDawn();
  return dawnLoad;
}

async function loadDawn(): Promise<GPU | null> {
  // A gate that fails itself is no reason to refuse the GPU: load Dawn here as without one.
  const blocked = dawnGate ? await dawnGate().catch(() => null) : null;
  if (blocked !== null) {
    dawnLoadError = blocked;
    return null;
  }
  try {
    // A variable specifier keeps bundlers (tsup, Vite) from resolving the optional package.
    const name = 'webgpu';
    const dawn = (await import(/* @vite-ignore */ name)) as { create(flags: string[]): GPU; globals: object };
    dawnGpu = dawn.create([]);
    return dawnGpu;
  } catch (e) {
    dawnLoadError = `the optional 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`;
    return null;
  }
}

/** The WebGPU entry point of this runtime, or why there is none. */
export async function gpuEntry(): Promise<GPU | string> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) return (await nodeGpu()) ?? dawnLoadError!;
  return 'this runtime has no navigator.gpu (WebGPU disabled or unsupported)';
}

/** True for software adapters (SwiftShader, lavapipe, WARP); checks both places browsers put it. */
export function adapterIsFallback(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info?.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
}

export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown WebGPU adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length ? Array.from(new Set(parts)).join(' ') : 'unknown WebGPU adapter';
}

/** Request an adapter; returns it or the reason there is none (for 'auto' to report). */
export async function requestAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter | string> {
  const gpu = await gpuEntry();
  if (typeof gpu === 'string') return gpu;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference });
  } catch (e) {
    return `requestAdapter failed: ${(e as Error).message}`;
  }
  return adapter ?? NO_ADAPTER;
}

/**
 * The limits the kernels want: the largest storage binding and buffer the adapter allows
 * (weight matrices of big layers exceed the 128 MiB default), and the storage buffers per stage
 * the DSnoT kernel binds.
 */
function wantedLimits(adapter: GPUAdapter): Record<string, number> {
  const a = adapter.limits;
  return {
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxBufferSize: a.maxBufferSize,
    maxStorageBuffersPerShaderStage: Math.min(a.maxStorageBuffersPerShaderStage, 10),
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
  };
}

export async function acquireGpuDevice(opts: AcquireOptions = {}): Promise<GpuDeviceHandle> {
  if (opts.device) return wrapDevice(opts.device, describeAdapter(opts.device.adapterInfo), opts.device.adapterInfo?.isFallbackAdapter === true);
  const adapter = await requestAdapter(opts.powerPreference);
  if (typeof adapter === 'string') throw new WebGpuUnavailableError(`WebGPU unavailable: ${adapter}`);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: wantedLimits(adapter) });
  } catch (e) {
    throw new WebGpuUnavailableError(`WebGPU unavailable: requestDevice failed on ${describeAdapter(adapter.info)}: ${(e as Error).message}`);
  }
  return wrapDevice(device, describeAdapter(adapter.info), adapterIsFallback(adapter));
}

function wrapDevice(device: GPUDevice, adapterName: string, isFallbackAdapter: boolean): GpuDeviceHandle {
  const handle: GpuDeviceHandle = {
    device,
    adapterName,
    isFallbackAdapter,
    lostReason: null,
    errors: [],
    lost: device.lost.then((info) => {
      const reason = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
      handle.lostReason = reason;
      return reason;
    }),
  };
  device.addEventListener('uncapturederror', (ev) => {
    handle.errors.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  return handle;
}

/** Wait for GPU work, but turn a device loss into a clear error instead of a hang. */
export async function untilDone<T>(gpu: GpuDeviceHandle, work: Promise<T>, what: string): Promise<T> {
  if (gpu.lostReason !== null) {
    work.catch(() => {}); // it rejects too; the loss is the error to report
    throw new GpuDeviceLostError(`WebGPU device lost before ${what} (${gpu.lostReason})`);
  }
  // The loss is raced as a value (not a rejection) so nothing is left rejecting once work wins.
  const outcome = await Promise.race([
    work.then(
      (value) => ({ done: true as const, value }),
      (error: unknown) => ({ done: false as const, error }),
    ),
    gpu.lost.then((reason) => ({ done: false as const, error: new GpuDeviceLostError(`WebGPU device lost during ${what} (${reason})`) })),
  ]);
  if (!outcome.done && gpu.lostReason === null) {
    // A readback aborted by a loss can reject before device.lost settles: give it a moment.
    await Promise.race([gpu.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  if (gpu.lostReason !== null) throw new GpuDeviceLostError(`WebGPU device lost during ${what} (${gpu.lostReason})`);
  const errors = gpu.errors.splice(0);
  if (errors.length) throw new GpuKernelError(`WebGPU error during ${what}: ${errors.join('; ')}`);
  if (!outcome.done) throw outcome.error;
  return outcome.value;
}

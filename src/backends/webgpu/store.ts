// Tensors as GPUBuffers, with a pool keyed by byte size so that the buffers of one layer are
// reused by the next layer of the same shape (no allocation per call in steady state).
// u8 tensors are stored packed, four bytes per 32-bit word (WGSL has no 8-bit storage type);
// buffers are padded to a multiple of 4 bytes.
import type { DType, DeviceTensor, HostArrayOf, TensorStore } from '../backend.js';
import { checkReadTarget } from '../read-target.js';
import { type GpuDeviceHandle, GpuKernelError, untilDone } from './device.js';

export const BUFFER_USAGE = { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_MODE_READ = 1;
const BYTES: Record<DType, number> = { f32: 4, u8: 1, i32: 4 };
const STORAGE_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;

/** A tensor on the GPU. `bytes` is the padded buffer size (multiple of 4). */
export interface GpuTensor extends DeviceTensor {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
}

export function byteLength(dtype: DType, length: number): number {
  return Math.max(4, Math.ceil((length * BYTES[dtype]) / 4) * 4);
}

export function asGpu(t: DeviceTensor): GpuTensor {
  const g = t as GpuTensor;
  if (!g || !g.buffer) throw new TypeError('this tensor does not belong to the WebGPU backend');
  return g;
}

export class GpuTensorStore implements TensorStore {
  /** Free storage buffers by byte size. */
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly staging = new Map<number, GPUBuffer[]>();
  private live = 0;
  private pooled = 0;

  constructor(readonly gpu: GpuDeviceHandle) {}

  get device(): GPUDevice {
    return this.gpu.device;
  }

  /** A raw storage buffer of at least `bytes` bytes (exact size class), from the pool if possible. */
  takeBuffer(bytes: number): GPUBuffer {
    if (bytes > this.device.limits.maxBufferSize) {
      throw new GpuKernelError(`a ${bytes}-byte tensor exceeds this GPU's maxBufferSize (${this.device.limits.maxBufferSize} bytes)`);
    }
    const free = this.pool.get(bytes);
    const reused = free?.pop();
    if (reused) {
      this.pooled -= bytes;
      this.live += bytes;
      return reused;
    }
    this.live += bytes;
    return this.device.createBuffer({ size: bytes, usage: STORAGE_USAGE });
  }

  giveBuffer(buffer: GPUBuffer): void {
    const bytes = buffer.size;
    let free = this.pool.get(bytes);
    if (!free) this.pool.set(bytes, (free = []));
    free.push(buffer);
    this.live -= bytes;
    this.pooled += bytes;
  }

  alloc(dtype: DType, length: number): GpuTensor {
    const bytes = byteLength(dtype, length);
    return { dtype, length, bytes, buffer: this.takeBuffer(bytes) };
  }

  upload<D extends DType>(dtype: D, data: HostArrayOf<D>): GpuTensor {
    const t = this.alloc(dtype, data.length);
    this.write(t, data);
    return t;
  }

  write<D extends DType>(t: DeviceTensor, data: HostArrayOf<D>): void {
    const g = asGpu(t);
    if (data.length !== g.length) throw new RangeError(`write: ${data.length} elements into a tensor of ${g.length}`);
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length % 4 !== 0) {
      // writeBuffer moves whole words: pad the tail of a u8 tensor.
      const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    if (bytes.length > 0) this.device.queue.writeBuffer(g.buffer, 0, bytes as Uint8Array<ArrayBuffer>);
  }

  read<D extends DType>(t: DeviceTensor & { dtype: D }, into?: HostArrayOf<D>): Promise<HostArrayOf<D>>;
  read(t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array): Promise<Float32Array | Uint8Array | Int32Array>;
  async read(t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array): Promise<Float32Array | Uint8Array | Int32Array> {
    const g = asGpu(t);
    if (into) {
      checkReadTarget(g, into);
      // Straight from the mapped staging buffer into the caller's array: no full-size temporary.
      await this.readBytes(g.buffer, 0, g.bytes, new Uint8Array(into.buffer, into.byteOffset, into.byteLength));
      return into;
    }
    const raw = await this.readBytes(g.buffer, 0, g.bytes);
    switch (g.dtype) {
      case 'f32': return new Float32Array(raw.buffer, 0, g.length);
      case 'i32': return new Int32Array(raw.buffer, 0, g.length);
      case 'u8': return new Uint8Array(raw.buffer, 0, g.length);
    }
  }

  /**
   * Copy `bytes` bytes at `offset` of a buffer to the host (one staging copy, raced against device
   * loss): into a new array (padded to whole words), or the first `into.length` bytes into `into`.
   */
  async readBytes(buffer: GPUBuffer, offset: number, bytes: number, into?: Uint8Array): Promise<Uint8Array> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const stage = this.staging.get(size)?.pop() ?? this.device.createBuffer({ size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, offset, stage, 0, size);
    this.device.queue.submit([encoder.finish()]);
    try {
      await untilDone(this.gpu, stage.mapAsync(MAP_MODE_READ), 'a readback');
    } catch (e) {
      stage.destroy();
      throw e;
    }
    const mapped = new Uint8Array(stage.getMappedRange());
    const out = into ?? new Uint8Array(size);
    out.set(into ? mapped.subarray(0, into.length) : mapped);
    stage.unmap();
    let free = this.staging.get(size);
    if (!free) this.staging.set(size, (free = []));
    free.push(stage);
    return out;
  }

  release(t: DeviceTensor): void {
    this.giveBuffer(asGpu(t).buffer);
  }

  /** Bytes held by live tensors and by the pool (for memory reports and tests). */
  get footprint(): { live: number; pooled: number } {
    return { live: this.live, pooled: this.pooled };
  }

  /** Free every pooled buffer (live tensors stay valid). */
  trim(): void {
    for (const list of [...this.pool.values(), ...this.staging.values()]) for (const b of list) b.destroy();
    this.pool.clear();
    this.staging.clear();
    this.pooled = 0;
  }
}

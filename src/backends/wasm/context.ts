// The wasm module instance, its linear memory, and the allocator that places tensors in it.
// Kernels take byte offsets into this memory and never allocate: the host allocates once per
// layer and reuses freed blocks (first fit, neighbours merged). With threads, the module is the
// threaded build on a shared memory that the workers' instances import too (threads.ts).
import { THREADED_MEMORY_PAGES, WASM_BASE64, WASM_THREADS_BASE64 } from '../../generated/wasm.js';
import type { DType, DeviceTensor, HostArrayOf, TensorStore } from '../backend.js';
import { checkReadTarget } from '../read-target.js';
import { CONTROL_BYTES } from './chunks.js';
import { ChunkRunner, ThreadPool, resolveThreads, threadsUnavailable, type ThreadsOption } from './threads.js';

const ALIGN = 64; // one cache line; also a multiple of the 16-byte v128 width
const PAGE = 65536;
const BYTES: Record<DType, number> = { f32: 4, u8: 1, i32: 4 };

/** A tensor in wasm memory: `ptr` is a byte offset, valid until released. */
export interface WasmTensor extends DeviceTensor {
  readonly ptr: number;
  readonly bytes: number;
}

// Exports are typed loosely here; each kernel family's host wrapper narrows what it calls.
export type WasmExports = Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };

let compiled: WebAssembly.Module | undefined;
let compiledThreaded: WebAssembly.Module | undefined;

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class WasmContext implements TensorStore {
  readonly exports: WasmExports;
  readonly memory: WebAssembly.Memory;
  /** Runs the chunked kernels on this thread or over the pool. */
  readonly runner: ChunkRunner;
  /** Why fewer threads run than were asked for (no SharedArrayBuffer, …); null when all do. */
  readonly threadsNote: string | null;
  private readonly free: Array<{ start: number; size: number }> = [];
  private top: number;
  /** The first byte of the blocks allocBytes hands out. */
  private readonly heapBase: number;

  private constructor(instance: WebAssembly.Instance, memory: WebAssembly.Memory, pool: ThreadPool | null, ctl: number, note: string | null) {
    this.exports = instance.exports as unknown as WasmExports;
    this.memory = memory;
    this.top = ctl + CONTROL_BYTES;
    this.heapBase = this.top;
    this.runner = new ChunkRunner(() => this.memory, ctl, this.exports, pool);
    this.threadsNote = note;
  }

  /** Threads that run the large kernels. */
  get threads(): number {
    return this.runner.threads;
  }

  static async create(options: { threads?: ThreadsOption } = {}): Promise<WasmContext> {
    const threads = await resolveThreads(options.threads);
    const unavailable = threads > 1 ? threadsUnavailable() : null;
    if (threads > 1 && !unavailable) {
      try {
        return await WasmContext.createThreaded(threads);
      } catch (e) {
        return WasmContext.createSingle(`wasm runs on one thread instead of ${threads}: ${(e as Error).message}`);
      }
    }
    return WasmContext.createSingle(unavailable && `wasm runs on one thread instead of ${threads}: ${unavailable}`);
  }

  private static async createSingle(note: string | null): Promise<WasmContext> {
    compiled ??= await WebAssembly.compile(decodeBase64(WASM_BASE64) as BufferSource);
    const instance = await WebAssembly.instantiate(compiled, { env: { abort: abortKernel } });
    const memory = (instance.exports as unknown as WasmExports).memory;
    return new WasmContext(instance, memory, null, heapStart(instance), note);
  }

  private static async createThreaded(threads: number): Promise<WasmContext> {
    const bytes = decodeBase64(WASM_THREADS_BASE64);
    compiledThreaded ??= await WebAssembly.compile(bytes as BufferSource);
    const memory = new WebAssembly.Memory({ ...THREADED_MEMORY_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(compiledThreaded, { env: { memory, abort: abortKernel } });
    const ctl = heapStart(instance);
    const pool = await ThreadPool.create(threads, bytes, memory, ctl, instance.exports as Record<string, unknown>);
    return new WasmContext(instance, memory, pool, ctl, null);
  }

  /** Stops the worker threads (the instance and its memory go with the last reference). */
  dispose(): void {
    this.runner.dispose();
  }

  /** Fresh views each call: growing the memory detaches the old buffer. */
  f32(t: WasmTensor | number, length?: number): Float32Array {
    const [ptr, len] = typeof t === 'number' ? [t, length!] : [t.ptr, t.length];
    return new Float32Array(this.memory.buffer, ptr, len);
  }
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }
  u8(t: WasmTensor | number, length?: number): Uint8Array {
    const [ptr, len] = typeof t === 'number' ? [t, length!] : [t.ptr, t.length];
    return new Uint8Array(this.memory.buffer, ptr, len);
  }
  i32(t: WasmTensor | number, length?: number): Int32Array {
    const [ptr, len] = typeof t === 'number' ? [t, length!] : [t.ptr, t.length];
    return new Int32Array(this.memory.buffer, ptr, len);
  }

  /** Raw block of `bytes` bytes (scratch space for kernels); give it back with freeBytes. */
  allocBytes(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i];
      if (block.size >= size) {
        const ptr = block.start;
        if (block.size === size) this.free.splice(i, 1);
        else {
          block.start += size;
          block.size -= size;
        }
        return ptr;
      }
    }
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`wasm memory exhausted: cannot grow to ${(end / 2 ** 20).toFixed(0)} MiB (the 4 GiB wasm32 limit or the host's memory)`);
      }
    }
    this.top = end;
    return ptr;
  }

  freeBytes(ptr: number, bytes: number): void {
    const size = align(Math.max(bytes, 1));
    if (ptr + size === this.top) {
      this.top = ptr;
      // The block below the top may now touch it.
      const last = this.free[this.free.length - 1];
      if (last && last.start + last.size === this.top) {
        this.top = last.start;
        this.free.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.free.length && this.free[i].start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    // Merge with the right neighbour, then the left one.
    const cur = this.free[i];
    const next = this.free[i + 1];
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
  }

  alloc(dtype: DType, length: number): WasmTensor {
    const bytes = length * BYTES[dtype];
    return { dtype, length, bytes, ptr: this.allocBytes(bytes) };
  }

  upload<D extends DType>(dtype: D, data: HostArrayOf<D>): WasmTensor {
    const t = this.alloc(dtype, data.length);
    this.write(t, data);
    return t;
  }

  write<D extends DType>(t: DeviceTensor, data: HostArrayOf<D>): void {
    const w = t as WasmTensor;
    if (data.length !== w.length) throw new RangeError(`write: ${data.length} elements into a tensor of ${w.length}`);
    new Uint8Array(this.memory.buffer, w.ptr, w.bytes).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  read<D extends DType>(t: DeviceTensor & { dtype: D }, into?: HostArrayOf<D>): Promise<HostArrayOf<D>>;
  read(t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array): Promise<Float32Array | Uint8Array | Int32Array>;
  async read(t: DeviceTensor, into?: Float32Array | Uint8Array | Int32Array): Promise<Float32Array | Uint8Array | Int32Array> {
    const view = this.view(t);
    if (!into) return view.slice();
    checkReadTarget(t, into);
    into.set(view);
    return into;
  }

  /** The tensor's memory as its host array type (a fresh view: growing detaches the old ones). */
  view(t: DeviceTensor): Float32Array | Uint8Array | Int32Array {
    const w = t as WasmTensor;
    return w.dtype === 'f32' ? this.f32(w) : w.dtype === 'u8' ? this.u8(w) : this.i32(w);
  }

  copy(src: DeviceTensor, dst: DeviceTensor): void {
    const [s, d] = [src as WasmTensor, dst as WasmTensor];
    if (s.dtype !== d.dtype || s.length !== d.length) throw new RangeError(`copy: a ${s.dtype} tensor of ${s.length} into a ${d.dtype} tensor of ${d.length}`);
    new Uint8Array(this.memory.buffer).copyWithin(d.ptr, s.ptr, s.ptr + s.bytes);
  }

  release(t: DeviceTensor): void {
    const w = t as WasmTensor;
    this.freeBytes(w.ptr, w.bytes);
  }

  /** Bytes of linear memory in use or reserved (for memory reports). */
  get footprint(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes of live blocks (allocBytes not yet given back): what a leak would raise. */
  get liveBytes(): number {
    return this.top - this.heapBase - this.free.reduce((a, b) => a + b.size, 0);
  }
}

function abortKernel(_msg: number, _file: number, line: number, col: number): never {
  throw new Error(`wasm kernel aborted at ${line}:${col}`);
}

/** The first byte the host may use: the control block of the chunked jobs goes there. */
function heapStart(instance: WebAssembly.Instance): number {
  return align((instance.exports as unknown as WasmExports).heapBase());
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

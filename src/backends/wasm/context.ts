// The wasm module instance, its linear memory, and the allocator that places tensors in it.
// Kernels take byte offsets into this memory and never allocate: the host allocates once per
// layer and reuses freed blocks (first fit, neighbours merged).
import { WASM_BASE64 } from '../../generated/wasm.js';
import type { DType, DeviceTensor, HostArrayOf, TensorStore } from '../backend.js';
import { checkReadTarget } from '../read-target.js';

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

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class WasmContext implements TensorStore {
  readonly exports: WasmExports;
  private readonly free: Array<{ start: number; size: number }> = [];
  private top: number;

  private constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as WasmExports;
    this.top = align(this.exports.heapBase());
  }

  static async create(): Promise<WasmContext> {
    compiled ??= await WebAssembly.compile(decodeBase64(WASM_BASE64) as BufferSource);
    const instance = await WebAssembly.instantiate(compiled, {
      env: {
        abort(_msg: number, _file: number, line: number, col: number) {
          throw new Error(`wasm kernel aborted at ${line}:${col}`);
        },
      },
    });
    return new WasmContext(instance);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
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
    const w = t as WasmTensor;
    const view = w.dtype === 'f32' ? this.f32(w) : w.dtype === 'u8' ? this.u8(w) : this.i32(w);
    if (!into) return view.slice();
    checkReadTarget(w, into);
    into.set(view);
    return into;
  }

  release(t: DeviceTensor): void {
    const w = t as WasmTensor;
    this.freeBytes(w.ptr, w.bytes);
  }

  /** Bytes of linear memory in use or reserved (for memory reports). */
  get footprint(): number {
    return this.memory.buffer.byteLength;
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

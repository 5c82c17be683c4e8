// One decoder layer's tensors as stored (raw bytes, so an F16 layer costs its F16 size while it
// waits), read ahead of time: the pipeline asks for layer i+1 once layer i is pruned, and the
// reads run while layer i's pruned pass computes. Also the host buffers a run reuses, the stored
// form of pruned weights, and the embedding rows calibration needs.
import type { ModelReader } from '../io/model-reader.js';
import { toFloat32 } from '../io/safetensors-reader.js';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../io/half.js';
import type { SafetensorsDType } from '../io/safetensors.js';
import type { ModelSpec } from '../models/config.js';
import type { LinearSpec } from '../models/config.js';
import type { TensorSource } from '../models/decoder.js';
import { DsnotInputError, firstNonFinite } from '../validate.js';

export interface RawLayer {
  index: number;
  tensors: Map<string, { dtype: SafetensorsDType; bytes: Uint8Array }>;
  /** f32 values for the decoder's loadLayer (F16/BF16 decoded one tensor at a time). */
  source: TensorSource;
  bytes: number;
}

/** Every tensor of layer i: the decoder's (linears, biases, norms) and any other under its prefix. */
export function layerTensorNames(spec: ModelSpec, decoderNames: string[], index: number): string[] {
  return [...new Set([...decoderNames, ...spec.layers[index].copied.map((t) => t.name)])];
}

/**
 * The full-size host buffers of one run, each grown to the largest request and reused: a fresh
 * tensor-sized array per use would leave its size behind as garbage that the collector frees
 * late (and that glibc may keep), on top of the layer. Views are valid until the next request of
 * the same kind. `f32` serves two uses that never overlap: decoding a layer for its upload
 * (LayerReader) and, once the layer is on the backend, reading a pruned weight back.
 */
export class HostBuffers {
  private values = new Float32Array(0);
  private masks = new Uint8Array(0);
  private stored = new Uint8Array(0);
  private output = new Float32Array(0);

  f32(n: number): Float32Array {
    if (this.values.length < n) this.values = new Float32Array(n);
    return this.values.subarray(0, n);
  }

  u8(n: number): Uint8Array {
    if (this.masks.length < n) this.masks = new Uint8Array(n);
    return this.masks.subarray(0, n);
  }

  /** Bytes of a tensor as stored (a pruned weight's encoding). */
  bytes(n: number): Uint8Array {
    if (this.stored.length < n) this.stored = new Uint8Array(n);
    return this.stored.subarray(0, n);
  }

  /** A layer output that is not kept (the dense pass's: only its taps matter). */
  layerOutput(n: number): Float32Array {
    if (this.output.length < n) this.output = new Float32Array(n);
    return this.output.subarray(0, n);
  }

  release(): void {
    this.values = new Float32Array(0);
    this.masks = new Uint8Array(0);
    this.stored = new Uint8Array(0);
    this.output = new Float32Array(0);
  }
}

/**
 * Reads layers ahead for one run. F16/BF16 tensors are decoded, for the upload, into the run's
 * f32 host buffer: the decoder uploads (copies) each tensor before it asks for the next, so the
 * buffer is reused. A layer's stored bytes, once used, come back through recycle() and the next
 * layer is read into them (layers have the same shapes): otherwise each layer would leave its
 * stored size behind as garbage of tensor-sized blocks, which glibc keeps once freed. One reader
 * per run: the buffers must not be shared by runs that interleave.
 */
export class LayerReader {
  /** Recycled stored-bytes buffers by length, for the next read. */
  private spare = new Map<number, Uint8Array[]>();

  constructor(
    private readonly reader: ModelReader,
    private readonly signal?: AbortSignal,
    private readonly buffers = new HostBuffers(),
  ) {}

  /** Starts reading layer `index` now; failures surface when the promise is awaited. */
  prefetch(index: number, names: string[]): Promise<RawLayer> {
    const p = this.read(index, names);
    p.catch(() => {}); // never an unhandled rejection while it waits
    return p;
  }

  private async read(index: number, names: string[]): Promise<RawLayer> {
    const tensors: RawLayer['tensors'] = new Map();
    let bytes = 0;
    // One tensor at a time: a layer's reads are large and sequential already.
    for (const name of names) {
      const info = this.reader.info(name);
      if (!info) throw new Error(`tensor "${name}" is missing from the model`);
      const into = this.spare.get(info.byteLength)?.pop();
      const b = await this.reader.readBytes(name, { signal: this.signal, into });
      tensors.set(name, { dtype: info.dtype, bytes: b });
      bytes += b.length;
    }
    // Buffers of sizes this layer did not have are not kept for later ones.
    this.spare.clear();
    return {
      index,
      tensors,
      bytes,
      source: {
        // Valid until the next call (the reused buffer): for the decoder's loadLayer only.
        readFloat32: async (name) => {
          const t = tensors.get(name);
          if (!t) throw new Error(`tensor "${name}" was not read with layer ${index}`);
          return this.decode(t.dtype, t.bytes, name);
        },
      },
    };
  }

  /** A read layer's tensor bytes are no longer used: the next layer may be read into them. */
  recycle(bytes: Uint8Array): void {
    // Only whole buffers: a view into a larger one (a reader's own bytes) is not reused.
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return;
    let list = this.spare.get(bytes.length);
    if (!list) this.spare.set(bytes.length, (list = []));
    list.push(bytes);
  }

  /** Let the host buffers go (no layer is read any more). */
  release(): void {
    this.spare.clear();
    this.buffers.release();
  }

  private decode(dtype: SafetensorsDType, bytes: Uint8Array, name: string): Float32Array {
    if (dtype !== 'F16' && dtype !== 'BF16') return toFloat32(dtype, bytes, name);
    const out = this.buffers.f32(bytes.length / 2);
    if (dtype === 'F16') decodeF16(bytes, out);
    else decodeBF16(bytes, out);
    return out;
  }
}

/**
 * The source with every linear weight checked finite as it goes to the backend: the pipeline
 * prunes the weights there, where a check would need a copy (pruneLayer checks its host weight).
 */
export function finiteLinearWeights(source: TensorSource, linears: readonly LinearSpec[]): TensorSource {
  const cols = new Map(linears.map((l) => [l.weight, l.in]));
  return {
    readFloat32: async (name) => {
      const values = await source.readFloat32(name);
      const c = cols.get(name);
      const bad = c === undefined ? -1 : firstNonFinite(values);
      if (bad >= 0) throw new DsnotInputError(`${name}[${Math.floor(bad / c!)}, ${bad % c!}] is ${values[bad]}: weights must be finite`);
      return values;
    },
  };
}

/**
 * A pruned weight as it will be stored: its bytes in `dtype` (written as they are) and the values
 * those bytes hold, which the pruned pass must compute with, so that the next layer is calibrated
 * on the model that is written (SparseGPT's updated weights get rounded to F16/BF16; kept weights
 * of the other methods are stored values already and come back unchanged: `changed` false skips
 * decoding them back). With `buffers`, F16/BF16 bytes go into the run's reused buffer and the
 * rounded values replace `values` in place; both are valid until the next call.
 */
export function asStored(dtype: SafetensorsDType, values: Float32Array, changed = true, buffers?: HostBuffers): { bytes: Uint8Array; values: Float32Array } {
  switch (dtype) {
    case 'F32': return { bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), values };
    case 'F16':
    case 'BF16': {
      const into = buffers?.bytes(2 * values.length);
      const bytes = dtype === 'F16' ? encodeF16(values, into) : encodeBF16(values, into);
      // Values that came from F16/BF16 (a mask applied to them) round-trip exactly: no decode needed.
      if (!changed) return { bytes, values };
      if (!buffers) return { bytes, values: toFloat32(dtype, bytes) };
      if (dtype === 'F16') decodeF16(bytes, values);
      else decodeBF16(bytes, values);
      return { bytes, values };
    }
    case 'F64': return { bytes: new Uint8Array(Float64Array.from(values).buffer), values };
    default: throw new Error(`a pruned weight cannot be stored as ${dtype}`);
  }
}

/** Tensors that are only passed through (embedding rows, untouched tensors) move in pieces of this size. */
export const PIECE_BYTES = 16 * 2 ** 20;

/**
 * The token embedding table as the decoder's loadEmbeddings() takes it (all [vocab, dim] f32),
 * with only the rows of the given ids filled in. The rest of the table is never written, so its
 * zero pages are never touched and cost no memory: a 32000 × 4096 table would otherwise take
 * 512 MiB, more than a decoder layer, for the few thousand rows calibration needs. The stored
 * rows are read in ranged pieces of at most PIECE_BYTES, each spanning the wanted rows that fall
 * within it: sequential reads, never the whole stored table at once.
 */
export function embeddingRowsSource(
  reader: ModelReader, name: string, ids: Iterable<number>, dim: number, signal?: AbortSignal, pieceBytes = PIECE_BYTES,
): TensorSource {
  return {
    readFloat32: async (n) => {
      if (n !== name) return reader.readFloat32(n, { signal });
      const info = reader.info(name)!;
      const rows = info.shape[0];
      const rowBytes = info.byteLength / rows;
      const table = new Float32Array(rows * dim);
      // Out-of-range ids are left for embed() to refuse with its own message.
      const wanted = [...new Set(ids)].filter((id) => Number.isInteger(id) && id >= 0 && id < rows).sort((a, b) => a - b);
      const rowsPerPiece = Math.max(1, Math.floor(pieceBytes / rowBytes));
      const buffer = new Uint8Array(Math.min(rowsPerPiece, rows) * rowBytes);
      for (let k = 0; k < wanted.length;) {
        const first = wanted[k];
        let end = k;
        while (end < wanted.length && wanted[end] < first + rowsPerPiece) end++;
        const span = wanted[end - 1] - first + 1;
        const piece = await reader.readByteRange(name, first * rowBytes, buffer.subarray(0, span * rowBytes), { signal });
        for (; k < end; k++) {
          const at = (wanted[k] - first) * rowBytes;
          table.set(toFloat32(info.dtype, piece.subarray(at, at + rowBytes), name), wanted[k] * dim);
        }
      }
      return table;
    },
  };
}

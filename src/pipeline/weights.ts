// One decoder layer's tensors as stored (raw bytes, so an F16 layer costs its F16 size while it
// waits), read ahead of time: the pipeline asks for layer i+1 once layer i is pruned, and the
// reads run while layer i's pruned pass computes. Also the stored form of pruned weights and the
// embedding rows calibration needs.
import type { ModelReader } from '../io/model-reader.js';
import { toFloat32 } from '../io/safetensors-reader.js';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../io/half.js';
import type { SafetensorsDType } from '../io/safetensors.js';
import type { ModelSpec } from '../models/config.js';
import type { TensorSource } from '../models/decoder.js';

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
 * Reads layers ahead for one run. F16/BF16 tensors are decoded, for the upload, into one f32
 * buffer grown to the largest tensor: the decoder uploads (copies) each tensor before it asks for
 * the next, so the buffer is reused. Without it every layer would leave its whole f32 size behind
 * as garbage that the collector frees late, on top of the next layer. One reader per run: the
 * buffer must not be shared by runs that interleave.
 */
export class LayerReader {
  private decodeBuffer = new Float32Array(0);

  constructor(private readonly reader: ModelReader, private readonly signal?: AbortSignal) {}

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
      const b = await this.reader.readBytes(name, { signal: this.signal });
      tensors.set(name, { dtype: info.dtype, bytes: b });
      bytes += b.length;
    }
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

  /** Let the decode buffer go (no layer is read any more). */
  release(): void {
    this.decodeBuffer = new Float32Array(0);
  }

  private decode(dtype: SafetensorsDType, bytes: Uint8Array, name: string): Float32Array {
    if (dtype !== 'F16' && dtype !== 'BF16') return toFloat32(dtype, bytes, name);
    const n = bytes.length / 2;
    if (this.decodeBuffer.length < n) this.decodeBuffer = new Float32Array(n);
    const out = this.decodeBuffer.subarray(0, n);
    if (dtype === 'F16') decodeF16(bytes, out);
    else decodeBF16(bytes, out);
    return out;
  }
}

/**
 * A weight as it will be stored: its bytes in `dtype` (written as they are) and the values those
 * bytes hold, which the pruned pass must compute with, so that the next layer is calibrated on
 * the model that is written (SparseGPT's updated weights get rounded to F16/BF16; kept weights
 * of the other methods are stored values already and come back unchanged: `changed` false
 * skips decoding them back).
 */
export function asStored(dtype: SafetensorsDType, values: Float32Array, changed = true): { bytes: Uint8Array; values: Float32Array } {
  switch (dtype) {
    case 'F32': return { bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), values };
    case 'F16': {
      const bytes = encodeF16(values);
      // Values that came from F16 (a mask applied to them) round-trip exactly: no decode needed.
      return { bytes, values: changed ? toFloat32('F16', bytes) : values };
    }
    case 'BF16': {
      const bytes = encodeBF16(values);
      return { bytes, values: changed ? toFloat32('BF16', bytes) : values };
    }
    case 'F64': return { bytes: new Uint8Array(Float64Array.from(values).buffer), values };
    default: throw new Error(`a pruned weight cannot be stored as ${dtype}`);
  }
}

/**
 * The token embedding table as the decoder's loadEmbeddings() takes it (all [vocab, dim] f32),
 * with only the rows of the given ids filled in, from the table's stored bytes (read once by
 * the caller; null: read here). The rest of the table is never written, so its zero pages are
 * never touched and cost no memory: a 32000 × 4096 table would otherwise take 512 MiB, more
 * than a decoder layer, for the few thousand rows calibration needs.
 */
export function embeddingRowsSource(
  reader: ModelReader, name: string, stored: Uint8Array | null, ids: Iterable<number>, dim: number, signal?: AbortSignal,
): TensorSource {
  let bytes = stored;
  return {
    readFloat32: async (n) => {
      if (n !== name) return reader.readFloat32(n, { signal });
      const info = reader.info(name)!;
      const raw = bytes ?? (await reader.readBytes(name, { signal }));
      bytes = null;
      const rows = info.shape[0];
      const rowBytes = raw.length / rows;
      const table = new Float32Array(rows * dim);
      for (const id of new Set(ids)) {
        // Out-of-range ids are left for embed() to refuse with its own message.
        if (Number.isInteger(id) && id >= 0 && id < rows) table.set(toFloat32(info.dtype, raw.subarray(id * rowBytes, (id + 1) * rowBytes), name), id * dim);
      }
      return table;
    },
  };
}

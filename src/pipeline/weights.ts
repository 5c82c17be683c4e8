// One decoder layer's tensors as stored (raw bytes, so an F16 layer costs its F16 size while it
// waits), read ahead of time: the pipeline asks for layer i+1 as soon as layer i starts, and the
// reads run while layer i computes.
import type { ModelReader } from '../io/model-reader.js';
import { toFloat32 } from '../io/safetensors-reader.js';
import { encodeBF16, encodeF16 } from '../io/half.js';
import type { SafetensorsDType } from '../io/safetensors.js';
import type { ModelSpec } from '../models/config.js';
import type { TensorSource } from '../models/decoder.js';

export interface RawLayer {
  index: number;
  tensors: Map<string, { dtype: SafetensorsDType; bytes: Uint8Array }>;
  /** f32 view for the decoder's loadLayer (F16/BF16 decoded one tensor at a time). */
  source: TensorSource;
  bytes: number;
}

/** Every tensor of layer i: the decoder's (linears, biases, norms) and any other under its prefix. */
export function layerTensorNames(spec: ModelSpec, decoderNames: string[], index: number): string[] {
  return [...new Set([...decoderNames, ...spec.layers[index].copied.map((t) => t.name)])];
}

export async function readRawLayer(reader: ModelReader, index: number, names: string[], signal?: AbortSignal): Promise<RawLayer> {
  const tensors: RawLayer['tensors'] = new Map();
  let bytes = 0;
  // One tensor at a time: a layer's reads are large and sequential already.
  for (const name of names) {
    const info = reader.info(name);
    if (!info) throw new Error(`tensor "${name}" is missing from the model`);
    const b = await reader.readBytes(name, { signal });
    tensors.set(name, { dtype: info.dtype, bytes: b });
    bytes += b.length;
  }
  return {
    index,
    tensors,
    bytes,
    source: {
      readFloat32: async (name) => {
        const t = tensors.get(name);
        if (!t) throw new Error(`tensor "${name}" was not read with layer ${index}`);
        return toFloat32(t.dtype, t.bytes, name);
      },
    },
  };
}

/** Starts reading layer `index` now; failures surface when the promise is awaited. */
export function prefetchLayer(reader: ModelReader, index: number, names: string[], signal?: AbortSignal): Promise<RawLayer> {
  const p = readRawLayer(reader, index, names, signal);
  p.catch(() => {}); // never an unhandled rejection while it waits
  return p;
}

/**
 * The values a weight will have once stored in `dtype`: what the pruned pass must compute with,
 * so that the next layer is calibrated on the model that is written (SparseGPT's updated
 * weights get rounded; kept weights of the other methods are stored values already).
 */
export function asStored(dtype: SafetensorsDType, values: Float32Array): Float32Array {
  switch (dtype) {
    case 'F16': return toFloat32('F16', encodeF16(values));
    case 'BF16': return toFloat32('BF16', encodeBF16(values));
    default: return values;
  }
}

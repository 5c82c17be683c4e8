// TensorStore.read's optional `into` (both backends check it the same way).
import type { DeviceTensor } from './backend.js';

/** A read's `into` must be the tensor's host array type and exactly its length. */
export function checkReadTarget(t: DeviceTensor, into: Float32Array | Uint8Array | Int32Array): void {
  const type = t.dtype === 'f32' ? Float32Array : t.dtype === 'u8' ? Uint8Array : Int32Array;
  if (!(into instanceof type) || into.length !== t.length) {
    throw new RangeError(`read: a ${t.dtype} tensor of ${t.length} elements into a ${into.constructor.name} of ${into.length}`);
  }
}

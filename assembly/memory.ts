// Where the host may start placing tensors: everything below belongs to the module's static data.
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

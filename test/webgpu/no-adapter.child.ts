// Run in a child process whose Vulkan loader finds no driver (see selection.test.ts): prints
// what 'auto' and 'webgpu' do there, as one JSON line.
import { acquireBackend, deviceSelectionNote } from '../../src/backends/select.js';
import { pruneLayer } from '../../src/layer.js';

const out: Record<string, unknown> = {};
const auto = await acquireBackend('auto');
out.autoKind = auto.kind;
out.note = deviceSelectionNote();
try {
  await acquireBackend('webgpu');
  out.webgpu = 'created';
} catch (e) {
  out.webgpu = `${(e as Error).name}: ${(e as Error).message}`;
}
const stats = { scalerRow: Float64Array.of(1, 2, 3, 4), sumMetricRow: Float64Array.of(1, -1, 2, -2), var: Float64Array.of(1, 1, 1, 1) };
const layer = { weight: Float32Array.of(1, -2, 3, -4, 5, -6, 7, -8), rows: 2, cols: 4, stats, sparsity: 0.5, init: 'wanda' as const, dsnot: { guard: false } };
out.layerAutoDevice = (await pruneLayer({ ...layer, device: 'auto' })).device;
try {
  await pruneLayer({ ...layer, device: 'webgpu' });
  out.layerWebgpu = 'ran';
} catch (e) {
  out.layerWebgpu = `${(e as Error).name}: ${(e as Error).message}`;
}
console.log(`RESULT ${JSON.stringify(out)}`);

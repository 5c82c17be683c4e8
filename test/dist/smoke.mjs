// Loads the BUILT package (dist/) the way a user's runtime would — `esm` (import), `cjs`
// (require) — and prunes a test vector on wasm, printing one JSON line: the runtime, the device
// and how many mask entries differ from the authors' mask. Run by test/dist/runtimes.test.ts
// under Node and Deno.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [kind, vector] = (globalThis.Deno ? Deno.args : process.argv.slice(2));
const dist = new URL('../../dist/', import.meta.url);
const lib = kind === 'cjs' ? createRequire(import.meta.url)(new URL('index.cjs', dist).pathname) : await import(new URL('index.js', dist).href);

const file = lib.decodeSafetensors(new Uint8Array(readFileSync(vector)));
const f32 = (name) => new Float32Array(file.tensor(name).slice().buffer);
const f64 = (name) => new Float64Array(file.tensor(name).slice().buffer);
const [rows, cols] = file.header.tensors.find((t) => t.name === 'W').shape;
const result = await lib.pruneLayer({
  weight: f32('W'), rows, cols,
  stats: { scalerRow: f64('scaler_row'), sumMetricRow: f64('sum_metric_row'), var: f64('var') },
  sparsity: JSON.parse(file.header.metadata.config).sparsity,
  init: 'wanda',
  dsnot: { guard: false }, // the authors' DSnoT: the vector's mask
  device: 'wasm',
});
const expected = file.tensor('dsnot_mask');
let mismatches = 0;
for (let i = 0; i < expected.length; i++) if (expected[i] !== result.mask[i]) mismatches++;
console.log(JSON.stringify({ runtime: globalThis.Deno ? 'deno' : 'node', kind, device: result.device, mismatches, pruned: result.mask.reduce((a, b) => a + b, 0) }));

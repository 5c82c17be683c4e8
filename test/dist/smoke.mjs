// Loads the BUILT package the way a user's runtime would — `esm` (import), `cjs` (require) — and
// prunes a test vector on wasm, printing one JSON line: the runtime, the device and how many mask
// entries differ from the authors' mask. The third argument says what is loaded: `dist` (the
// default: ../../dist/ of this repository) or `package` (the bare name `dsnot`, resolved through
// its package.json's export map from where this file sits: test/dist/pack.test.ts copies it next
// to a node_modules/ holding the packed tarball). Run by test/dist/runtimes.test.ts under Node,
// Deno and Bun.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [kind, vector, from = 'dist'] = (globalThis.Deno ? Deno.args : process.argv.slice(2));
const require = createRequire(import.meta.url);
async function load() {
  if (from === 'package') return kind === 'cjs' ? require('dsnot') : await import('dsnot');
  const dist = new URL('../../dist/', import.meta.url);
  return kind === 'cjs' ? require(new URL('index.cjs', dist).pathname) : await import(new URL('index.js', dist).href);
}
const lib = await load();

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
const runtime = globalThis.Bun ? 'bun' : globalThis.Deno ? 'deno' : 'node';
console.log(JSON.stringify({ runtime, kind, device: result.device, mismatches, pruned: result.mask.reduce((a, b) => a + b, 0) }));

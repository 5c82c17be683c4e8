// The ggml backend-op idea: one table of kernels × shapes, run on every device present, each
// result checked against the plain f64 reference in reference.ts, and the WebGPU results also
// against wasm's. Outputs are poisoned with NaN before the kernel writes them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceTensor } from '../../src/backends/backend.js';
import { KernelShapeError } from '../../src/backends/forward-kernels.js';
import { ropeTable } from '../../src/models/rope.js';
import { type ForwardDevice, poisoned, wasmDevice, webgpuDevice } from './devices.js';
import * as ref from './reference.js';

interface Case {
  kernel: string;
  shape: string;
  /** Runs the kernel on a device and returns the output it wrote. */
  run(dev: ForwardDevice): Promise<Float32Array>;
  expected(): ArrayLike<number>;
  /** Allowed max |got − expected| relative to max(1, max |expected|). */
  tol: number;
}

const cases: Case[] = [];
let seed = 1;
const rnd = (n: number, scale = 1): Float32Array => ref.randn(n, seed++, scale);

for (const [rows, inDim, outDim, bias] of [
  [1, 4, 3, false], [5, 7, 9, true], [13, 64, 66, false], [4, 1026, 17, true], [33, 130, 35, true], [8, 600, 40, false],
] as const) {
  const x = rnd(rows * inDim);
  const w = rnd(outDim * inDim);
  const b = bias ? rnd(outDim) : null;
  cases.push({
    kernel: 'gemm', shape: `${rows}×${inDim}→${outDim}${bias ? '+b' : ''}`, tol: 2e-6 * Math.sqrt(inDim),
    async run({ store, kernels }) {
      const y = poisoned(store, rows * outDim);
      kernels.gemm(store.upload('f32', x), store.upload('f32', w), b ? store.upload('f32', b) : null, y, rows, inDim, outDim);
      return store.read(y as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.gemm(x, w, b, rows, inDim, outDim),
  });
}

for (const [rows, dim] of [[1, 4], [7, 64], [5, 173]] as const) {
  const x = rnd(rows * dim, 3);
  const w = rnd(dim);
  const b = rnd(dim);
  cases.push({
    kernel: 'rmsNorm', shape: `${rows}×${dim}`, tol: 1e-5,
    async run({ store, kernels }) {
      const y = poisoned(store, rows * dim);
      kernels.rmsNorm(store.upload('f32', x), store.upload('f32', w), y, rows, dim, 1e-5);
      return store.read(y as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.rmsNorm(x, w, rows, dim, 1e-5),
  });
  // Offset rows (mean ≫ spread) check that LayerNorm does not cancel catastrophically.
  const shifted = x.map((v) => v + 50);
  cases.push({
    kernel: 'layerNorm', shape: `${rows}×${dim}`, tol: 2e-4,
    async run({ store, kernels }) {
      const y = poisoned(store, rows * dim);
      kernels.layerNorm(store.upload('f32', shifted), store.upload('f32', w), store.upload('f32', b), y, rows, dim, 1e-5);
      return store.read(y as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.layerNorm(shifted, w, b, rows, dim, 1e-5),
  });
}

// rotaryDim < headDim: partial_rotary_factor (the features past rotaryDim must come back unchanged).
for (const [rows, heads, headDim, rotaryDim, offset, theta] of [
  [3, 2, 8, 8, 0, 10000], [9, 3, 6, 6, 5, 10000], [17, 4, 64, 64, 100, 1e6], [5, 3, 16, 8, 2, 10000], [11, 2, 24, 6, 7, 500],
] as const) {
  const x = rnd(rows * heads * headDim);
  cases.push({
    kernel: 'rope', shape: `${rows}×${heads}h×${headDim} rot ${rotaryDim} @${offset} θ=${theta}`, tol: 2e-6,
    async run({ store, kernels }) {
      const t = store.upload('f32', x);
      kernels.rope(t, store.upload('f32', ropeTable(theta, rotaryDim, offset + rows)), rows, heads, headDim, rotaryDim, offset);
      return store.read(t as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.rope(x, rows, heads, headDim, theta, offset, rotaryDim),
  });
}

for (const [tokens, heads, kvHeads, headDim, window] of [
  [1, 2, 2, 4, 0], [7, 4, 2, 8, 0], [19, 6, 3, 10, 0], [33, 8, 1, 16, 0], [12, 4, 4, 8, 5],
  // Several GPU workgroups (64 rows) and staged key blocks (BK = 2048 / headDim, at most 64).
  [70, 4, 2, 8, 0], [100, 2, 1, 64, 0], [90, 2, 2, 32, 37], [67, 2, 1, 128, 0],
] as const) {
  const q = rnd(tokens * heads * headDim, 2);
  const k = rnd(tokens * kvHeads * headDim, 2);
  const v = rnd(tokens * kvHeads * headDim);
  const scale = 1 / Math.sqrt(headDim);
  cases.push({
    kernel: 'attention', shape: `T${tokens} ${heads}/${kvHeads}h×${headDim}${window ? ` w${window}` : ''}`, tol: 1e-5,
    async run({ store, kernels }) {
      const out = poisoned(store, tokens * heads * headDim);
      kernels.attention(store.upload('f32', q), store.upload('f32', k), store.upload('f32', v), out, { tokens, heads, kvHeads, headDim, scale, window });
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.attention(q, k, v, tokens, heads, kvHeads, headDim, scale, window),
  });
}

// Soft-capped scores (Gemma 2's attn_logit_softcapping): caps small enough that tanh saturates
// for some scores (q, k scaled by 4), with and without a window.
for (const [tokens, heads, kvHeads, headDim, window, cap] of [
  [9, 4, 2, 8, 0, 2], [70, 2, 1, 16, 0, 5], [33, 4, 4, 12, 6, 1.5],
] as const) {
  const q = rnd(tokens * heads * headDim, 4);
  const k = rnd(tokens * kvHeads * headDim, 4);
  const v = rnd(tokens * kvHeads * headDim);
  const scale = 1 / Math.sqrt(headDim);
  cases.push({
    kernel: 'attention', shape: `T${tokens} ${heads}/${kvHeads}h×${headDim}${window ? ` w${window}` : ''} softcap ${cap}`, tol: 2e-5,
    async run({ store, kernels }) {
      const out = poisoned(store, tokens * heads * headDim);
      kernels.attention(store.upload('f32', q), store.upload('f32', k), store.upload('f32', v), out, { tokens, heads, kvHeads, headDim, scale, window, softcap: cap });
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.attention(q, k, v, tokens, heads, kvHeads, headDim, scale, window, cap),
  });
}

for (const n of [1, 6, 1001]) {
  const a = rnd(n, 6);
  const b = rnd(n, 2);
  cases.push({
    kernel: 'geluTanhMul', shape: `${n}`, tol: 1e-6,
    async run({ store, kernels }) {
      const out = poisoned(store, n);
      kernels.geluTanhMul(store.upload('f32', a), store.upload('f32', b), out, n);
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from(a, (g, i) => ref.geluTanh(g) * b[i]),
  });
  // Logits of ±40 against caps of 30 and 3: both the near-linear and the saturated range.
  for (const cap of [30, 3]) {
    const x = rnd(n, 40);
    cases.push({
      kernel: 'softcap', shape: `${n} cap ${cap}`, tol: 1e-6,
      async run({ store, kernels }) {
        const out = poisoned(store, n);
        kernels.softcap(store.upload('f32', x), out, n, cap);
        return store.read(out as DeviceTensor & { dtype: 'f32' });
      },
      expected: () => Array.from(x, (v) => Math.tanh(v / cap) * cap),
    });
  }
  cases.push({
    kernel: 'siluMul', shape: `${n}`, tol: 1e-6,
    async run({ store, kernels }) {
      const out = poisoned(store, n);
      kernels.siluMul(store.upload('f32', a), store.upload('f32', b), out, n);
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from(a, (g, i) => ref.silu(g) * b[i]),
  });
  cases.push({
    kernel: 'relu', shape: `${n}`, tol: 0,
    async run({ store, kernels }) {
      const out = poisoned(store, n);
      kernels.relu(store.upload('f32', a), out, n);
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from(a, (x) => Math.max(x, 0)),
  });
  cases.push({
    kernel: 'add', shape: `${n}`, tol: 1e-6,
    async run({ store, kernels }) {
      const out = poisoned(store, n);
      kernels.add(store.upload('f32', a), store.upload('f32', b), out, n);
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from(a, (x, i) => x + b[i]),
  });
}

// One part of a fused projection's rows (Phi-3's qkv_proj → q, k, v): first, middle, last columns.
for (const [rows, xCols, offset, width] of [[1, 5, 0, 5], [3, 24, 16, 4], [7, 30, 10, 13], [65, 72, 61, 11]] as const) {
  const x = rnd(rows * xCols);
  cases.push({
    kernel: 'copyColumns', shape: `${rows}×${xCols} [${offset}, ${offset + width})`, tol: 0,
    async run({ store, kernels }) {
      const y = poisoned(store, rows * width);
      kernels.copyColumns(store.upload('f32', x), y, rows, xCols, offset, width);
      return store.read(y as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from({ length: rows * width }, (_, i) => x[Math.floor(i / width) * xCols + offset + (i % width)]),
  });
}

// A slice of logits into its columns of the full rows (the lm head split by vocabulary): the
// other columns must keep what they held, so y starts as known random values, not poison.
for (const [rows, yCols, offset, width] of [[1, 5, 0, 5], [3, 24, 16, 4], [7, 30, 10, 13], [65, 72, 61, 11]] as const) {
  const x = rnd(rows * width, 3);
  const before = rnd(rows * yCols, 5);
  cases.push({
    kernel: 'placeColumns', shape: `${rows}×${yCols} [${offset}, ${offset + width})`, tol: 0,
    async run({ store, kernels }) {
      const y = store.upload('f32', before);
      kernels.placeColumns(store.upload('f32', x), y, rows, yCols, offset, width);
      return store.read(y as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => Array.from(before, (v, i) => {
      const [r, c] = [Math.floor(i / yCols), i % yCols];
      return c >= offset && c < offset + width ? x[r * width + c - offset] : v;
    }),
  });
}

// In-place forms (the output aliases an input): WebGPU serves them with separate entry points.
{
  const [rows, dim, n] = [3, 40, 77];
  const x = rnd(rows * dim, 2);
  const w = rnd(dim);
  const b = rnd(dim);
  const a = rnd(n, 4);
  const c = rnd(n, 2);
  const inPlace = (kernel: string, input: Float32Array, go: (d: ForwardDevice, t: DeviceTensor) => void, expected: () => ArrayLike<number>, tol = 1e-5): Case => ({
    kernel, shape: 'in place', tol, expected,
    async run(d) {
      const t = d.store.upload('f32', input);
      go(d, t);
      return d.store.read(t as DeviceTensor & { dtype: 'f32' });
    },
  });
  cases.push(
    inPlace('rmsNorm', x, (d, t) => d.kernels.rmsNorm(t, d.store.upload('f32', w), t, rows, dim, 1e-6), () => ref.rmsNorm(x, w, rows, dim, 1e-6)),
    inPlace('layerNorm', x, (d, t) => d.kernels.layerNorm(t, d.store.upload('f32', w), d.store.upload('f32', b), t, rows, dim, 1e-5), () => ref.layerNorm(x, w, b, rows, dim, 1e-5)),
    inPlace('add out=a', a, (d, t) => d.kernels.add(t, d.store.upload('f32', c), t, n), () => Array.from(a, (v, i) => v + c[i])),
    inPlace('add out=b', a, (d, t) => d.kernels.add(d.store.upload('f32', c), t, t, n), () => Array.from(a, (v, i) => v + c[i])),
    inPlace('siluMul out=gate', a, (d, t) => d.kernels.siluMul(t, d.store.upload('f32', c), t, n), () => Array.from(a, (g, i) => ref.silu(g) * c[i])),
    inPlace('siluMul out=up', c, (d, t) => d.kernels.siluMul(d.store.upload('f32', a), t, t, n), () => Array.from(a, (g, i) => ref.silu(g) * c[i])),
    inPlace('geluTanhMul out=gate', a, (d, t) => d.kernels.geluTanhMul(t, d.store.upload('f32', c), t, n), () => Array.from(a, (g, i) => ref.geluTanh(g) * c[i])),
    inPlace('geluTanhMul out=up', c, (d, t) => d.kernels.geluTanhMul(d.store.upload('f32', a), t, t, n), () => Array.from(a, (g, i) => ref.geluTanh(g) * c[i])),
    inPlace('softcap', a, (d, t) => d.kernels.softcap(t, t, n, 2), () => Array.from(a, (v) => Math.tanh(v / 2) * 2)),
    inPlace('relu', a, (d, t) => d.kernels.relu(t, t, n), () => Array.from(a, (v) => Math.max(v, 0)), 0),
  );
}

for (const [rows, vocab] of [[1, 5], [6, 512], [3, 1003]] as const) {
  const logits = rnd(rows * vocab, 12);
  const targets = Int32Array.from({ length: rows }, (_, i) => (i * 7919 + 3) % vocab);
  cases.push({
    kernel: 'nll', shape: `${rows}×${vocab}`, tol: 2e-6,
    async run({ store, kernels }) {
      const out = poisoned(store, rows);
      kernels.nll(store.upload('f32', logits), store.upload('i32', targets), out, rows, vocab);
      return store.read(out as DeviceTensor & { dtype: 'f32' });
    },
    expected: () => ref.nll(logits, targets, rows, vocab),
  });
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let mag = 1;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - want[i]));
    mag = Math.max(mag, Math.abs(want[i]));
  }
  return err / mag;
}

const devices: ForwardDevice[] = [];
let gpuMissing = '';
const wasmResults = new Map<Case, Float32Array>();
beforeAll(async () => {
  devices.push(await wasmDevice());
  const gpu = await webgpuDevice();
  if ('unavailable' in gpu) gpuMissing = gpu.unavailable;
  else devices.push(gpu);
});
afterAll(() => {
  for (const d of devices) d.backend.dispose();
});

describe.each(['wasm', 'webgpu'] as const)('forward kernels on %s', (name) => {
  it.each(cases.map((c) => [`${c.kernel} ${c.shape}`, c] as const))('%s', async (_label, c) => {
    const dev = devices.find((d) => d.name === name);
    // CI provides SwiftShader (see .ci/run): a missing adapter is a failure, not a skip.
    if (!dev) throw new Error(`no WebGPU device: ${gpuMissing}`);
    const got = await c.run(dev);
    expect(relErr(got, c.expected())).toBeLessThanOrEqual(c.tol);
    if (name === 'wasm') wasmResults.set(c, got);
    else if (wasmResults.has(c)) expect(relErr(got, wasmResults.get(c)!)).toBeLessThanOrEqual(c.tol);
  });
});

describe('forward kernel shape checks', () => {
  it('refuses tensors smaller than the shape, wrong dtypes and aliasing', async () => {
    const { store, kernels } = await wasmDevice();
    const x = store.upload('f32', rnd(12));
    const w = store.upload('f32', rnd(12));
    const y = store.alloc('f32', 8);
    expect(() => kernels.gemm(x, w, null, y, 3, 4, 3)).toThrow(KernelShapeError);
    expect(() => kernels.gemm(x, w, null, y, 3, 4, 3)).toThrow(/gemm: y holds 8 elements, the shape needs 9/);
    expect(() => kernels.gemm(x, w, null, x, 3, 4, 3)).toThrow(/alias/);
    expect(() => kernels.nll(x, x, y, 3, 4)).toThrow(/targets is f32, expected i32/);
    expect(() => kernels.attention(x, x, x, y, { tokens: 1, heads: 3, kvHeads: 2, headDim: 2, scale: 1, window: 0 })).toThrow(/multiple/);
    expect(() => kernels.softcap(x, y, 4, 0)).toThrow(/softcap: cap 0 must be a positive number/);
    expect(() => kernels.softcap(x, y, 9, 1)).toThrow(/softcap: out holds 8 elements/);
    expect(() => kernels.copyColumns(x, y, 3, 4, 2, 3)).toThrow(/columns \[2, 5\) are not inside rows of 4/);
    expect(() => kernels.copyColumns(x, x, 3, 4, 0, 2)).toThrow(/alias/);
    expect(() => kernels.placeColumns(y, x, 3, 4, 2, 3)).toThrow(/columns \[2, 5\) are not inside rows of 4/);
    expect(() => kernels.placeColumns(x, x, 3, 4, 0, 2)).toThrow(/alias/);
  });
});

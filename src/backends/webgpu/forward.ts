// The forward-pass kernels on WebGPU: gpu/{gemm,norm,rope,attention,act,loss}.wgsl dispatched
// through the pipeline cache. Each call records one dispatch with its own uniform block and
// submits it; queue order makes later kernels (and TensorStore.read) see earlier results.
// WebGPU forbids binding one buffer twice when one binding is writable, so outputs that alias
// an input go to the *_inplace entry points.
import type { DeviceTensor } from '../backend.js';
import { type ForwardKernels, KernelShapeError, withShapeChecks } from '../forward-kernels.js';
import type { GpuDeviceHandle } from './device.js';
import { Batch, type Bindings, grid, type PipelineCache } from './pipelines.js';
import { asGpu } from './store.js';

const GEMM_TILE = 64;
const ELEMENTWISE_WG = 64;
const MAX_HEAD_DIM = 256;

function f32Bits(v: number): number {
  return new Uint32Array(Float32Array.of(v).buffer)[0];
}

export function createWebGpuForwardKernels(gpu: GpuDeviceHandle, cache: PipelineCache, options: { maxBindingBytes?: number } = {}): ForwardKernels {
  const device = gpu.device;
  const limits = device.limits;
  const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
  const run = (shader: string, entry: string, bindings: (b: Batch) => Bindings, workgroups: [number, number?, number?]): void => {
    const batch = new Batch(device, cache, shader);
    batch.dispatch(shader, entry, bindings(batch), workgroups);
    batch.submit();
  };
  const buf = (t: DeviceTensor): GPUBuffer => asGpu(t).buffer;
  // One invocation per element (workgroups of 64), spread over two grid dimensions when large.
  const elementGrid = (n: number): [number, number] => grid(Math.ceil(n / ELEMENTWISE_WG), maxDim);
  // One invocation per row (norms, loss), workgroups of 64.
  const rowGrid = (rows: number): [number, number] => elementGrid(rows);

  return withShapeChecks({
    maxTensorBytes: Math.min(options.maxBindingBytes ?? Infinity, limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    gemm(x, w, bias, y, rows, inDim, outDim) {
      const wg: [number, number] = [Math.ceil(outDim / GEMM_TILE), Math.ceil(rows / GEMM_TILE)];
      if (wg[0] > maxDim || wg[1] > maxDim) throw new KernelShapeError(`gemm: ${rows}×${outDim} exceeds this GPU's dispatch grid`);
      run('gemm', 'gemm', (b) => ({
        0: buf(x), 1: buf(w), 2: buf(bias ?? w), 3: buf(y),
        4: b.uniform([rows, inDim, outDim, bias ? 1 : 0]),
      }), wg);
    },
    rmsNorm(x, weight, y, rows, dim, eps) {
      const u = (b: Batch) => b.uniform([rows, dim, f32Bits(eps), 0]);
      if (x === y) run('norm', 'rms_norm_inplace', (b) => ({ 1: buf(weight), 3: buf(y), 4: u(b) }), rowGrid(rows));
      else run('norm', 'rms_norm', (b) => ({ 0: buf(x), 1: buf(weight), 3: buf(y), 4: u(b) }), rowGrid(rows));
    },
    layerNorm(x, weight, bias, y, rows, dim, eps) {
      const u = (b: Batch) => b.uniform([rows, dim, f32Bits(eps), 0]);
      if (x === y) run('norm', 'layer_norm_inplace', (b) => ({ 1: buf(weight), 2: buf(bias), 3: buf(y), 4: u(b) }), rowGrid(rows));
      else run('norm', 'layer_norm', (b) => ({ 0: buf(x), 1: buf(weight), 2: buf(bias), 3: buf(y), 4: u(b) }), rowGrid(rows));
    },
    rope(x, table, rows, heads, headDim, rotaryDim, posOffset) {
      run('rope', 'rope', (b) => ({ 0: buf(x), 1: buf(table), 2: b.uniform([rows, heads, headDim, rotaryDim, posOffset, 0, 0, 0]) }), elementGrid((rows * heads * rotaryDim) / 2));
    },
    attention(q, k, v, out, s) {
      if (s.headDim > MAX_HEAD_DIM) throw new KernelShapeError(`attention: head dimension ${s.headDim} exceeds the WebGPU kernel's ${MAX_HEAD_DIM}`);
      const wg: [number, number] = [Math.ceil(s.tokens / 64), s.heads];
      if (wg[0] > maxDim || wg[1] > maxDim) throw new KernelShapeError(`attention: ${s.tokens} tokens × ${s.heads} heads exceed this GPU's dispatch grid`);
      // Pipeline constants: the head size, and keys per staged block (both tiles in 16 KiB).
      const constants = { HEAD_DIM: s.headDim, BK: Math.min(64, Math.floor(2048 / s.headDim)) };
      const batch = new Batch(device, cache, 'attention');
      batch.dispatch('attention', 'attention', {
        0: buf(q), 1: buf(k), 2: buf(v), 3: buf(out),
        4: batch.uniform([s.tokens, s.heads, s.kvHeads, s.headDim, f32Bits(s.scale), s.window, f32Bits(s.softcap ?? 0), 0]),
      }, wg, constants);
      batch.submit();
    },
    siluMul(gate, up, out, length) {
      if (gate === up && out === gate) throw new KernelShapeError('siluMul: out may alias gate or up, not both');
      const u = (b: Batch) => b.uniform([length, 0, 0, 0]);
      if (out === gate) run('act', 'silu_mul_inplace', (b) => ({ 1: buf(up), 2: buf(out), 3: u(b) }), elementGrid(length));
      else if (out === up) run('act', 'silu_mul_inplace_up', (b) => ({ 0: buf(gate), 2: buf(out), 3: u(b) }), elementGrid(length));
      else run('act', 'silu_mul', (b) => ({ 0: buf(gate), 1: buf(up), 2: buf(out), 3: u(b) }), elementGrid(length));
    },
    geluTanhMul(gate, up, out, length) {
      if (gate === up && out === gate) throw new KernelShapeError('geluTanhMul: out may alias gate or up, not both');
      const u = (b: Batch) => b.uniform([length, 0, 0, 0]);
      if (out === gate) run('act', 'gelu_tanh_mul_inplace', (b) => ({ 1: buf(up), 2: buf(out), 3: u(b) }), elementGrid(length));
      else if (out === up) run('act', 'gelu_tanh_mul_inplace_up', (b) => ({ 0: buf(gate), 2: buf(out), 3: u(b) }), elementGrid(length));
      else run('act', 'gelu_tanh_mul', (b) => ({ 0: buf(gate), 1: buf(up), 2: buf(out), 3: u(b) }), elementGrid(length));
    },
    softcap(x, out, length, cap) {
      const u = (b: Batch) => b.uniform([length, f32Bits(cap), 0, 0]);
      if (out === x) run('act', 'softcap_inplace', (b) => ({ 2: buf(out), 3: u(b) }), elementGrid(length));
      else run('act', 'softcap', (b) => ({ 0: buf(x), 2: buf(out), 3: u(b) }), elementGrid(length));
    },
    relu(x, out, length) {
      const u = (b: Batch) => b.uniform([length, 0, 0, 0]);
      if (out === x) run('act', 'relu_inplace', (b) => ({ 2: buf(out), 3: u(b) }), elementGrid(length));
      else run('act', 'relu', (b) => ({ 0: buf(x), 2: buf(out), 3: u(b) }), elementGrid(length));
    },
    add(a, b2, out, length) {
      const u = (b: Batch) => b.uniform([length, 0, 0, 0]);
      if (out === a && out === b2) throw new KernelShapeError('add: out may alias one input, not both');
      if (out === a || out === b2) {
        const other = out === a ? b2 : a;
        run('act', 'add_inplace', (b) => ({ 1: buf(other), 2: buf(out), 3: u(b) }), elementGrid(length));
      } else run('act', 'add', (b) => ({ 0: buf(a), 1: buf(b2), 2: buf(out), 3: u(b) }), elementGrid(length));
    },
    copyColumns(x, y, rows, xCols, offset, width) {
      const length = rows * width;
      run('act', 'copy_columns', (b) => ({ 0: buf(x), 2: buf(y), 4: b.uniform([length, xCols, offset, width]) }), elementGrid(length));
    },
    placeColumns(x, y, rows, yCols, offset, width) {
      const length = rows * width;
      run('act', 'place_columns', (b) => ({ 0: buf(x), 2: buf(y), 4: b.uniform([length, yCols, offset, width]) }), elementGrid(length));
    },
    nll(logits, targets, out, rows, vocab) {
      run('loss', 'nll_rows', (b) => ({ 0: buf(logits), 1: buf(targets), 2: buf(out), 3: b.uniform([rows, vocab, 0, 0]) }), rowGrid(rows));
    },
  });
}

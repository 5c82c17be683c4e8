// The forward-pass kernels on wasm: thin calls into assembly/{gemm,norm,rope,attention,act,loss}.ts
// with byte offsets (the GEMM split by output columns, the attention by heads, over the threads).
// The only memory this file owns is the attention kernel's row of scores per thread, grown when a
// longer sequence arrives and kept for the next call.
import type { DeviceTensor } from '../backend.js';
import { type ForwardKernels, withShapeChecks } from '../forward-kernels.js';
import type { WasmContext, WasmTensor } from './context.js';

const ptr = (t: DeviceTensor): number => (t as WasmTensor).ptr;

export function createWasmForwardKernels(ctx: WasmContext): ForwardKernels {
  const e = ctx.exports;
  let scores = { ptr: 0, bytes: 0 };
  /** Scratch of `bytes` for the attention's score rows, kept between calls. */
  const scoreRow = (bytes: number): number => {
    if (bytes > scores.bytes) {
      if (scores.bytes > 0) ctx.freeBytes(scores.ptr, scores.bytes);
      scores = { ptr: ctx.allocBytes(bytes), bytes };
    }
    return scores.ptr;
  };
  return withShapeChecks({
    // wasm32: one linear memory of at most 4 GiB holds every tensor.
    maxTensorBytes: 2 ** 32,
    gemm(x, w, bias, y, rows, inDim, outDim) {
      // Output columns over the threads, in chunks of whole 32-column panels (assembly/gemm.ts's NB),
      // about four per thread so that a slow thread does not hold the others up.
      const step = Math.max(32, Math.ceil(outDim / (4 * ctx.runner.threads) / 32) * 32);
      ctx.runner.run({
        kernel: 'gemmColumns', args: [ptr(x), ptr(w), bias ? ptr(bias) : 0, ptr(y), rows, inDim, outDim, 0, 0],
        units: outDim, step, range: 7, work: rows * inDim * outDim,
      });
    },
    rmsNorm(x, weight, y, rows, dim, eps) {
      e.rmsNorm(ptr(x), ptr(weight), ptr(y), rows, dim, eps);
    },
    layerNorm(x, weight, bias, y, rows, dim, eps) {
      e.layerNorm(ptr(x), ptr(weight), ptr(bias), ptr(y), rows, dim, eps);
    },
    rope(x, table, rows, heads, headDim, rotaryDim, posOffset) {
      e.rope(ptr(x), ptr(table), rows, heads, headDim, rotaryDim, posOffset);
    },
    attention(q, k, v, out, s) {
      // Heads over the threads, each with its own row of scores.
      const rowBytes = Math.ceil((4 * s.tokens) / 64) * 64;
      const scratch = scoreRow(rowBytes * ctx.runner.participants);
      ctx.runner.run({
        kernel: 'attentionHeads',
        args: [ptr(q), ptr(k), ptr(v), ptr(out), scratch, s.tokens, s.heads, s.kvHeads, s.headDim, s.scale, s.window, s.softcap ?? 0, 0, 0],
        units: s.heads, step: 1, range: 12, perThread: [[4, rowBytes]], work: s.tokens * s.tokens * s.heads * s.headDim,
      });
    },
    siluMul(gate, up, out, length) {
      e.siluMul(ptr(gate), ptr(up), ptr(out), length);
    },
    geluTanhMul(gate, up, out, length) {
      e.geluTanhMul(ptr(gate), ptr(up), ptr(out), length);
    },
    softcap(x, out, length, cap) {
      e.softcap(ptr(x), ptr(out), length, cap);
    },
    relu(x, out, length) {
      e.relu(ptr(x), ptr(out), length);
    },
    add(a, b, out, length) {
      e.addTensors(ptr(a), ptr(b), ptr(out), length);
    },
    copyColumns(x, y, rows, xCols, offset, width) {
      e.copyColumns(ptr(x), ptr(y), rows, xCols, offset, width);
    },
    placeColumns(x, y, rows, yCols, offset, width) {
      e.placeColumns(ptr(x), ptr(y), rows, yCols, offset, width);
    },
    nll(logits, targets, out, rows, vocab) {
      e.nll(ptr(logits), ptr(targets), ptr(out), rows, vocab);
    },
  });
}

// Kernels of the decoder forward pass, grouped by family as in assembly/ and gpu/: gemm, norm,
// rope, attention, act, loss. The decoder models (src/models/) are written once against these.
//
// Rules every implementation keeps:
//   * kernels only read and write the tensors they are given: no allocation per call (a backend
//     may keep fixed scratch of its own, e.g. one row of attention scores);
//   * tensors are row-major f32 unless stated; shapes are passed explicitly and checked against
//     the tensors' lengths (RangeError naming the kernel and the tensor);
//   * calls are enqueued in order: a later kernel sees what an earlier one wrote; results reach
//     the host through TensorStore.read (which waits for the work before it);
//   * an output may alias an input only where the method says so.
import type { DeviceTensor } from './backend.js';

/** Shape of one causal self-attention call over a single sequence. */
export interface AttentionShape {
  /** Sequence length T. */
  tokens: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (grouped-query attention: heads % kvHeads == 0; query head h reads kv head ⌊h·kvHeads/heads⌋). */
  kvHeads: number;
  headDim: number;
  /** Multiplier of q·k (1/√headDim for every supported model). */
  scale: number;
  /** Sliding-window attention: each query sees only the last `window` keys (itself included); 0 = full causal. */
  window: number;
  /** Attention logit soft-capping (Gemma 2): scores become tanh(score / softcap) · softcap after
   *  the scale, before the causal mask and softmax; 0 or absent = none. */
  softcap?: number;
}

export interface ForwardKernels {
  /**
   * The largest tensor, in bytes, that one kernel may bind: a WebGPU adapter's storage binding
   * and buffer limits (1–4 GiB on real adapters), wasm's whole 4 GiB address space. Callers split
   * what is larger (the lm head of a large vocabulary: src/models/decoder.ts).
   */
  readonly maxTensorBytes: number;

  // --- gemm ---
  /**
   * y[rows, outDim] = x[rows, inDim] · w[outDim, inDim]ᵀ + bias[outDim] (bias null: none).
   * w in PyTorch nn.Linear layout. y must not alias x.
   */
  gemm(x: DeviceTensor, w: DeviceTensor, bias: DeviceTensor | null, y: DeviceTensor, rows: number, inDim: number, outDim: number): void;

  // --- norm --- (y may alias x)
  /** RMSNorm: y = x / √(mean(x²) + eps) · weight, per row of `dim`. */
  rmsNorm(x: DeviceTensor, weight: DeviceTensor, y: DeviceTensor, rows: number, dim: number, eps: number): void;
  /** LayerNorm: y = (x − mean) / √(var + eps) · weight + bias, per row (population variance). */
  layerNorm(x: DeviceTensor, weight: DeviceTensor, bias: DeviceTensor, y: DeviceTensor, rows: number, dim: number, eps: number): void;

  // --- rope ---
  /**
   * In place on x [rows, heads·headDim], Hugging Face rotate_half pairing (i, i + rotaryDim/2)
   * over the first rotaryDim features of each head (rotaryDim = headDim unless the model has a
   * partial_rotary_factor; the other features pass through). Row t sits at position posOffset + t.
   * table [positions, rotaryDim]: per position the cosines of the rotaryDim/2 angles, then their
   * sines, attention factor included (see src/models/rope.ts).
   */
  rope(x: DeviceTensor, table: DeviceTensor, rows: number, heads: number, headDim: number, rotaryDim: number, posOffset: number): void;

  // --- attention ---
  /** out[T, heads·headDim] = causal softmax(q·kᵀ·scale)·v; q [T, heads·headDim], k and v [T, kvHeads·headDim]. */
  attention(q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, out: DeviceTensor, shape: AttentionShape): void;

  // --- act --- (out may alias an input)
  /** out = silu(gate) · up, elementwise over `length`. */
  siluMul(gate: DeviceTensor, up: DeviceTensor, out: DeviceTensor, length: number): void;
  /** out = gelu_tanh(gate) · up (PyTorch gelu(approximate='tanh')), elementwise over `length`. */
  geluTanhMul(gate: DeviceTensor, up: DeviceTensor, out: DeviceTensor, length: number): void;
  /** out = tanh(x / cap) · cap (logit soft-capping), cap > 0. */
  softcap(x: DeviceTensor, out: DeviceTensor, length: number, cap: number): void;
  /** out = max(x, 0). */
  relu(x: DeviceTensor, out: DeviceTensor, length: number): void;
  /** out = a + b. */
  add(a: DeviceTensor, b: DeviceTensor, out: DeviceTensor, length: number): void;
  /**
   * y[r, j] = x[r, offset + j], j < width, over rows of xCols: one part of a fused projection's
   * output (Phi-3's qkv_proj, gate_up_proj) as its own tensor [rows, width]. y must not alias x.
   */
  copyColumns(x: DeviceTensor, y: DeviceTensor, rows: number, xCols: number, offset: number, width: number): void;
  /**
   * y[r, offset + j] = x[r, j], j < width, over rows of yCols (copyColumns' inverse; the other
   * columns of y are left as they are): a slice of the lm head's logits into the full rows.
   * y must not alias x.
   */
  placeColumns(x: DeviceTensor, y: DeviceTensor, rows: number, yCols: number, offset: number, width: number): void;

  // --- loss ---
  /** out[t] = logsumexp(logits[t, ·]) − logits[t, targets[t]] for rows of `vocab` logits; targets i32 [rows]. */
  nll(logits: DeviceTensor, targets: DeviceTensor, out: DeviceTensor, rows: number, vocab: number): void;
}

/** A tensor too small (or of the wrong dtype) for the shape a kernel was given. */
export class KernelShapeError extends RangeError {
  override name = 'KernelShapeError';
}

function need(kernel: string, what: string, t: DeviceTensor, length: number, dtype: DeviceTensor['dtype'] = 'f32'): void {
  if (t.dtype !== dtype) throw new KernelShapeError(`${kernel}: ${what} is ${t.dtype}, expected ${dtype}`);
  if (!Number.isInteger(length) || length < 0) throw new KernelShapeError(`${kernel}: bad shape for ${what} (${length} elements)`);
  if (t.length < length) throw new KernelShapeError(`${kernel}: ${what} holds ${t.length} elements, the shape needs ${length}`);
}

/**
 * copyColumns and placeColumns: columns [offset, offset + width) of the `wide` tensor's rows of
 * `cols`, against the other tensor's rows of `width`; x and y must not alias.
 */
function checkColumnSlice(
  kernel: string, x: DeviceTensor, y: DeviceTensor, rows: number, cols: number, offset: number, width: number, wide: 'x' | 'y',
): void {
  if (!Number.isInteger(offset) || offset < 0 || !(width > 0) || offset + width > cols) {
    throw new KernelShapeError(`${kernel}: columns [${offset}, ${offset + width}) are not inside rows of ${cols}`);
  }
  need(kernel, 'x', x, rows * (wide === 'x' ? cols : width));
  need(kernel, 'y', y, rows * (wide === 'y' ? cols : width));
  if (x === y) throw new KernelShapeError(`${kernel}: y must not alias x`);
}

/**
 * Wraps a backend's kernels with the shape checks of this interface, so that both backends
 * refuse the same bad calls with the same message (a GPU kernel would otherwise read out of
 * bounds silently, a wasm one would corrupt its neighbours).
 */
export function withShapeChecks(k: ForwardKernels): ForwardKernels {
  return {
    maxTensorBytes: k.maxTensorBytes,
    gemm(x, w, bias, y, rows, inDim, outDim) {
      need('gemm', 'x', x, rows * inDim);
      need('gemm', 'w', w, outDim * inDim);
      if (bias) need('gemm', 'bias', bias, outDim);
      need('gemm', 'y', y, rows * outDim);
      if (x === y) throw new KernelShapeError('gemm: y must not alias x');
      k.gemm(x, w, bias, y, rows, inDim, outDim);
    },
    rmsNorm(x, weight, y, rows, dim, eps) {
      need('rmsNorm', 'x', x, rows * dim);
      need('rmsNorm', 'weight', weight, dim);
      need('rmsNorm', 'y', y, rows * dim);
      k.rmsNorm(x, weight, y, rows, dim, eps);
    },
    layerNorm(x, weight, bias, y, rows, dim, eps) {
      need('layerNorm', 'x', x, rows * dim);
      need('layerNorm', 'weight', weight, dim);
      need('layerNorm', 'bias', bias, dim);
      need('layerNorm', 'y', y, rows * dim);
      k.layerNorm(x, weight, bias, y, rows, dim, eps);
    },
    rope(x, table, rows, heads, headDim, rotaryDim, posOffset) {
      if (rotaryDim % 2 !== 0 || rotaryDim <= 0 || rotaryDim > headDim) {
        throw new KernelShapeError(`rope: rotaryDim ${rotaryDim} must be even and in (0, headDim ${headDim}]`);
      }
      need('rope', 'x', x, rows * heads * headDim);
      need('rope', 'table', table, (posOffset + rows) * rotaryDim);
      k.rope(x, table, rows, heads, headDim, rotaryDim, posOffset);
    },
    attention(q, kk, v, out, s) {
      if (s.kvHeads <= 0 || s.heads % s.kvHeads !== 0) throw new KernelShapeError(`attention: ${s.heads} heads are not a multiple of ${s.kvHeads} kv heads`);
      need('attention', 'q', q, s.tokens * s.heads * s.headDim);
      need('attention', 'k', kk, s.tokens * s.kvHeads * s.headDim);
      need('attention', 'v', v, s.tokens * s.kvHeads * s.headDim);
      need('attention', 'out', out, s.tokens * s.heads * s.headDim);
      if (out === q || out === kk || out === v) throw new KernelShapeError('attention: out must not alias q, k or v');
      if (s.softcap !== undefined && !(s.softcap >= 0 && Number.isFinite(s.softcap))) throw new KernelShapeError(`attention: softcap ${s.softcap} must be 0 (none) or positive`);
      k.attention(q, kk, v, out, s);
    },
    siluMul(gate, up, out, length) {
      need('siluMul', 'gate', gate, length);
      need('siluMul', 'up', up, length);
      need('siluMul', 'out', out, length);
      k.siluMul(gate, up, out, length);
    },
    geluTanhMul(gate, up, out, length) {
      need('geluTanhMul', 'gate', gate, length);
      need('geluTanhMul', 'up', up, length);
      need('geluTanhMul', 'out', out, length);
      k.geluTanhMul(gate, up, out, length);
    },
    softcap(x, out, length, cap) {
      if (!(cap > 0) || !Number.isFinite(cap)) throw new KernelShapeError(`softcap: cap ${cap} must be a positive number`);
      need('softcap', 'x', x, length);
      need('softcap', 'out', out, length);
      k.softcap(x, out, length, cap);
    },
    relu(x, out, length) {
      need('relu', 'x', x, length);
      need('relu', 'out', out, length);
      k.relu(x, out, length);
    },
    add(a, b, out, length) {
      need('add', 'a', a, length);
      need('add', 'b', b, length);
      need('add', 'out', out, length);
      k.add(a, b, out, length);
    },
    copyColumns(x, y, rows, xCols, offset, width) {
      checkColumnSlice('copyColumns', x, y, rows, xCols, offset, width, 'x');
      k.copyColumns(x, y, rows, xCols, offset, width);
    },
    placeColumns(x, y, rows, yCols, offset, width) {
      checkColumnSlice('placeColumns', x, y, rows, yCols, offset, width, 'y');
      k.placeColumns(x, y, rows, yCols, offset, width);
    },
    nll(logits, targets, out, rows, vocab) {
      need('nll', 'logits', logits, rows * vocab);
      need('nll', 'targets', targets, rows, 'i32');
      need('nll', 'out', out, rows);
      k.nll(logits, targets, out, rows, vocab);
    },
  };
}

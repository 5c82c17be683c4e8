// Elementwise ops of the MLP and the residual stream. out may equal an input (in place).
import { expf4, tanhf4 } from './simd-math';

/** out = silu(gate) · up, silu(g) = g / (1 + e^(−g)) (LLaMA's SwiGLU MLP). */
export function siluMul(gate: usize, up: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const silu = f32x4.div(g, f32x4.add(one, expf4(f32x4.neg(g))));
    v128.store(out + o, f32x4.mul(silu, v128.load(up + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (1 + Mathf.exp(-g))) * load<f32>(up + o));
  }
}

/** gelu_tanh(g) = 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))), in PyTorch's order of operations. */
// @ts-ignore: decorator
@inline function geluTanh4(g: v128): v128 {
  const cube = f32x4.mul(f32x4.mul(g, g), g);
  const inner = f32x4.mul(f32x4.splat(GELU_BETA), f32x4.add(g, f32x4.mul(f32x4.splat(GELU_KAPPA), cube)));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), g), f32x4.add(f32x4.splat(1), tanhf4(inner)));
}

// PyTorch's kBeta = M_SQRT2 · M_2_SQRTPI · 0.5 = √(2/π), rounded to f32 as in its f32 kernel.
const GELU_BETA: f32 = 0.7978845608028654;
const GELU_KAPPA: f32 = 0.044715;

/** out = gelu_tanh(gate) · up (Gemma's GeGLU MLP, hidden_activation gelu_pytorch_tanh). */
export function geluTanhMul(gate: usize, up: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(geluTanh4(v128.load(gate + o)), v128.load(up + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(geluTanh4(f32x4.splat(load<f32>(gate + o))), 0) * load<f32>(up + o));
  }
}

/** out = tanh(x / cap) · cap (Gemma 2's final_logit_softcapping, on the lm head's logits). */
export function softcap(x: usize, out: usize, n: i32, cap: f32): void {
  const n4 = n & ~3;
  const c = f32x4.splat(cap);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(tanhf4(f32x4.div(v128.load(x + o), c)), c));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(tanhf4(f32x4.splat(load<f32>(x + o) / cap)), 0) * cap);
  }
}

/** out = max(x, 0) (OPT's MLP). */
export function relu(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.max(v128.load(x + o), zero));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, max(load<f32>(x + o), 0));
  }
}

/** out = a + b (residual connections, learned position embeddings). */
export function addTensors(a: usize, b: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/**
 * y[r, j] = x[r, offset + j] for j < width: one part of a fused projection's output (Phi-3's
 * qkv_proj → q, k, v; gate_up_proj → gate, up), as a separate tensor. y must not alias x.
 */
export function copyColumns(x: usize, y: usize, rows: i32, xCols: i32, offset: i32, width: i32): void {
  const w4 = width & ~3;
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>xCols + <usize>offset) << 2);
    const dst = y + ((<usize>r * <usize>width) << 2);
    for (let j = 0; j < w4; j += 4) v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)));
    for (let j = w4; j < width; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
  }
}

/**
 * y[r, offset + j] = x[r, j] for j < width, over rows of yCols: copyColumns' inverse. The lm
 * head's logits computed one vocabulary slice at a time land in their columns of the full rows.
 * y must not alias x.
 */
export function placeColumns(x: usize, y: usize, rows: i32, yCols: i32, offset: i32, width: i32): void {
  const w4 = width & ~3;
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>width) << 2);
    const dst = y + ((<usize>r * <usize>yCols + <usize>offset) << 2);
    for (let j = 0; j < w4; j += 4) v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)));
    for (let j = w4; j < width; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
  }
}

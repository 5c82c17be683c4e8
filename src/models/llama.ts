// The llama family's decoder block (llama, mistral, qwen2, llama2.c checkpoints), pre-norm:
//   h += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = rmsNorm(h)
//   h += down_proj(silu(gate_proj(n)) · up_proj(n)),                      n = rmsNorm(h)
// Biases appear where the checkpoint has them (Qwen2: q/k/v; llama attention_bias/mlp_bias).
// Phi-3 computes q/k/v and gate/up with fused linears (c.project, phi3.ts); the block is the same.
// The attention half is self-attention.ts's, shared with OPT; the gated MLP is shared with Gemma.
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';
import { selfAttention } from './self-attention.js';

/** Runs one llama block in place on h [rows, hidden] (device). */
export async function llamaBlock(c: BlockContext, h: DeviceTensor, rows: number): Promise<void> {
  const { spec, ws } = c;
  const d = spec.hiddenSize;

  const n = ws.get('norm', rows * d);
  c.norm(c.layer.attnNorm, h, n, rows);
  const o = await selfAttention(c, n, h, rows);

  c.norm(c.layer.mlpNorm, h, n, rows);
  await gatedMlp(c, n, o, rows, 'silu');
  c.k.add(h, o, h, rows * d);
}

/**
 * out = down_proj(act(gate_proj(x)) · up_proj(x)) for x [rows, hidden] (llama's SwiGLU, Gemma's
 * GeGLU with the tanh GELU), with the taps of gate/up and down.
 */
export async function gatedMlp(c: BlockContext, x: DeviceTensor, out: DeviceTensor, rows: number, act: 'silu' | 'gelu_tanh'): Promise<void> {
  const { spec, k, ws } = c;
  const ff = spec.intermediateSize;
  await c.tap(['gate', 'up'], x, rows, spec.hiddenSize);
  const gate = ws.get('gate', rows * ff);
  const up = ws.get('up', rows * ff);
  c.project(['gate', 'up'], x, [gate, up], rows);
  if (act === 'silu') k.siluMul(gate, up, gate, rows * ff);
  else k.geluTanhMul(gate, up, gate, rows * ff);
  await c.tap(['down'], gate, rows, ff);
  c.linear('down', gate, out, rows);
}

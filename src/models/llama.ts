// The llama family's decoder block (llama, mistral, qwen2, llama2.c checkpoints), pre-norm:
//   h += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = rmsNorm(h)
//   h += down_proj(silu(gate_proj(n)) · up_proj(n)),                      n = rmsNorm(h)
// Biases appear where the checkpoint has them (Qwen2: q/k/v; llama attention_bias/mlp_bias).
// Phi-3 computes q/k/v and gate/up with fused linears (c.project, phi3.ts); the block is the same.
// The attention half is self-attention.ts's, shared with OPT.
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';
import { selfAttention } from './self-attention.js';

/** Runs one llama block in place on h [rows, hidden] (device). */
export async function llamaBlock(c: BlockContext, h: DeviceTensor, rows: number): Promise<void> {
  const { spec, k, ws } = c;
  const d = spec.hiddenSize;
  const ff = spec.intermediateSize;

  const n = ws.get('norm', rows * d);
  c.norm(c.layer.attnNorm, h, n, rows);
  const o = await selfAttention(c, n, h, rows);

  c.norm(c.layer.mlpNorm, h, n, rows);
  await c.tap(['gate', 'up'], n, rows, d);
  const gate = ws.get('gate', rows * ff);
  const up = ws.get('up', rows * ff);
  c.project(['gate', 'up'], n, [gate, up], rows);
  k.siluMul(gate, up, gate, rows * ff);
  await c.tap(['down'], gate, rows, ff);
  c.linear('down', gate, o, rows);
  k.add(h, o, h, rows * d);
}

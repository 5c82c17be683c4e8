// The llama family's decoder block (llama, mistral, qwen2, llama2.c checkpoints), pre-norm:
//   h += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = rmsNorm(h)
//   h += down_proj(silu(gate_proj(n)) · up_proj(n)),                      n = rmsNorm(h)
// Biases appear where the checkpoint has them (Qwen2: q/k/v; llama attention_bias/mlp_bias).
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';

/** Runs one llama block in place on h [rows, hidden] (device). */
export async function llamaBlock(c: BlockContext, h: DeviceTensor, rows: number): Promise<void> {
  const { spec, k, ws } = c;
  const d = spec.hiddenSize;
  const qDim = spec.numHeads * spec.headDim;
  const kvDim = spec.numKvHeads * spec.headDim;
  const ff = spec.intermediateSize;
  const window = spec.slidingWindow ?? 0;

  const n = ws.get('norm', rows * d);
  c.norm(c.layer.attnNorm, h, n, rows);
  await c.tap(['q', 'k', 'v'], n, rows, d);
  const q = ws.get('q', rows * qDim);
  const kk = ws.get('k', rows * kvDim);
  const v = ws.get('v', rows * kvDim);
  c.linear('q', n, q, rows);
  c.linear('k', n, kk, rows);
  c.linear('v', n, v, rows);
  const table = c.ropeTable(rows);
  k.rope(q, table, rows, spec.numHeads, spec.headDim, 0);
  k.rope(kk, table, rows, spec.numKvHeads, spec.headDim, 0);
  const att = ws.get('attn', rows * qDim);
  k.attention(q, kk, v, att, {
    tokens: rows, heads: spec.numHeads, kvHeads: spec.numKvHeads, headDim: spec.headDim,
    scale: 1 / Math.sqrt(spec.headDim), window: window >= rows ? 0 : window,
  });
  await c.tap(['o'], att, rows, qDim);
  const o = ws.get('out', rows * d);
  c.linear('o', att, o, rows);
  k.add(h, o, h, rows * d);

  c.norm(c.layer.mlpNorm, h, n, rows);
  await c.tap(['gate', 'up'], n, rows, d);
  const gate = ws.get('gate', rows * ff);
  const up = ws.get('up', rows * ff);
  c.linear('gate', n, gate, rows);
  c.linear('up', n, up, rows);
  k.siluMul(gate, up, gate, rows * ff);
  await c.tap(['down'], gate, rows, ff);
  c.linear('down', gate, o, rows);
  k.add(h, o, h, rows * d);
}

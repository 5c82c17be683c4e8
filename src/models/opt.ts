// OPT's decoder block. Pre-norm (do_layer_norm_before, every OPT but 350m):
//   h += out_proj(attention(q_proj(n), k_proj(n), v_proj(n))),  n = selfAttnLN(h)
//   h += fc2(relu(fc1(n))),                                     n = finalLN(h)
// Post-norm (OPT-350m): h = selfAttnLN(h + out_proj(attention(h))); h = finalLN(h + fc2(relu(fc1(h)))).
// HF scales q by head_dim^−0.5 after q_proj (bias included); scaling the scores instead is the
// same product. No rotary positions: OPT adds learned positions to the embeddings. The attention
// half is self-attention.ts's, shared with the llama family.
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';
import { selfAttention } from './self-attention.js';

/** Runs one OPT block in place on h [rows, hidden] (device). */
export async function optBlock(c: BlockContext, h: DeviceTensor, rows: number): Promise<void> {
  const { spec, k, ws } = c;
  const d = spec.hiddenSize;
  const ff = spec.intermediateSize;
  const pre = spec.normBeforeBlock;

  // Attention: its input is the normed h (pre-norm) or h itself (post-norm).
  let x = h;
  if (pre) {
    x = ws.get('norm', rows * d);
    c.norm(c.layer.attnNorm, h, x, rows);
  }
  const o = await selfAttention(c, x, h, rows);
  if (!pre) c.norm(c.layer.attnNorm, h, h, rows);

  // MLP.
  x = h;
  if (pre) {
    x = ws.get('norm', rows * d);
    c.norm(c.layer.mlpNorm, h, x, rows);
  }
  await c.tap(['fc1'], x, rows, d);
  const f = ws.get('fc1', rows * ff);
  c.linear('fc1', x, f, rows);
  k.relu(f, f, rows * ff);
  await c.tap(['fc2'], f, rows, ff);
  c.linear('fc2', f, o, rows);
  k.add(h, o, h, rows * d);
  if (!pre) c.norm(c.layer.mlpNorm, h, h, rows);
}

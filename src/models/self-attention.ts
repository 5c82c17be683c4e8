// The attention half of a decoder block, the same in every family (llama.ts, opt.ts, gemma.ts):
//   h += o_proj(attention(q_proj(x), k_proj(x), v_proj(x)))
// with rotary positions on q and k where the model has them (llama family; OPT's positions are
// learned and already in the embeddings), Qwen3's and Gemma 3's per-head RMSNorm of q and k
// before them, the layer's sliding window where it has one, and Gemma's scale and soft-capping.
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';

/**
 * Adds the attention output to h [rows, hidden] in place, x being the block's attention input
 * (the normed h, or h itself in a post-norm block). Returns the [rows, hidden] workspace the
 * output projection used, free for the MLP to reuse; with h null the output is left there
 * instead (Gemma norms it before adding it).
 */
export async function selfAttention(c: BlockContext, x: DeviceTensor, h: DeviceTensor | null, rows: number): Promise<DeviceTensor> {
  const { spec, k, ws } = c;
  const d = spec.hiddenSize;
  const qDim = spec.numHeads * spec.headDim;
  const kvDim = spec.numKvHeads * spec.headDim;
  const layer = c.layer;
  const window = layer.slidingWindow ?? 0;

  await c.tap(['q', 'k', 'v'], x, rows, d);
  const q = ws.get('q', rows * qDim);
  const kk = ws.get('k', rows * kvDim);
  const v = ws.get('v', rows * kvDim);
  c.project(['q', 'k', 'v'], x, [q, kk, v], rows);
  // Qwen3: RMSNorm over each head's features (rows·heads rows of headDim), weights [headDim].
  if (layer.qNorm?.weight) k.rmsNorm(q, c.weight(layer.qNorm.weight), q, rows * spec.numHeads, spec.headDim, spec.norm.eps);
  if (layer.kNorm?.weight) k.rmsNorm(kk, c.weight(layer.kNorm.weight), kk, rows * spec.numKvHeads, spec.headDim, spec.norm.eps);
  if (layer.rope) {
    const table = c.ropeTable(layer.rope, rows);
    k.rope(q, table, rows, spec.numHeads, spec.headDim, layer.rope.rotaryDim, 0);
    k.rope(kk, table, rows, spec.numKvHeads, spec.headDim, layer.rope.rotaryDim, 0);
  }
  const att = ws.get('attn', rows * qDim);
  k.attention(q, kk, v, att, {
    tokens: rows, heads: spec.numHeads, kvHeads: spec.numKvHeads, headDim: spec.headDim,
    scale: spec.attentionScale ?? 1 / Math.sqrt(spec.headDim), window: window >= rows ? 0 : window,
    softcap: spec.attnSoftcap ?? 0,
  });
  await c.tap(['o'], att, rows, qDim);
  const o = ws.get('out', rows * d);
  c.linear('o', att, o, rows);
  if (h) k.add(h, o, h, rows * d);
  return o;
}

// The Gemma 2 / Gemma 3 decoder block (gemma2, gemma3_text, gemma3; config in gemma-config.ts),
// as transformers' Gemma2DecoderLayer / Gemma3DecoderLayer: pre- and post-norms around both halves,
//   h += post_attention_layernorm(o_proj(attention(n))),           n = input_layernorm(h)
//   h += post_feedforward_layernorm(down(gelu_tanh(gate n) · up n)), n = pre_feedforward_layernorm(h)
// Every RMSNorm scales by (1 + w): the decoder uploads the weights with the 1 already added.
// The attention half (scale query_pre_attn_scalar^−0.5, Gemma 2's score soft-capping, Gemma 3's
// q/k norms, each layer's window and rotary table) is self-attention.ts's.
import type { DeviceTensor } from '../backends/backend.js';
import type { BlockContext } from './decoder.js';
import { gatedMlp } from './llama.js';
import { UnsupportedModelError } from './rope.js';
import { selfAttention } from './self-attention.js';

/** Runs one Gemma block in place on h [rows, hidden] (device). */
export async function gemmaBlock(c: BlockContext, h: DeviceTensor, rows: number): Promise<void> {
  const { spec, layer, k, ws } = c;
  const d = spec.hiddenSize;
  if (!layer.postAttnNorm || !layer.postMlpNorm) throw new UnsupportedModelError(`layer ${layer.index}: a Gemma block needs its post-attention and post-feed-forward norms`);

  const n = ws.get('norm', rows * d);
  c.norm(layer.attnNorm, h, n, rows);
  // The attention output is normed before it joins the residual, so selfAttention leaves it in o.
  const o = await selfAttention(c, n, null, rows);
  c.norm(layer.postAttnNorm, o, o, rows);
  k.add(h, o, h, rows * d);

  c.norm(layer.mlpNorm, h, n, rows);
  await gatedMlp(c, n, o, rows, 'gelu_tanh');
  c.norm(layer.postMlpNorm, o, o, rows);
  k.add(h, o, h, rows * d);
}

// Phi-3 / Phi-3.5 (model_type phi3), as transformers' Phi3Config / modeling_phi3.py define it:
// the llama block (RMSNorm, SiLU-gated MLP, rotary attention) with two fused projections,
//   self_attn.qkv_proj  [q; k; v] rows (heads·head_dim + 2·kv_heads·head_dim), no bias
//   mlp.gate_up_proj    [gate; up] rows (2·intermediate_size), no bias; down(up · silu(gate))
// pruned as the fused tensors they are (their names and shapes unchanged, so the output loads
// as it came). The forward pass computes each fused product once and copies its column blocks
// into the separate q, k, v / gate, up tensors the shared block code uses (copyColumns).
// Rope: only default or longrope (the legacy names "su" and "yarn" mean longrope, as
// Phi3Config rewrites them), partial_rotary_factor honoured, the top-level
// original_max_position_embeddings preferred (rope-config.ts). sliding_window (default none)
// applies to every layer, as Phi3Model's mask does; the decoder ignores a window that is not
// shorter than the sequence. resid_pdrop / embd_pdrop / attention_dropout are dropout: nothing at
// inference (config-keys.ts).
import type { DeviceTensor } from '../backends/backend.js';
import type { LinearRole, LinearSpec } from './config.js';
import type { BlockContext } from './decoder.js';
import type { AttentionType, LlamaVariant } from './llama-variants.js';

export const PHI3: LlamaVariant = {
  modelType: 'phi3',
  defaults: { maxPositions: 4096, eps: 1e-5, theta: 10000, originalMaxPositions: 4096 },
  partialRotary: true,
  ropeTypes: { allowed: ['default', 'longrope'], aliases: { su: 'longrope', yarn: 'longrope' } },
  read(c, numLayers) {
    c.expect('attention_bias', (v) => v === false, "transformers' Phi3Attention has no biases, whatever the config says");
    const window = c.nullablePositiveInt('sliding_window', null);
    const layerTypes = Array<AttentionType>(numLayers).fill(window === null ? 'full_attention' : 'sliding_attention');
    return { qkvBias: false, oBias: false, mlpBias: false, qkNorm: false, fused: true, layerTypes, slidingWindow: window };
  },
};

/**
 * The linears of a Phi-3 layer, in transformers' order: qkv_proj (role 'q', standing for the
 * attention projections: the skip groups and taps see it as one of q/k/v), o_proj, gate_up_proj
 * (role 'gate', likewise for the MLP input), down_proj.
 */
export function phi3Linears(
  lin: (name: string, role: LinearRole, out: number, inp: number) => LinearSpec,
  hidden: number, qDim: number, kvDim: number, ff: number,
): LinearSpec[] {
  return [
    { ...lin('self_attn.qkv_proj', 'q', qDim + 2 * kvDim, hidden), parts: [{ role: 'q', rows: qDim }, { role: 'k', rows: kvDim }, { role: 'v', rows: kvDim }] },
    lin('self_attn.o_proj', 'o', hidden, qDim),
    { ...lin('mlp.gate_up_proj', 'gate', 2 * ff, hidden), parts: [{ role: 'gate', rows: ff }, { role: 'up', rows: ff }] },
    lin('mlp.down_proj', 'down', hidden, ff),
  ];
}

/**
 * A fused linear's product, once, then each part's block of columns into its own tensor
 * (outputs in the order of l.parts).
 */
export function fusedLinear(c: BlockContext, l: LinearSpec, x: DeviceTensor, outputs: DeviceTensor[], rows: number): void {
  const all = c.ws.get(`fused ${l.name}`, rows * l.out);
  c.k.gemm(x, c.weight(l.weight), l.bias ? c.weight(l.bias) : null, all, rows, l.in, l.out);
  let offset = 0;
  l.parts!.forEach((p, i) => {
    c.k.copyColumns(all, outputs[i], rows, l.out, offset, p.rows);
    offset += p.rows;
  });
}

// Rotary frequencies for the tests, written from transformers' modeling_rope_utils.py (5.x) as
// plain loops over the raw config.json dict, with no code shared with src/: the config's rope dict
// (rope_scaling over rope_parameters), its type, and each type's inverse frequencies and factor.

type Dict = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RefRope {
  /** Features per head that rotate. */
  dim: number;
  /** Inverse frequencies [dim/2] for a forward call over seqLen tokens. */
  invFreq(seqLen: number): number[];
  /** Multiplier of cos and sin. */
  attention: number;
}

export function refRope(config: Dict, headDim: number): RefRope {
  const rp: Dict = (config.rope_scaling && Object.keys(config.rope_scaling).length ? config.rope_scaling : config.rope_parameters) ?? {};
  const base: number = rp.rope_theta ?? config.rope_theta ?? 10000;
  const given: string = rp.rope_type ?? rp.type ?? 'default';
  // Phi3Config rewrites the legacy names "su" and "yarn" to longrope.
  const type = config.model_type === 'phi3' && (given === 'su' || given === 'yarn') ? 'longrope' : given;
  const dim = Math.floor(headDim * (rp.partial_rotary_factor ?? config.partial_rotary_factor ?? 1));
  const maxPos: number = config.max_position_embeddings;
  const orig: number = config.original_max_position_embeddings ?? rp.original_max_position_embeddings ?? maxPos;
  const plain: number[] = [];
  for (let j = 0; j < dim; j += 2) plain.push(1 / base ** (j / dim));
  if (type === 'default' || type === 'dynamic') return { dim, invFreq: () => plain, attention: 1 };
  if (type === 'linear') return { dim, invFreq: () => plain.map((f) => f / rp.factor), attention: 1 };
  if (type === 'llama3') {
    const out = plain.map((f) => {
      const wl = (2 * Math.PI) / f;
      if (wl < orig / rp.high_freq_factor) return f;
      if (wl > orig / rp.low_freq_factor) return f / rp.factor;
      const s = (orig / wl - rp.low_freq_factor) / (rp.high_freq_factor - rp.low_freq_factor);
      return (1 - s) * f / rp.factor + s * f;
    });
    return { dim, invFreq: () => out, attention: 1 };
  }
  if (type === 'yarn') {
    const factor: number = rp.factor;
    const m = (scale: number, ms = 1) => (scale <= 1 ? 1 : 0.1 * ms * Math.log(scale) + 1);
    const attention = rp.attention_factor ?? (rp.mscale && rp.mscale_all_dim ? m(factor, rp.mscale) / m(factor, rp.mscale_all_dim) : m(factor));
    const corr = (rot: number) => (dim * Math.log(orig / (rot * 2 * Math.PI))) / (2 * Math.log(base));
    let lo = corr(rp.beta_fast || 32);
    let hi = corr(rp.beta_slow || 1);
    if (rp.truncate !== false) [lo, hi] = [Math.floor(lo), Math.ceil(hi)];
    lo = Math.max(lo, 0);
    hi = Math.min(hi, dim - 1);
    if (lo === hi) hi += 0.001;
    const out = plain.map((f, j) => {
      const extra = 1 - Math.min(1, Math.max(0, (j - lo) / (hi - lo)));
      return (f / factor) * (1 - extra) + f * extra;
    });
    return { dim, invFreq: () => out, attention };
  }
  if (type === 'longrope') {
    const factor: number = rp.factor ?? maxPos / orig;
    const attention = rp.attention_factor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig)));
    return {
      dim,
      invFreq: (seqLen) => plain.map((f, j) => f / (seqLen > orig ? rp.long_factor : rp.short_factor)[j]),
      attention,
    };
  }
  throw new Error(`reference: rope type ${type}`);
}

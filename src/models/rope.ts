// The rotary-embedding angle table both backends read (ForwardKernels.rope): computed once per
// model (and per sequence-length regime, for longrope) on the host in f64 and rounded to f32, so
// every device rotates by identical numbers. The inverse frequencies and the attention factor of
// each rope_type follow transformers' modeling_rope_utils.py (5.x: _compute_*_parameters and
// dynamic_rope_update); the attention factor multiplies cos and sin, as transformers'
// RotaryEmbedding.forward does.

export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn', 'longrope'] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

/** One rotary configuration, as transformers standardizes `rope_parameters` (defaults filled in). */
export interface RopeParameters {
  type: RopeType;
  theta: number;
  /** Features of each head that rotate: head_dim, or head_dim × partial_rotary_factor. */
  rotaryDim: number;
  /** config.json's max_position_embeddings (dynamic's reference length; yarn/longrope factor fallback). */
  maxPositions: number;
  /** linear, dynamic, llama3, yarn; longrope (optional: max/original otherwise). */
  factor?: number;
  /** llama3, yarn, longrope: the pre-training context length. */
  originalMaxPositions?: number;
  /** llama3. */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn, longrope: explicit factor on cos/sin (derived when absent). */
  attentionFactor?: number;
  /** yarn. */
  betaFast?: number;
  betaSlow?: number;
  mscale?: number;
  mscaleAllDim?: number;
  truncate?: boolean;
  /** longrope: per-frequency divisors for sequences within / beyond originalMaxPositions. */
  shortFactor?: number[];
  longFactor?: number[];
}

export interface RopeFrequencies {
  /** [rotaryDim/2] angles per position. */
  invFreq: Float64Array;
  /** Multiplies cos and sin (yarn's mscale, longrope's scaling); 1 for the other types. */
  attentionFactor: number;
}

/** θ_i = theta^(−2i/dim), i < dim/2: the plain RoPE frequencies every variant starts from. */
function baseFrequencies(theta: number, dim: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / dim));
}

/**
 * The inverse frequencies and attention factor of `r` for a forward call over `seqLen` tokens
 * (positions 0 … seqLen−1). Only longrope depends on seqLen within max_position_embeddings; a
 * longer sequence is refused by the caller (ropeTableFor).
 */
export function ropeFrequencies(r: RopeParameters, seqLen: number): RopeFrequencies {
  const dim = r.rotaryDim;
  switch (r.type) {
    case 'default':
      return { invFreq: baseFrequencies(r.theta, dim), attentionFactor: 1 };
    case 'linear':
      return { invFreq: baseFrequencies(r.theta, dim).map((f) => f / r.factor!), attentionFactor: 1 };
    case 'dynamic':
      // transformers computes dynamic NTK with seq_len = max(seqLen, max_position_embeddings); within
      // max_position_embeddings the base is theta · 1^(…) = theta: plain RoPE.
      return { invFreq: baseFrequencies(r.theta, dim), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: llama3Frequencies(r), attentionFactor: 1 };
    case 'yarn':
      return yarnFrequencies(r);
    case 'longrope':
      return longropeFrequencies(r, seqLen);
  }
}

/** Llama 3.1: long wavelengths divided by factor, short ones kept, a smooth blend between. */
function llama3Frequencies(r: RopeParameters): Float64Array {
  const factor = r.factor!;
  const low = r.lowFreqFactor!;
  const high = r.highFreqFactor!;
  const old = r.originalMaxPositions!;
  const lowWavelen = old / low;
  const highWavelen = old / high;
  return baseFrequencies(r.theta, r.rotaryDim).map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (old / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** YaRN: interpolated (÷factor) and extrapolated frequencies blended by a linear ramp over dims. */
function yarnFrequencies(r: RopeParameters): RopeFrequencies {
  const dim = r.rotaryDim;
  const original = r.originalMaxPositions!;
  const factor = r.factor ?? r.maxPositions / original;
  let attentionFactor = r.attentionFactor;
  if (attentionFactor === undefined) {
    attentionFactor = r.mscale && r.mscaleAllDim
      ? yarnMscale(factor, r.mscale) / yarnMscale(factor, r.mscaleAllDim)
      : yarnMscale(factor);
  }
  // transformers: `get("beta_fast") or 32`: a 0 or null takes the default too.
  const betaFast = r.betaFast || 32;
  const betaSlow = r.betaSlow || 1;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(r.theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (r.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // transformers' guard against a zero-width ramp
  const base = baseFrequencies(r.theta, dim);
  const invFreq = base.map((f, i) => {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolation = 1 - ramp;
    return (f / factor) * (1 - extrapolation) + f * extrapolation;
  });
  return { invFreq, attentionFactor };
}

/** LongRoPE: per-frequency divisors, the long set when the sequence exceeds the original context. */
function longropeFrequencies(r: RopeParameters, seqLen: number): RopeFrequencies {
  const original = r.originalMaxPositions!;
  const factor = r.factor ?? r.maxPositions / original;
  const attentionFactor = r.attentionFactor
    ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
  const ext = longropeUsesLong(r, seqLen) ? r.longFactor! : r.shortFactor!;
  const invFreq = baseFrequencies(r.theta, r.rotaryDim).map((f, i) => f / ext[i]);
  return { invFreq, attentionFactor };
}

/** transformers' longrope update: the long factors once max(position_ids) + 1 > original. */
function longropeUsesLong(r: RopeParameters, seqLen: number): boolean {
  return r.type === 'longrope' && seqLen > r.originalMaxPositions!;
}

/**
 * What the table for a sequence of seqLen tokens depends on besides the parameters: the
 * decoder rebuilds its table when this changes (longrope short/long), not only when it grows.
 */
export function ropeRegime(r: RopeParameters, seqLen: number): string {
  return longropeUsesLong(r, seqLen) ? 'long' : 'short';
}

/**
 * [positions, dim]: row p holds cos(p·θ_i)·a for i < dim/2, then sin(p·θ_i)·a, from the given
 * frequencies and attention factor a.
 */
export function ropeTableFrom(f: RopeFrequencies, positions: number): Float32Array {
  const half = f.invFreq.length;
  const dim = 2 * half;
  const table = new Float32Array(positions * dim);
  for (let i = 0; i < half; i++) {
    for (let p = 0; p < positions; p++) {
      const angle = p * f.invFreq[i];
      table[p * dim + i] = Math.cos(angle) * f.attentionFactor;
      table[p * dim + half + i] = Math.sin(angle) * f.attentionFactor;
    }
  }
  return table;
}

/** Plain RoPE over `headDim` features (θ_i = theta^(−2i/headDim)); kept for the public API. */
export function ropeTable(theta: number, headDim: number, positions: number): Float32Array {
  return ropeTableFrom({ invFreq: baseFrequencies(theta, headDim), attentionFactor: 1 }, positions);
}

/**
 * The table covering `positions` rows for a forward call over seqLen tokens, refusing a sequence
 * longer than max_position_embeddings (transformers would switch dynamic to a different base,
 * and no model was trained there).
 */
export function ropeTableFor(r: RopeParameters, positions: number, seqLen: number): Float32Array {
  if (seqLen > r.maxPositions) {
    throw new UnsupportedModelError(`a sequence of ${seqLen} tokens is longer than the model's max_position_embeddings ${r.maxPositions}`);
  }
  return ropeTableFrom(ropeFrequencies(r, seqLen), positions);
}

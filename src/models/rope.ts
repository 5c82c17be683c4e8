// The rotary-embedding angle table both backends read (ForwardKernels.rope): computed once per
// model on the host in f64 and rounded to f32, so every device rotates by identical numbers.
import type { ModelSpec } from './config.js';

export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/**
 * [positions, headDim]: row p holds cos(p·θ_i) for i < headDim/2, then sin(p·θ_i), with
 * θ_i = theta^(−2i/headDim) (Hugging Face's inv_freq; rotate_half pairs i and i + headDim/2).
 */
export function ropeTable(theta: number, headDim: number, positions: number): Float32Array {
  const half = headDim / 2;
  const table = new Float32Array(positions * headDim);
  for (let i = 0; i < half; i++) {
    const invFreq = 1 / Math.pow(theta, (2 * i) / headDim);
    for (let p = 0; p < positions; p++) {
      const angle = p * invFreq;
      table[p * headDim + i] = Math.cos(angle);
      table[p * headDim + half + i] = Math.sin(angle);
    }
  }
  return table;
}

/** The table for a rotary model, refusing rope_scaling variants this package does not implement. */
export function ropeTableFor(spec: ModelSpec, positions: number): Float32Array {
  if (spec.positions.kind !== 'rotary') throw new UnsupportedModelError(`${spec.modelType} has no rotary positions`);
  const scaling = spec.positions.scaling;
  if (scaling !== null) {
    const type = scaling.rope_type ?? scaling.type;
    if (type !== 'default') {
      throw new UnsupportedModelError(`rope_scaling ${JSON.stringify(scaling)} is not supported (only plain RoPE)`);
    }
  }
  return ropeTable(spec.positions.theta, spec.headDim, positions);
}

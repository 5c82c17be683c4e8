// Plain-loop reference implementations of the forward kernels, in f64, written for the tests
// only: no SIMD, no tiling, no shared code with src/ or assembly/.

export type Arr = ArrayLike<number>;

/** Seeded uniform(−scale, scale) values: tests never run on zeros. */
export { uniform as randn } from '../support/random.js';

export function gemm(x: Arr, w: Arr, bias: Arr | null, rows: number, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * w[o * inDim + i];
      y[t * outDim + o] = s;
    }
  }
  return y;
}

export function rmsNorm(x: Arr, w: Arr, rows: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let t = 0; t < rows; t++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[t * dim + i] ** 2;
    const r = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[t * dim + i] = x[t * dim + i] * r * w[i];
  }
  return y;
}

export function layerNorm(x: Arr, w: Arr, b: Arr, rows: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[t * dim + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[t * dim + i] - mean) ** 2;
    const r = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[t * dim + i] = (x[t * dim + i] - mean) * r * w[i] + b[i];
  }
  return y;
}

/** HF rotate_half RoPE with angles computed directly (no table). */
/** HF rotate_half over the first rotaryDim features of each head (default: all); the rest pass through. */
export function rope(x: Arr, rows: number, heads: number, headDim: number, theta: number, posOffset: number, rotaryDim = headDim): Float64Array {
  const y = Float64Array.from(x);
  const half = rotaryDim / 2;
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = (posOffset + t) * theta ** (-(2 * i) / rotaryDim);
        const [c, s] = [Math.cos(angle), Math.sin(angle)];
        const [a, b] = [x[base + i], x[base + half + i]];
        y[base + i] = a * c - b * s;
        y[base + half + i] = b * c + a * s;
      }
    }
  }
  return y;
}

export function attention(
  q: Arr, k: Arr, v: Arr, tokens: number, heads: number, kvHeads: number, headDim: number, scale: number, window = 0, softcap = 0,
): Float64Array {
  const out = new Float64Array(tokens * heads * headDim);
  const rep = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const kh = Math.floor(h / rep);
    for (let t = 0; t < tokens; t++) {
      const lo = window > 0 ? Math.max(0, t - window + 1) : 0;
      const scores: number[] = [];
      for (let s = lo; s <= t; s++) {
        let d = 0;
        for (let i = 0; i < headDim; i++) d += q[(t * heads + h) * headDim + i] * k[(s * kvHeads + kh) * headDim + i];
        scores.push(softcap > 0 ? Math.tanh((d * scale) / softcap) * softcap : d * scale);
      }
      const m = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < headDim; i++) {
        let acc = 0;
        for (let s = lo; s <= t; s++) acc += (e[s - lo] / z) * v[(s * kvHeads + kh) * headDim + i];
        out[(t * heads + h) * headDim + i] = acc;
      }
    }
  }
  return out;
}

export const silu = (g: number): number => g / (1 + Math.exp(-g));

/** PyTorch gelu(approximate='tanh'). */
export const geluTanh = (g: number): number => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));

export function nll(logits: Arr, targets: Arr, rows: number, vocab: number): Float64Array {
  const out = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    let m = -Infinity;
    for (let i = 0; i < vocab; i++) m = Math.max(m, logits[t * vocab + i]);
    let z = 0;
    for (let i = 0; i < vocab; i++) z += Math.exp(logits[t * vocab + i] - m);
    out[t] = m + Math.log(z) - logits[t * vocab + targets[t]];
  }
  return out;
}

// Each rope variant's inverse frequencies and attention factor against formulas written out by
// hand here (from the papers and transformers' modeling_rope_utils.py, one loop per case), and
// against numbers transformers 5.17 itself printed for YaRN; the table's layout and attention
// factor; longrope's short/long switch by the real sequence length in the decoder; and the refusal
// of sequences longer than max_position_embeddings.
import { describe, expect, it } from 'vitest';
import { type RopeParameters, ropeFrequencies, ropeRegime, ropeTableFor, ropeTableFrom } from '../../src/models/rope.js';

const close = (got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(rel * Math.abs(want[i]) + 1e-300);
};

const base = (over: Partial<RopeParameters>): RopeParameters => ({ type: 'default', theta: 10000, rotaryDim: 128, maxPositions: 131072, ...over });

describe('rope frequencies', () => {
  it('default: theta^(-2i/d); dynamic within max positions is the same', () => {
    const want = Array.from({ length: 32 }, (_, i) => Math.exp((-2 * i / 64) * Math.log(500000)));
    close(ropeFrequencies(base({ theta: 500000, rotaryDim: 64 }), 10).invFreq, want);
    const dyn = ropeFrequencies(base({ type: 'dynamic', theta: 500000, rotaryDim: 64, factor: 4 }), 131072);
    close(dyn.invFreq, want);
    expect(dyn.attentionFactor).toBe(1);
  });

  it('linear: divided by factor', () => {
    const want = Array.from({ length: 4 }, (_, i) => 10000 ** (-i / 4) / 2.5);
    close(ropeFrequencies(base({ type: 'linear', rotaryDim: 8, factor: 2.5 }), 3).invFreq, want);
  });

  it('llama3 (Llama 3.1 8B: theta 5e5, factor 8, low 1, high 4, original 8192)', () => {
    const r = base({ type: 'llama3', theta: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    const got = ropeFrequencies(r, 100).invFreq;
    let [kept, divided, blended] = [0, 0, 0];
    for (let i = 0; i < 64; i++) {
      const f = 500000 ** (-(2 * i) / 128);
      const period = (2 * Math.PI) / f; // wavelength in positions
      let want: number;
      if (period < 8192 / 4) { want = f; kept++; }
      else if (period > 8192 / 1) { want = f / 8; divided++; }
      else {
        const s = (8192 / period - 1) / (4 - 1);
        want = (1 - s) * (f / 8) + s * f;
        blended++;
      }
      expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(1e-12 * want);
    }
    expect(kept * divided * blended).toBeGreaterThan(0); // all three branches were exercised
  });

  it('yarn: the frequencies and attention factor transformers 5.17 prints (rotary 64, theta 1e7, original 262144, factor 4)', () => {
    // Printed by transformers 5.17.0 modeling_rope_utils._compute_yarn_parameters (f32), as
    // published with its regeneration command in a public C++ project's golden file.
    const printed = [
      1.000000000e+00, 6.042963862e-01, 3.651741445e-01, 2.206733972e-01, 1.333521456e-01, 8.058421314e-02, 4.869675264e-02, 2.942727320e-02,
      1.778279431e-02, 1.074607857e-02, 6.493816618e-03, 3.924189601e-03, 2.371373819e-03, 1.433012658e-03, 8.659643354e-04, 4.742398160e-04,
      2.569350763e-04, 1.373497507e-04, 7.217386883e-05, 3.707224823e-05, 1.844922372e-05, 8.759770026e-06, 3.849816039e-06, 2.326430149e-06,
      1.405853368e-06, 8.495520660e-07, 5.133812238e-07, 3.102344408e-07, 1.874735602e-07, 1.132895946e-07, 6.846049416e-08, 4.137042708e-08,
    ];
    const f = ropeFrequencies(base({ type: 'yarn', theta: 1e7, rotaryDim: 64, factor: 4, originalMaxPositions: 262144, maxPositions: 262144 }), 10);
    close(f.invFreq, printed, 2e-6);
    expect(f.attentionFactor).toBeCloseTo(1.138629436111989, 12);
  });

  it('yarn: hand formula with mscale / mscale_all_dim, betas, no truncation', () => {
    const [theta, d, factor, orig, bf, bs] = [10000, 64, 40, 4096, 24, 2];
    const r = base({ type: 'yarn', theta, rotaryDim: d, factor, originalMaxPositions: orig, betaFast: bf, betaSlow: bs, mscale: 1, mscaleAllDim: 0.5, truncate: false });
    const got = ropeFrequencies(r, 10);
    const m = (s: number, k: number) => 0.1 * k * Math.log(s) + 1;
    expect(got.attentionFactor).toBeCloseTo(m(40, 1) / m(40, 0.5), 14);
    // Dimension where a frequency makes `rot` turns over the original context: d·ln(orig/(2π·rot)) / (2 ln θ).
    const at = (rot: number) => (d * Math.log(orig / (2 * Math.PI * rot))) / (2 * Math.log(theta));
    const [lo, hi] = [Math.max(0, at(bf)), Math.min(d - 1, at(bs))];
    for (let i = 0; i < d / 2; i++) {
      const plain = theta ** (-(2 * i) / d);
      const t = Math.min(1, Math.max(0, (i - lo) / (hi - lo))); // 0: keep (extrapolate), 1: interpolate
      const want = plain * (1 - t) + (plain / factor) * t;
      expect(Math.abs(got.invFreq[i] - want)).toBeLessThanOrEqual(1e-12 * want);
    }
    // Without mscale the factor is 0.1·ln(factor) + 1; a factor ≤ 1 gives 1.
    expect(ropeFrequencies({ ...r, mscale: undefined }, 1).attentionFactor).toBeCloseTo(0.1 * Math.log(40) + 1, 14);
    expect(ropeFrequencies({ ...r, factor: 1, mscale: undefined }, 1).attentionFactor).toBe(1);
  });

  it('longrope: short factors up to the original context, long beyond; sqrt(1 + ln s / ln L) attention', () => {
    const short = [1, 1.25, 1.5, 2];
    const long = [1.1, 2, 4, 9];
    const r = base({ type: 'longrope', rotaryDim: 8, maxPositions: 4096, originalMaxPositions: 512, shortFactor: short, longFactor: long });
    const plain = [0, 1, 2, 3].map((i) => 10000 ** (-(2 * i) / 8));
    close(ropeFrequencies(r, 512).invFreq, plain.map((p, i) => p / short[i]));
    close(ropeFrequencies(r, 513).invFreq, plain.map((p, i) => p / long[i]));
    expect([ropeRegime(r, 512), ropeRegime(r, 513)]).toEqual(['short', 'long']);
    expect(ropeFrequencies(r, 10).attentionFactor).toBeCloseTo(Math.sqrt(1 + Math.log(4096 / 512) / Math.log(512)), 14);
    expect(ropeFrequencies({ ...r, factor: 3 }, 10).attentionFactor).toBeCloseTo(Math.sqrt(1 + Math.log(3) / Math.log(512)), 14);
    expect(ropeFrequencies({ ...r, attentionFactor: 0.7 }, 10).attentionFactor).toBe(0.7);
  });
});

describe('rope table', () => {
  it('row p = cos(p·f)·a then sin(p·f)·a, f32', () => {
    const inv = Float64Array.of(0.9, 0.3, 0.01);
    const t = ropeTableFrom({ invFreq: inv, attentionFactor: 1.3 }, 7);
    expect(t.length).toBe(7 * 6);
    for (let p = 0; p < 7; p++) {
      for (let i = 0; i < 3; i++) {
        expect(t[p * 6 + i]).toBe(Math.fround(Math.cos(p * inv[i]) * 1.3));
        expect(t[p * 6 + 3 + i]).toBe(Math.fround(Math.sin(p * inv[i]) * 1.3));
      }
    }
  });

  it('refuses a sequence longer than max_position_embeddings, by name', () => {
    expect(() => ropeTableFor(base({ maxPositions: 16, rotaryDim: 4 }), 32, 17)).toThrow(/17 tokens is longer than the model's max_position_embeddings 16/);
    expect(ropeTableFor(base({ maxPositions: 16, rotaryDim: 4 }), 32, 16).length).toBe(32 * 4);
  });
});

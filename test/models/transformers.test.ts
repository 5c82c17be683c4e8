// Models made and run by Hugging Face transformers itself (test/fixtures/transformers/, see its
// SOURCE.md): toy-size random models of every supported family with the architecture fields of
// public checkpoints (Llama 3.2's llama3 rope, SmolLM2, TinyLlama as sharded BF16, linear,
// dynamic and yarn rope, Mistral with and without a sliding window, Qwen2.5, Qwen3, Phi-3 / 3.5 with longrope
// and partial rotary, Gemma 2, Gemma 3 text, OPT), each in the config layout transformers 5.x
// writes and in the 4.x layout as transformers 4.57 writes it, plus the real trained stories260K.
// dsnot's dense logits and perplexity must equal transformers' on wasm and on WebGPU, through
// the API and through `dsnot eval`, and `prune()` must run on each and reload to its report.
// Each fixture is also shown to notice a silent default: with the family's distinctive config
// field changed, the perplexity moves far outside the tolerance.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/perplexity.js';
import { prune } from '../../src/prune.js';
import { tempDir } from '../support/temp-dir.js';
import { forwardDevices, modelLogits, relErr } from './harness.js';
import { FIXTURES, type Layout, MODEL_NAMES, modelDir, modelReference, readReference, relative } from './transformers-reference.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const devices = forwardDevices();
const LAYOUTS: Layout[] = ['5.x', '4.x'];
/** dsnot computes in f32 as transformers does here: measured ≤ 4e-7 on both devices. */
const PPL_TOLERANCE = 1e-5;
const LOGITS_TOLERANCE = 1e-5;

it('has every family the issue lists', () => {
  expect(MODEL_NAMES).toEqual(expect.arrayContaining([
    'llama-3.2', 'smollm2', 'tinyllama', 'mistral-7b-v0.3', 'qwen2.5', 'qwen3', 'opt-125m', 'gemma-2', 'gemma-3', 'phi-3-mini', 'phi-3.5-mini',
  ]));
});

describe.each(['wasm', 'webgpu'] as const)('transformers fixtures on %s', (devName) => {
  describe.each(LAYOUTS)('%s config layout', (layout) => {
    it.each(MODEL_NAMES)('%s: logits and perplexity equal transformers\'', async (name) => {
      const ref = modelReference(name);
      const dir = modelDir(name, layout);
      for (const [seqlen, want] of ref.perplexity) {
        const logits = await modelLogits(dir, devices.device(devName), ref.tokens.slice(0, seqlen));
        expect(relErr(logits, ref.logits.get(seqlen)!), `logits @${seqlen}`).toBeLessThan(LOGITS_TOLERANCE);
        const r = await evaluate({ model: dir, tokens: ref.tokens, seqlen, device: devName });
        expect(r.windows).toBe(Math.floor(ref.tokens.length / seqlen));
        expect(relative(r.perplexity, want), `perplexity @${seqlen}: ${r.perplexity} vs ${want}`).toBeLessThan(PPL_TOLERANCE);
      }
    });
  });

  it('stories260K (the real trained model, from_pretrained): perplexity and logits equal transformers\'', async () => {
    const ref = readReference(join(FIXTURES, 'stories260K-reference.safetensors'));
    const dir = 'test/fixtures/stories260K-hf';
    const logits = await modelLogits(dir, devices.device(devName), ref.tokens.slice(0, 512));
    const rows = ref.logits.get(512)!;
    expect(relErr(logits.subarray(0, rows.length), rows)).toBeLessThan(LOGITS_TOLERANCE);
    const r = await evaluate({ model: dir, tokens: ref.tokens, seqlen: 512, device: devName });
    expect(r.windows).toBe(8);
    expect(relative(r.perplexity, ref.perplexity.get(512)!)).toBeLessThan(PPL_TOLERANCE);
  });
});

/**
 * Per fixture, its family's distinctive field changed to what a reader that ignored it would
 * compute: had dsnot read it wrong (or not at all), the comparisons above would fail.
 */
const SPOIL: Record<string, (c: Record<string, unknown>) => void> = {
  'llama-3.2': (c) => { c.rope_parameters = { rope_theta: 500000.0, rope_type: 'default' }; },
  smollm2: (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  tinyllama: (c) => { c.rope_parameters = { rope_theta: 500000.0, rope_type: 'default' }; },
  'llama-linear': (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  'llama-dynamic': (c) => { c.rope_parameters = { rope_theta: 500000.0, rope_type: 'dynamic', factor: 2.0 }; },
  'llama-yarn': (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  'mistral-7b-v0.3': (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  'mistral-window': (c) => { c.sliding_window = null; },
  'qwen2.5': (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  qwen3: (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; },
  'phi-3-mini': (c) => { c.sliding_window = null; },
  'phi-3.5-mini': (c) => { c.rope_parameters = { rope_theta: 10000.0, rope_type: 'default', partial_rotary_factor: 1.0 }; },
  'phi-partial-rotary': (c) => { (c.rope_parameters as Record<string, unknown>).partial_rotary_factor = 1.0; },
  'gemma-2': (c) => { c.final_logit_softcapping = null; },
  'gemma-3': (c) => { (c.rope_parameters as Record<string, Record<string, unknown>>).full_attention = { rope_theta: 10000.0, rope_type: 'default' }; },
  'opt-125m': (c) => { c.do_layer_norm_before = false; },
};

describe('the fixtures notice a field read wrong', () => {
  it('spoils one field of every fixture', () => expect(Object.keys(SPOIL).sort()).toEqual(MODEL_NAMES));
  it.each(MODEL_NAMES)('%s', async (name) => {
    const ref = modelReference(name);
    const seqlen = Math.max(...ref.perplexity.keys());
    const r = await evaluate({ model: modelDir(name, '5.x', SPOIL[name]), tokens: ref.tokens, seqlen, device: 'wasm' });
    expect(relative(r.perplexity, ref.perplexity.get(seqlen)!)).toBeGreaterThan(1e-3);
  });
});

describe('dsnot eval (the built CLI)', () => {
  // Every fixture on wasm; on WebGPU (SwiftShader: slow to start) the rope variants' hardest two.
  const runs = [...MODEL_NAMES.map((n) => [n, 'wasm'] as const), ['llama-3.2', 'webgpu'] as const, ['phi-3.5-mini', 'webgpu'] as const];
  it.each(runs)('%s on %s', (name, device) => {
    const ref = modelReference(name);
    const tokens = join(tempDir('dsnot-hf-tokens-'), 'tokens.json');
    writeFileSync(tokens, JSON.stringify(ref.tokens));
    for (const [seqlen, want] of ref.perplexity) {
      const args = [CLI, 'eval', join(FIXTURES, name), '--tokens', tokens, '--seqlen', String(seqlen), '--device', device, '--json'];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { perplexity: number; tokens: number };
      expect(relative(out.perplexity, want)).toBeLessThan(PPL_TOLERANCE);
    }
  });
});

describe('prune() on the transformers fixtures (wasm, the defaults at 50 %)', () => {
  it.each(MODEL_NAMES)('%s: runs, keeps the file layout, and reloads to the reported perplexity', async (name) => {
    const ref = modelReference(name);
    const seqlen = Math.max(...ref.perplexity.keys());
    const calibration = { tokens: Array.from({ length: 4 }, (_, w) => ref.tokens.slice(w * 32 + 3, w * 32 + 35)) };
    const out = tempDir('dsnot-hf-pruned-');
    const report = await prune({
      model: join(FIXTURES, name), output: out, calibration, sparsity: 0.5, device: 'wasm', evaluation: { tokens: ref.tokens, seqlen },
    });
    expect(relative(report.perplexity!.before, ref.perplexity.get(seqlen)!)).toBeLessThan(PPL_TOLERANCE);
    for (const l of report.linears) expect(l.reconstructionError!.final, l.weight).toBeLessThanOrEqual(l.reconstructionError!.initial);
    const weightFiles = (d: string) => readdirSync(d).filter((f) => f.startsWith('model')).sort();
    expect(weightFiles(out)).toEqual(weightFiles(join(FIXTURES, name)));
    const again = await evaluate({ model: out, tokens: ref.tokens, seqlen, device: 'wasm' });
    expect(relative(again.perplexity, report.perplexity!.after)).toBeLessThan(1e-9);
  });
});

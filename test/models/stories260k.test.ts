// The real trained stories260K model (test/fixtures/stories260K/REFERENCE.md), dense, through
// io's readers (llama2.c .bin and the HF safetensors folder) on wasm and on WebGPU: logits of
// two prompts and the reference perplexities, to 1e-4 relative.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../src/io/llama2c-tokenizer.js';
import { evaluate, type EvaluateProgress } from '../../src/eval/perplexity.js';
import { type ForwardDevice, wasmDevice, webgpuDevice } from '../forward/devices.js';
import { modelLogits } from './harness.js';

const BIN = 'test/fixtures/stories260K/stories260K.bin';
const HF = 'test/fixtures/stories260K-hf';
const rel = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

// REFERENCE.md's token stream: BOS + run.c encoding of the validation text.
const text = readFileSync('test/fixtures/tinystories-valid/tinystories_val.txt', 'utf8').trim().replaceAll('\n\n', '\n');
let ids: number[] = [];

const devices: Record<'wasm' | 'webgpu', ForwardDevice | null> = { wasm: null, webgpu: null };
let gpuMissing = '';
beforeAll(async () => {
  ids = new Llama2cTokenizer(readFileSync('test/fixtures/stories260K/tok512.bin')).encode(text);
  devices.wasm = await wasmDevice();
  const gpu = await webgpuDevice();
  if ('unavailable' in gpu) gpuMissing = gpu.unavailable;
  else devices.webgpu = gpu;
});
afterAll(() => devices.webgpu?.backend.dispose());

function device(name: 'wasm' | 'webgpu'): ForwardDevice {
  const d = devices[name];
  if (!d) throw new Error(`no WebGPU device (CI provides SwiftShader): ${gpuMissing}`);
  return d;
}

/** Logits of the last position of `prompt`, layer by layer as the pipeline runs them. */
async function lastLogits(path: string, dev: ForwardDevice, prompt: number[]): Promise<Float32Array> {
  const logits = await modelLogits(path, dev, prompt);
  return logits.slice(logits.length - logits.length / prompt.length);
}

function top5(logits: Float32Array): Array<[number, number]> {
  return [...logits].map((v, i) => [i, v] as [number, number]).sort((a, b) => b[1] - a[1]).slice(0, 5);
}

it('tokenizes the validation text as REFERENCE.md says', () => {
  expect(ids.length).toBe(388_718);
  expect(ids.slice(0, 20)).toEqual([1, 301, 427, 309, 426, 301, 427, 309, 394, 265, 262, 415, 271, 422, 280, 295, 269, 336, 432, 313]);
});

describe.each(['wasm', 'webgpu'] as const)('stories260K on %s', (name) => {
  describe.each([['llama2.c .bin', BIN], ['HF safetensors', HF]] as const)('%s', (_format, path) => {
    it('reproduces the reference logits', async () => {
      const dev = device(name);
      const bos = await lastLogits(path, dev, [1]);
      const wantBos: Array<[number, number]> = [[403, 17.0235], [385, 15.4062], [410, 13.1083], [317, 12.7692], [407, 12.4181]];
      const gotBos = top5(bos);
      for (let i = 0; i < 5; i++) {
        expect(gotBos[i][0]).toBe(wantBos[i][0]);
        expect(rel(gotBos[i][1], wantBos[i][1])).toBeLessThan(1e-4);
      }
      const once = await lastLogits(path, dev, [1, 403, 407, 261, 378]);
      const wantOnce: Array<[number, number]> = [[432, 17.7994], [383, 14.2813], [322, 9.7097], [353, 9.5873], [323, 9.1342]];
      const gotOnce = top5(once);
      for (let i = 0; i < 5; i++) {
        expect(gotOnce[i][0]).toBe(wantOnce[i][0]);
        expect(rel(gotOnce[i][1], wantOnce[i][1])).toBeLessThan(1e-4);
      }
      [-10.13657, -5.32946, -10.13808, -10.13686, -10.13721].forEach((want, i) => expect(rel(once[i], want)).toBeLessThan(1e-4));
    });

    // SwiftShader runs the GPU kernels ~100× slower than wasm: the reference counts on wasm,
    // a few windows on WebGPU compared with wasm's number for the same windows.
    if (name === 'wasm') {
      it.each([
        [4096, 256, 1.27045, 3.5624],
        [4096, 512, 1.24386, 3.469],
      ])('perplexity of %i tokens at ctx %i (overlapping protocol)', async (n, ctx, nll, ppl) => {
        const r = await evaluate({ model: path, tokens: ids, seqlen: ctx, protocol: 'overlapping', maxTokens: n, device: device(name).backend });
        expect(r.tokens).toBe(n);
        expect(r.windows).toBe(n / ctx);
        expect(rel(r.nll, nll)).toBeLessThan(1e-4);
        expect(rel(r.perplexity, ppl)).toBeLessThan(1e-4);
      });
    } else {
      it('perplexity of 256 tokens at ctx 128 equals wasm\'s', async () => {
        const opts = { model: path, tokens: ids, seqlen: 128, protocol: 'overlapping' as const, maxTokens: 256 };
        const gpu = await evaluate({ ...opts, device: device(name).backend });
        const cpu = await evaluate({ ...opts, device: device('wasm').backend });
        expect(gpu.device).toBe('webgpu');
        expect(gpu.tokens).toBe(256);
        expect(rel(gpu.perplexity, cpu.perplexity)).toBeLessThan(1e-4);
      });
    }
  });
});

describe('stories260K evaluation on wasm', () => {
  it('scores 40,960 tokens at ctx 512 as REFERENCE.md', async () => {
    const r = await evaluate({ model: BIN, tokens: ids, seqlen: 512, protocol: 'overlapping', maxTokens: 40_960, device: 'wasm' });
    expect(r.device).toBe('wasm');
    expect(rel(r.nll, 1.31684)).toBeLessThan(1e-4);
    expect(rel(r.perplexity, 3.7316)).toBeLessThan(1e-4);
  });

  it("the authors' protocol over the reference's windows laid end to end gives the reference number", async () => {
    // Non-overlapping windows of 257 ids, each scoring 256 predictions, are exactly the
    // overlapping protocol's windows of ctx 256 when the token stream repeats each boundary id.
    const stream: number[] = [];
    for (let k = 0; k < 16; k++) stream.push(...ids.slice(k * 256, k * 256 + 257));
    stream.push(...ids.slice(0, 100)); // a tail shorter than a window: dropped
    const r = await evaluate({ model: BIN, tokens: stream, seqlen: 257, device: 'wasm' });
    expect(r.protocol).toBe('authors');
    expect(r.windows).toBe(16);
    expect(r.tokens).toBe(16 * 256);
    expect(rel(r.perplexity, 3.5624)).toBeLessThan(1e-4);
  });

  it('tokenizes text with the tokenizer beside the checkpoint, groups windows to a memory budget, reports progress', async () => {
    const events: EvaluateProgress[] = [];
    const whole = await evaluate({ model: BIN, tokens: ids, seqlen: 128, maxTokens: 1024, device: 'wasm' });
    const grouped = await evaluate({
      model: BIN, text, seqlen: 128, maxTokens: 1024, device: 'wasm',
      maxHiddenBytes: 3 * 128 * 64 * 4, // three windows per group
      progress_callback: (p) => events.push(p),
    });
    expect(grouped.perplexity).toBe(whole.perplexity);
    expect(grouped.windows).toBe(8);
    expect(events.at(-1)?.status).toBe('done');
    expect(events.filter((e) => e.status === 'embed').length).toBe(3);
    expect(events.filter((e) => e.status === 'layer').map((e) => e.layer).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);
  });

  it('stops between layers when its signal is aborted', async () => {
    const ac = new AbortController();
    const run = evaluate({
      model: BIN, tokens: ids, seqlen: 256, maxTokens: 2048, device: 'wasm', signal: ac.signal,
      progress_callback: (p) => { if (p.status === 'layer' && p.layer === 2) ac.abort(); },
    });
    await expect(run).rejects.toThrow(/abort/i);
  });

  it('refuses bad input with clear errors', async () => {
    await expect(evaluate({ model: BIN, tokens: ids.slice(0, 100), seqlen: 256, device: 'wasm' })).rejects.toThrow(/do not fill one window of 256/);
    await expect(evaluate({ model: BIN, tokens: ids, seqlen: 1024, device: 'wasm' })).rejects.toThrow(/exceeds the model's 512 positions/);
    await expect(evaluate({ model: BIN, tokens: [1, 2, 600, 4], seqlen: 4, device: 'wasm' })).rejects.toThrow(/token id 600 at position 2 is outside the vocabulary/);
  });

  it("tokenizes text with the model's own tokenizer in either format (tokenizer.model, tok512.bin)", async () => {
    const text = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';
    const hf = await evaluate({ model: HF, text, seqlen: 16, device: 'wasm' });
    const bin = await evaluate({ model: BIN, text, seqlen: 16, device: 'wasm' });
    expect(hf.tokens).toBeGreaterThan(0);
    expect(hf.tokens).toBe(bin.tokens);
    expect(hf.perplexity).toBeCloseTo(bin.perplexity, 4);
  });
});

// Models as they sit on disk after `huggingface-cli download` / from_pretrained: a snapshot folder
// whose files are symlinks into ../../blobs/, and the models--org--name folder (refs/main names
// the snapshot). stories260K-hf laid out that way opens, evaluates and prunes like the plain
// folder, and the pruned output holds regular files only. Bad configs give one line and exit 1
// from the built bin (dist/cli.js, made by `npm run build`).
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as evalCommand } from '../../src/cli/eval.js';
import { run as infoCommand } from '../../src/cli/info.js';
import { run as pruneCommand } from '../../src/cli/prune.js';
import { evaluate } from '../../src/eval/perplexity.js';
import { openModel } from '../../src/io/model.js';
import { calibrationWindows, evaluationIds, HF, tempDir } from '../prune/helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const REV = '0123456789abcdef0123456789abcdef01234567';
let dir: string;
let logged: string[];

/** models--dsnot--stories260K: blobs/ named by content index, snapshots/REV/* links into them, refs/main. */
function hfCache(root: string, withRef = true): string {
  const repo = join(root, 'models--dsnot--stories260K');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', REV), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  readdirSync(HF).forEach((f, i) => {
    const blob = `blob${i}`;
    copyFileSync(join(HF, f), join(repo, 'blobs', blob));
    symlinkSync(join('..', '..', 'blobs', blob), join(repo, 'snapshots', REV, f));
  });
  if (withRef) writeFileSync(join(repo, 'refs', 'main'), REV);
  return repo;
}

beforeEach(() => {
  dir = tempDir('dsnot-hfcache-');
  logged = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logged.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Hugging Face cache layout', () => {
  it('a snapshot of symlinks and the models--org--name folder open as the plain folder does', async () => {
    const repo = hfCache(dir);
    const snapshot = join(repo, 'snapshots', REV);
    expect(lstatSync(join(snapshot, 'model.safetensors')).isSymbolicLink()).toBe(true);
    for (const path of [snapshot, repo]) {
      const m = await openModel(path);
      expect(m.source.location).toBe(snapshot);
      expect(m.sideFiles).toContain('config.json');
      expect(m.reader.tensors.length).toBeGreaterThan(10);
      await m.close();
      logged = [];
      expect(await infoCommand([path])).toBe(0);
      expect(logged.join('\n')).toContain('5 decoder layers, hidden 64');
    }
  });

  it('evaluates to the same perplexity, prunes, and writes regular files only', async () => {
    const repo = hfCache(dir);
    const tokens = evaluationIds(256);
    const plain = await evaluate({ model: HF, tokens, seqlen: 64, device: 'wasm' });
    const tokenFile = join(dir, 'tokens.json');
    writeFileSync(tokenFile, JSON.stringify(tokens));
    logged = [];
    expect(await evalCommand([repo, '--tokens', tokenFile, '--seqlen', '64', '--device', 'wasm', '--json'])).toBe(0);
    expect(JSON.parse(logged[0])).toEqual({ perplexity: plain.perplexity, tokens: plain.tokens });
    const calib = join(dir, 'calib.json');
    writeFileSync(calib, JSON.stringify(calibrationWindows(2, 32)));
    const out = join(dir, 'out');
    expect(await pruneCommand([repo, '--out', out, '--calib', calib, '--device', 'wasm', '--json'])).toBe(0);
    const names = readdirSync(out);
    expect(names).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.model']));
    for (const f of names) expect(lstatSync(join(out, f)).isFile(), `${f} is a regular file`).toBe(true);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(readFileSync(join(HF, 'config.json'), 'utf8'));
    const again = await evaluate({ model: out, tokens, seqlen: 64, device: 'wasm' });
    expect(Number.isFinite(again.perplexity)).toBe(true);
  });

  it('says what is wrong with a cache folder without refs/main or with a missing snapshot', async () => {
    const repo = hfCache(dir, false);
    await expect(openModel(repo)).rejects.toThrow(new RegExp(`Hugging Face cache folder without refs/main: open one of its snapshots \\(snapshots/${REV}\\)`));
    writeFileSync(join(repo, 'refs', 'main'), 'ffff');
    await expect(openModel(repo)).rejects.toThrow(/refs\/main names revision ffff, but snapshots\/ffff is missing/);
  });
});

describe('bad configs: one line on stderr, exit status 1', () => {
  const config = JSON.parse(readFileSync(join(HF, 'config.json'), 'utf8')) as Record<string, unknown>;
  const withConfig = (c: Record<string, unknown>): string => {
    const m = join(dir, 'model');
    mkdirSync(m, { recursive: true });
    copyFileSync(join(HF, 'model.safetensors'), join(m, 'model.safetensors'));
    writeFileSync(join(m, 'config.json'), JSON.stringify(c));
    return m;
  };
  it.each([
    ['a rope type that does not exist', { ...config, rope_scaling: { rope_type: 'nope', factor: 2 } }, /^dsnot (info|eval): config\.json rope_scaling: rope_type "nope" is not a rope type/],
    ['a missing required field', { ...config, num_hidden_layers: undefined }, /^dsnot (info|eval): config\.json is missing num_hidden_layers$/],
    ['head_dim inconsistent with the weights', { ...config, head_dim: 16 }, /^dsnot (info|eval): tensor "model\.layers\.0\.self_attn\.q_proj\.weight" has shape \[64, 64\] but config\.json implies \[128, 64\]: head_dim 16 × 8 heads \(4 key\/value\)$/],
    ['an unknown key', { ...config, attn_logit_softcapping: 30 }, /^dsnot (info|eval): config\.json: key attn_logit_softcapping=30 not understood for model_type llama/],
  ])('%s', (_n, c, line) => {
    const model = withConfig(c);
    const tokens = join(dir, 't.json');
    writeFileSync(tokens, JSON.stringify(evaluationIds(64)));
    for (const argv of [['info', model], ['eval', model, '--tokens', tokens, '--seqlen', '32', '--device', 'wasm']]) {
      const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    }
  });
});

describe('dsnot info: rotary variant, sliding-window layers, limits', () => {
  it('Qwen3 with sliding layers, q/k norms; Llama 3.2 with llama3 rope; longrope switch', async () => {
    const { llama32, llamaLongrope, llamaTensors, qwen3, writeModelDir } = await import('../models/random-weights.js');
    const q = writeModelDir(join(dir, 'q3'), qwen3, llamaTensors(qwen3, false));
    expect(await infoCommand([q])).toBe(0);
    let text = logged.join('\n');
    expect(text).toContain('positions: default (theta 1000000), rotary dim 16; q/k RMSNorm per head before RoPE');
    expect(text).toContain('sliding window: 4 tokens on layers 1');
    expect(text).toContain('limit: sequences over 64 tokens are refused (max_position_embeddings)');
    logged = [];
    await infoCommand([writeModelDir(join(dir, 'l32'), llama32, llamaTensors(llama32, false)), '--json']);
    const info = JSON.parse(logged.join('\n'));
    expect(info.positions).toEqual({ full_attention: 'llama3 (theta 500000, factor 32, original context 8, low/high freq factor 1/4), rotary dim 8' });
    expect(info.slidingWindows).toEqual([]);
    logged = [];
    await infoCommand([writeModelDir(join(dir, 'lr'), llamaLongrope, llamaTensors(llamaLongrope, false))]);
    text = logged.join('\n');
    expect(text).toContain('longrope (theta 10000, original context 8, short/long factors of 4), rotary dim 8');
    expect(text).toContain("limit: sequences over 8 tokens use longrope's long factors");
  });
});

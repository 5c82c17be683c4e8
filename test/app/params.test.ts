// The app's URL parameters are dsnot prune's flags: every flag has its parameter, and a
// parameter gives prune() exactly the settings its flag gives on the command line.
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/args.js';
import { PRUNE_FILE_FLAGS, PRUNE_FLAGS, pruneSettings } from '../../src/cli/prune-flags.js';
import { flagDefaults, modelUrl, paramsToFlags, parseParams } from '../../src/app/params.js';
import { resolvePruneOptions } from '../../src/pipeline/options.js';

/** The CLI's settings for argv (flags only), as `dsnot prune` reads them. */
function cli(argv: string[]) {
  return pruneSettings(parseFlags(argv, PRUNE_FLAGS, true));
}

/** The same flags as URL parameters (booleans as 1). */
function url(argv: string[]): URLSearchParams {
  const p = new URLSearchParams();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].slice(2);
    if (PRUNE_FLAGS[name].type === 'boolean') p.set(name, '1');
    else p.set(name, argv[++i]);
  }
  return p;
}

const CASES = [
  [],
  ['--sparsity', '2:4', '--init', 'magnitude', '--device', 'wasm'],
  ['--refine', 'dsnot', '--max-cycles', '7', '--threshold', '0.2', '--pow-var', '2', '--same-sign', '--no-guard', '--skip', 'none'],
  ['--max-swaps', '9', '--skip', 'o_proj,mlp', '--nsamples', '8', '--seqlen', '64', '--seed', '3', '--no-resume'],
  ['--owl', '--owl-m', '7', '--owl-lambda', '0.05', '--no-dsnot'],
];

describe('URL parameters', () => {
  it('every flag of dsnot prune is a parameter', () => {
    for (const [name, spec] of Object.entries(PRUNE_FLAGS)) {
      const value = spec.type === 'boolean' ? '1' : 'x';
      expect(() => paramsToFlags(new URLSearchParams({ [name]: value })), name).not.toThrow();
      expect(paramsToFlags(new URLSearchParams({ [name]: value }))[name], name).toBe(spec.type === 'boolean' ? true : 'x');
    }
  });

  it.each(CASES.map((c) => [c.join(' ') || '(defaults)', c]))('%s: the same settings as the CLI', (_, argv) => {
    expect(parseParams(url(argv as string[])).settings).toEqual(cli(argv as string[]));
  });

  it('files are URLs, with the model and run=1', () => {
    const r = parseParams('model=/models/m&calib=/c.txt&eval-text=/e.txt&eval-seqlen=64&out=x&run=1');
    expect(r).toMatchObject({ model: '/models/m', calib: '/c.txt', evalText: '/e.txt', evalSeqlen: 64, out: 'x', run: true });
    expect(parseParams('model=/m').run).toBe(false);
    for (const f of PRUNE_FILE_FLAGS) expect(PRUNE_FLAGS[f], f).toBeDefined();
  });

  it('refuses what the CLI refuses, and unknown or repeated names', () => {
    expect(() => parseParams('sparsity=abc')).toThrow(/sparsity/);
    expect(() => parseParams('refine=swaps&max-cycles=3')).toThrow(/max-cycles/);
    expect(() => parseParams('eval-seqlen=64')).toThrow(/eval-seqlen needs/);
    expect(() => parseParams('eval-text=a&eval-tokens=b')).toThrow(/not both/);
    expect(() => parseParams('sparsty=0.5')).toThrow(/unknown parameter 'sparsty'/);
    expect(() => parseParams('seed=1&seed=2')).toThrow(/2 times/);
    expect(() => parseParams('owl=maybe')).toThrow(/on or off/);
    expect(parseParams('owl=0').settings.sparsityProfile).toBeUndefined();
  });

  it('a model URL names a folder unless it names a file', () => {
    expect(modelUrl('/models/m', 'http://h/app/')).toBe('http://h/models/m/');
    expect(modelUrl('m/', 'http://h/app/')).toBe('http://h/app/m/');
    expect(modelUrl('/x/model.safetensors', 'http://h/')).toBe('http://h/x/model.safetensors');
    expect(modelUrl('https://o/m/stories.bin', 'http://h/')).toBe('https://o/m/stories.bin');
  });

  it('the defaults shown are the package\'s', () => {
    const d = flagDefaults();
    const r = resolvePruneOptions({});
    expect(d.nsamples).toBe(String(r.nsamples));
    expect(d.init).toBe(r.init);
    expect(d['max-cycles']).toBe(String(resolvePruneOptions({ refine: 'dsnot' }).dsnot!.maxCycles));
    // A default for every settings field that has one (the model decides seqlen's).
    for (const name of ['sparsity', 'refine', 'max-swaps', 'threshold', 'pow-var', 'skip', 'seed', 'device', 'owl-m', 'owl-lambda']) expect(d[name], name).toBeTruthy();
  });
});

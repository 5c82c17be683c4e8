// The perplexity table of the README: the bundled stories260K pruned with every initial mask ×
// refinement at 50 %, 60 %, 70 % and 2:4, calibrated on the SECOND half of the TinyStories validation text and evaluated
// on the FIRST half (never seen by calibration; its first 40,960 tokens are REFERENCE.md's).
//
//   npm run build && node bench/stories260k-table.mjs [--nsamples 128] [--seqlen 512] [--device wasm]
//                                                      [--only REGEX] (rows whose name matches it)
//
// Text: REFERENCE.md's preprocessing (paragraphs joined by one "\n", as the model was trained),
// cut in two at the first newline after the middle. Calibration: the authors' sampling (Python
// random, seed 0) of --nsamples windows of --seqlen tokens from the second half's token stream.
// Evaluation: the authors' protocol (non-overlapping windows of 512 tokens, tail dropped) on the
// first half, BOS + run.c encoding (tok512.bin). Writes bench/results/stories260k-table.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { here, lib } from './common.mjs';

const root = join(here, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'test/fixtures/stories260K-hf') },
    nsamples: { type: 'string', default: '128' },
    seqlen: { type: 'string', default: '512' },
    'eval-seqlen': { type: 'string', default: '512' },
    device: { type: 'string', default: 'wasm' },
    only: { type: 'string', default: '' },
    out: { type: 'string', default: 'stories260k-table.json' },
  },
});

const AUTHORS = { refine: 'dsnot', dsnot: { guard: false } };
const INITS = [['magnitude', 'magnitude'], ['Wanda', 'wanda'], ['SparseGPT', 'sparsegpt']];
const REFINES = [
  ['', { refine: 'none' }],
  [' + DSnoT (authors)', AUTHORS],
  [' + DSnoT, guarded', { refine: 'dsnot', dsnot: { guard: true } }],
  [' + DSnoT, guarded, all linears', { refine: 'dsnot', dsnot: { guard: true }, skip: 'none' }],
  [' + swaps', { refine: 'swaps' }],
  [' + swaps, MLP skipped', { refine: 'swaps', skip: ['mlp'] }],
  [' + swaps, ≤ 200 per row', { refine: 'swaps', swaps: { maxSwaps: 200 } }],
  [' + swaps, width 8', { refine: 'swaps', swaps: { width: 8 } }],
  [', OWL', { refine: 'none', sparsityProfile: { kind: 'owl' } }],
  [' + swaps, OWL', { refine: 'swaps', sparsityProfile: { kind: 'owl' } }],
];
const METHODS = INITS.flatMap(([name, init]) => REFINES.map(([suffix, r]) => [name + suffix, { init, ...r }]))
  .filter(([name]) => new RegExp(values.only).test(name));
const SPARSITIES = [['50 %', 0.5], ['60 %', 0.6], ['70 %', 0.7], ['2:4', { n: 2, m: 4 }]];

const text = readFileSync(join(root, 'test/fixtures/tinystories-valid/tinystories_val.txt'), 'utf8').trim().replaceAll('\n\n', '\n');
const cut = text.indexOf('\n', Math.floor(text.length / 2));
const calibText = text.slice(cut + 1);
const tokenizer = new lib.Llama2cTokenizer(readFileSync(join(root, 'test/fixtures/stories260K/tok512.bin')));
const evalIds = tokenizer.encode(text.slice(0, cut));

const results = [];
let dense = null;
const t0 = performance.now();
for (const [method, m] of METHODS) {
  for (const [label, sparsity] of SPARSITIES) {
    const out = mkdtempSync(join(tmpdir(), 'dsnot-table-'));
    try {
      const r = await lib.prune({
        model: values.model, output: out, calibration: { text: calibText }, sparsity, ...m,
        nsamples: Number(values.nsamples), seqlen: Number(values.seqlen), seed: 0, device: values.device,
        evaluation: { tokens: evalIds, seqlen: Number(values['eval-seqlen']) },
      });
      dense ??= r.perplexity.before;
      const e = r.totals.reconstructionError;
      results.push({
        method, sparsity: label, perplexity: r.perplexity.after, sparsityCheck: r.sparsityCheck, seconds: r.timings.totalMs / 1000,
        reconstructionError: e, worseLinears: r.linears.filter((l) => l.reconstructionError.final > l.reconstructionError.initial).length,
      });
      process.stderr.write(`${method} ${label}: ${r.perplexity.after.toFixed(3)} (${(r.timings.totalMs / 1000).toFixed(1)} s)\n`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
}

const setup = {
  model: 'stories260K (test/fixtures/stories260K-hf)',
  calibration: `second half of the TinyStories validation text: ${values.nsamples} windows of ${values.seqlen} tokens, authors' sampling, seed 0`,
  evaluation: `first half: ${evalIds.length} tokens, authors' protocol (non-overlapping windows of ${values['eval-seqlen']}, tail dropped)`,
  device: values.device,
  dsnot: "authors' defaults: 50 cycles, threshold 0.1, pow of var 1, no sign test, MLP skipped (unless said)",
  swaps: 'up to 50 per row (unless said), 16 candidates a side, every linear (unless said)',
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', values.out), JSON.stringify({ setup, dense, results, totalSeconds: (performance.now() - t0) / 1000 }, null, 2) + '\n');

const cell = (method, label) => results.find((r) => r.method === method && r.sparsity === label)?.perplexity.toFixed(2) ?? '–';
console.log(`| method | ${SPARSITIES.map(([l]) => l).join(' | ')} |`);
console.log(`| --- | ${SPARSITIES.map(() => '---:').join(' | ')} |`);
console.log(`| dense | ${SPARSITIES.map(() => dense.toFixed(2)).join(' | ')} |`);
for (const [method] of METHODS) console.log(`| ${method} | ${SPARSITIES.map(([l]) => cell(method, l)).join(' | ')} |`);
console.log(`\n${setup.calibration}; ${setup.evaluation}; ${setup.device}. ${((performance.now() - t0) / 1000).toFixed(0)} s.`);

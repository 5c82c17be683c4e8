// OWL against uniform sparsity on stories260K: one prune() each, Wanda without refinement,
// calibrated on the SECOND half of the TinyStories validation text and evaluated on the FIRST
// half (as bench/stories260k-table.mjs), printing both perplexities and OWL's layer sparsities.
//   npm run build && node bench/owl-stories260k.mjs [--sparsity 0.7] [--nsamples 32] [--seqlen 512] [--m 5] [--lambda 0.08] [--owl-only]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const lib = await import(join(root, 'dist/index.js'));
const { values } = parseArgs({
  options: {
    sparsity: { type: 'string', default: '0.7' }, nsamples: { type: 'string', default: '32' }, seqlen: { type: 'string', default: '512' },
    m: { type: 'string', default: '5' }, lambda: { type: 'string', default: '0.08' }, device: { type: 'string', default: 'wasm' },
    'owl-only': { type: 'boolean', default: false },
  },
});
const text = readFileSync(join(root, 'test/fixtures/tinystories-valid/tinystories_val.txt'), 'utf8').trim().replaceAll('\n\n', '\n');
const cut = text.indexOf('\n', Math.floor(text.length / 2));
const tokenizer = new lib.Llama2cTokenizer(readFileSync(join(root, 'test/fixtures/stories260K/tok512.bin')));
const evalIds = tokenizer.encode(text.slice(0, cut));

const uniform = values['owl-only'] ? [] : [undefined];
for (const profile of [...uniform, { kind: 'owl', m: Number(values.m), lambda: Number(values.lambda) }]) {
  const out = mkdtempSync(join(tmpdir(), 'dsnot-owl-'));
  try {
    const r = await lib.prune({
      model: join(root, 'test/fixtures/stories260K-hf'), output: out, calibration: { text: text.slice(cut + 1) },
      sparsity: Number(values.sparsity), init: 'wanda', refine: 'none', sparsityProfile: profile,
      nsamples: Number(values.nsamples), seqlen: Number(values.seqlen), seed: 0, device: values.device,
      evaluation: { tokens: evalIds, seqlen: 512 },
    });
    const p = r.sparsityProfile;
    console.log(`${p ? `OWL m ${p.m} λ ${p.lambda}` : 'uniform'}: perplexity ${r.perplexity.before.toFixed(3)} dense → ${r.perplexity.after.toFixed(3)}`
      + ` (sparsity check ${r.sparsityCheck.toFixed(4)}, ${r.perplexity.tokens} tokens, ${(r.timings.totalMs / 1000).toFixed(1)} s)`
      + (p ? `\n  outlier ratios ${p.outlierRatios.map((d) => (100 * d).toFixed(3)).join(' ')} %\n  layer sparsity ${p.layerSparsity.map((s) => s.toFixed(4)).join(' ')}` : ''));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// Prune the bundled stories260K model with the defaults (Wanda's mask refined by exact swaps, 50 %,
// every linear) on whatever device is available, and print the layer error of the initial masks
// and of the result, the perplexity before and after, and where the pruned model went.
//
//   npm run build && node examples/stories260k.mjs [OUT_DIR]     (default: $TMPDIR/dsnot-stories260K-pruned)
//
// Calibration: the second half of the TinyStories validation text (the authors' sampling: 128
// windows of 512 tokens). Evaluation: the first half (the authors' protocol: non-overlapping
// windows of 512 tokens). Running it again after an interruption resumes where it stopped.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { prune } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);

const output = process.argv[2] ?? join(tmpdir(), 'dsnot-stories260K-pruned');
// The model was trained on stories whose paragraphs are joined by one newline.
const text = readFileSync(join(root, 'test/fixtures/tinystories-valid/tinystories_val.txt'), 'utf8').trim().replaceAll('\n\n', '\n');
const half = text.indexOf('\n', Math.floor(text.length / 2));

let last = -1;
const report = await prune({
  model: join(root, 'test/fixtures/stories260K/stories260K.bin'),
  output,
  calibration: { text: text.slice(half + 1) },
  evaluation: { text: text.slice(0, half) },
  progress_callback: (p) => {
    if (p.message) console.error(p.message);
    if (p.stage === 'layer-done' && p.layer !== last) console.error(`layer ${(last = p.layer) + 1}/${p.layers} done`);
  },
});

const { before, after, tokens } = report.perplexity;
console.log(`${report.method} at sparsity ${report.sparsity} on ${report.device} (sparsity check ${report.sparsityCheck.toFixed(4)})`);
const e = report.totals.reconstructionError;
console.log(`layer error ‖X(W−Ŵ)‖², summed over the ${report.totals.linears} linears: ${e.initial.toFixed(2)} with ${report.init}'s masks → ${e.final.toFixed(2)} refined (${((e.final / e.initial - 1) * 100).toFixed(1)} %)`);
console.log(`perplexity ${before.toFixed(2)} → ${after.toFixed(2)} on ${tokens} held-out tokens`);
console.log(`pruned model: ${report.output} (${report.files.join(', ')})`);

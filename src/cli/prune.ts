// `dsnot prune MODEL --out DIR …`: prune a whole model (DESIGN.md's command line). A progress
// bar on a terminal; --json prints the report. Ctrl-C stops at the next window/linear boundary
// and keeps the partial state: the same command resumes.
import { prune, type PruneEvaluation, type PruneProgress, type PruneReport } from '../prune.js';
import { sparsityLabel } from '../pipeline/options.js';
import { CliUsageError, optionalString, parseCommand } from './args.js';
import { integerFlag, readText, readTokenStream } from './inputs.js';
import { PRUNE_FLAGS, pruneSettings } from './prune-flags.js';
import { formatDuration, ProgressBar } from './progress.js';

const HELP = `usage: dsnot prune MODEL --out DIR --calib FILE
            [--sparsity 0.5|2:4] [--init wanda|magnitude|sparsegpt|ria] [--skip none|mlp|LIST]
            [--owl [--owl-m 5] [--owl-lambda 0.08]]
            [--refine swaps|dsnot|none] [--no-dsnot] [--max-swaps 50]
            [--max-cycles 50] [--threshold 0.1] [--pow-var 1] [--same-sign] [--no-guard]
            [--nsamples 128] [--seqlen 2048] [--seed 0] [--device auto|wasm|webgpu] [--threads auto|N]
            [--eval-text FILE | --eval-tokens FILE.json] [--eval-seqlen N] [--no-resume] [--json]
MODEL: a folder with config.json + safetensors, a .safetensors/.index.json file, or a llama2.c .bin.
--calib (required): plain text or C4-style JSON lines (optionally .gz), sampled as the authors do
  (--nsamples windows of --seqlen tokens, --seed), or a .json array of token-id arrays used as given.
--refine: exact error-decreasing swaps (default), the authors' DSnoT (guarded by the true error
  unless --no-guard: --refine dsnot --no-guard is their algorithm bit for bit), or none.
--skip: linears the refinement leaves at their initial mask (default: none for swaps, mlp for
  DSnoT as the authors; or a comma list of mlp, self_attn, linear names such as o_proj).
--owl: OWL layerwise sparsity (one dense pass first; layers with more outliers A > m·mean(A),
  A = |W|·‖x‖, are pruned less, within ±lambda, the total staying --sparsity; N:M keeps N:M in every layer).
--eval-text/--eval-tokens: also report perplexity before and after (authors' protocol).
--threads: CPU threads of the wasm kernels (default auto: every core, at most 16); the output is
  byte-identical for every count.
An interrupted run (Ctrl-C, kill, crash, full disk, lost GPU) resumes when the same command is run
again. dsnot verify DIR re-checks a finished folder against its report.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, PRUNE_FLAGS, HELP, true);
  if (!args) return 0;
  if (args.positionals.length !== 1) throw new CliUsageError(args.positionals.length ? `one MODEL expected, got ${args.positionals.length}: ${args.positionals.join(' ')}` : 'MODEL is required (dsnot prune MODEL --out DIR --calib FILE)');
  const model = args.positionals[0];
  const out = optionalString(args, 'out');
  if (!out) throw new CliUsageError('--out DIR is required');
  const calib = optionalString(args, 'calib');
  if (!calib) throw new CliUsageError('--calib FILE is required: a text file (plain or C4 JSON lines, optionally .gz) or a .json file of token-id windows');
  const settings = pruneSettings(args);
  const evaluation = await evaluationFlags(args.flags);
  const json = args.flags.json === true;

  const bar = new ProgressBar(process.stderr, process.stderr.isTTY === true && !json);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted (Ctrl-C): run the same command again to resume'));
  process.once('SIGINT', onSigint);
  let report: PruneReport;
  try {
    report = await prune({
      model,
      output: out,
      calibration: calib,
      ...settings,
      evaluation,
      signal: controller.signal,
      progress_callback: (p) => showProgress(bar, p, json),
    });
  } finally {
    bar.done();
    process.off('SIGINT', onSigint);
  }
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(summary(report));
  return 0;
}

function reErr(e: { initial: number; final: number }): string {
  const change = e.initial > 0 ? ` (${((e.final / e.initial - 1) * 100).toFixed(1)} %)` : '';
  return `${e.initial.toPrecision(5)} initial mask → ${e.final.toPrecision(5)} final${change}`;
}

function showProgress(bar: ProgressBar, p: PruneProgress, json: boolean): void {
  if (p.message && !json) {
    if (bar.enabled) bar.note(`dsnot prune: ${p.message}`);
    else console.error(`dsnot prune: ${p.message}`);
  }
  const head = p.layer === undefined ? p.stage : `layer ${p.layer + 1}/${p.layers}`;
  const detail = p.stage === 'prune' ? `prune ${p.linear}${p.entry ? `: error ${reErr(p.entry.reconstructionError)}` : ''}`
    : p.stage === 'profile' ? 'OWL dense pass'
    : p.stage === 'stats' || p.stage === 'forward' ? `${p.stage === 'stats' ? 'dense pass' : 'pruned pass'} ${(p.window ?? 0) + 1}/${p.windows}`
      : p.stage;
  bar.update(p.progress, head, detail, p.stage === 'layer-done' || p.stage === 'done');
}

export function summary(r: PruneReport): string {
  const lines = [
    `pruned ${r.model} → ${r.output}`,
    `  ${r.method}, sparsity ${sparsityLabel(r.sparsity)}${r.refine !== 'none' ? `, the refinement skips ${r.skip.length ? r.skip.join(',') : 'nothing'}` : ''}; ${r.layers} layers, ${r.totals.linears} linears on ${r.device}${r.resumedFromLayer ? ` (resumed after layer ${r.resumedFromLayer})` : ''}`,
    `  calibration: ${r.calibration.windows} windows, ${r.calibration.tokens} tokens (${r.calibration.kind})`,
    `  sparsity check: ${r.sparsityCheck.toFixed(4)} (${r.totals.zeros} of ${r.totals.weights} decoder-linear weights are zero)`,
    `  layer error ‖X(W−Ŵ)‖² per calibration sequence, summed over the linears: ${reErr(r.totals.reconstructionError)}`,
  ];
  const owl = r.sparsityProfile;
  if (owl) {
    lines.push(`  OWL (m ${owl.m}, lambda ${owl.lambda})${owl.applied ? '' : ', reported only: N:M keeps the same pattern in every layer'}: layer sparsity ${owl.layerSparsity.map((s) => s.toFixed(4)).join(' ')}`);
    lines.push(`    outlier ratios ${owl.outlierRatios.map((d) => (100 * d).toFixed(3) + ' %').join(' ')}`);
  }
  if (r.perplexity) {
    const p = r.perplexity;
    lines.push(`  perplexity: ${p.before.toFixed(3)} dense → ${p.after.toFixed(3)} pruned (${p.tokens} tokens, seqlen ${p.seqlen}, ${p.protocol} protocol)`);
  }
  const t = r.timings;
  const s = (ms: number) => (ms / 1000).toFixed(1);
  lines.push(`  time: ${formatDuration(t.totalMs / 1000)} (load ${s(t.loadMs)} s, forward ${s(t.forwardMs)} s, prune ${s(t.pruneMs)} s, write ${s(t.writeMs)} s${t.evalMs ? `, eval ${s(t.evalMs)} s` : ''})`);
  lines.push(`  files: ${r.files.join(', ')}`);
  return lines.join('\n');
}

async function evaluationFlags(flags: Record<string, string | boolean | undefined>): Promise<PruneEvaluation | undefined> {
  const textFile = flags['eval-text'];
  const tokensFile = flags['eval-tokens'];
  const seqlen = integerFlag(flags, 'eval-seqlen');
  if (typeof textFile === 'string' && typeof tokensFile === 'string') throw new CliUsageError('give --eval-text or --eval-tokens, not both');
  if (typeof textFile === 'string') return { text: await readText(textFile, '--eval-text'), seqlen };
  if (typeof tokensFile === 'string') return { tokens: await readTokenStream(tokensFile, '--eval-tokens'), seqlen };
  if (seqlen !== undefined) throw new CliUsageError('--eval-seqlen needs --eval-text or --eval-tokens');
  return undefined;
}



// `dsnot verify OUT [--model IN] [--json]`: re-check a finished output folder against its report
// (pipeline/verify.ts). Exit 0 with a short summary; 1 with one line per failing file or tensor.
import { verifyOutput, type VerifyResult } from '../pipeline/verify.js';
import { CliUsageError, optionalString, parseCommand, type FlagSpec } from './args.js';

const FLAGS: FlagSpec = {
  model: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot verify OUT [--model IN] [--json]
Re-check a finished dsnot prune output folder against its dsnot-report.json: every tensor's and
side file's SHA-256, each pruned linear's zeros (its sparsity), the file set, and that the tensors
the run did not prune equal the input model's (the report's model path, or --model IN when it
moved). A folder with an unfinished run fails: rerun the same dsnot prune command to resume it.
Exit status 0: verified; 1: one line per failing file or tensor. --json prints the result.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP, true);
  if (!args) return 0;
  if (args.positionals.length !== 1) throw new CliUsageError('one OUT folder is required (dsnot verify OUT [--model IN])');
  const result = await verifyOutput({ output: args.positionals[0], model: optionalString(args, 'model') });
  if (args.flags.json === true) console.log(JSON.stringify(result, null, 2));
  else if (result.ok) console.log(summary(result));
  if (!result.ok && args.flags.json !== true) {
    console.error(`dsnot verify: ${result.output} failed verification (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}):`);
    for (const p of result.problems) console.error(`  ${p}`);
  }
  return result.ok ? 0 : 1;
}

function summary(r: VerifyResult): string {
  const c = r.checked;
  return [
    `verified ${r.output}`,
    `  ${c.tensors} tensors and ${c.files} side files match their hashes; ${c.linears} pruned linears have the report's zeros; ${c.untouched} other tensors equal the input's (${r.model})`,
    `  content hash ${r.contentHash}`,
  ].join('\n');
}

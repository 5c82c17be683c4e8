// `dsnot prune`'s flags and what the settings among them mean in prune()'s terms. The browser app
// takes the same names as URL parameters (src/app/params.ts) and reads them through
// pruneSettings, so the two cannot drift apart. No node: imports (the app bundles this).
import type { InitMethod } from '../layer.js';
import type { SparsityProfileOption } from '../pipeline/owl.js';
import type { PruneOptions } from '../prune.js';
import { parseSparsity } from '../validate.js';
import {
  CliUsageError, DEVICE_CHOICES, DSNOT_FLAGS, INIT_CHOICES, integerFlag, oneOf, optionalNumber, optionalString, refineFlags, threadsFlag, type FlagSpec, type ParsedArgs,
} from './flags.js';

export const PRUNE_FLAGS: FlagSpec = {
  out: { type: 'string' },
  sparsity: { type: 'string' },
  init: { type: 'string' },
  owl: { type: 'boolean' },
  'owl-m': { type: 'string' },
  'owl-lambda': { type: 'string' },
  ...DSNOT_FLAGS,
  skip: { type: 'string' },
  calib: { type: 'string' },
  nsamples: { type: 'string' },
  seqlen: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  'eval-text': { type: 'string' },
  'eval-tokens': { type: 'string' },
  'eval-seqlen': { type: 'string' },
  'no-resume': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The flags that name files (the app takes URLs or picked files for them); the rest are settings. */
export const PRUNE_FILE_FLAGS = ['out', 'calib', 'eval-text', 'eval-tokens'] as const;

/** What the settings flags ask of prune(): everything but the model, output and data. */
export type PruneSettings = Pick<PruneOptions, 'sparsity' | 'init' | 'sparsityProfile' | 'refine' | 'dsnot' | 'swaps' | 'skip' | 'nsamples' | 'seqlen' | 'seed' | 'device' | 'threads' | 'resume'>;

export function pruneSettings(args: ParsedArgs): PruneSettings {
  const refining = refineFlags(args, (a) => integerFlag(a.flags, 'max-cycles'));
  const skipText = optionalString(args, 'skip');
  if (refining.refine === 'none' && skipText !== undefined) throw new CliUsageError(`--skip does not apply to ${args.flags['no-dsnot'] ? '--no-dsnot' : '--refine none'}`);
  return {
    sparsity: sparsityFlag(optionalString(args, 'sparsity') ?? '0.5'),
    init: oneOf(args, 'init', INIT_CHOICES, 'wanda') as InitMethod,
    sparsityProfile: owlFlags(args),
    ...refining,
    skip: skipText === undefined ? undefined : skipText === 'none' ? 'none' : skipText.split(',').map((s) => s.trim()).filter(Boolean),
    nsamples: integerFlag(args.flags, 'nsamples'),
    seqlen: integerFlag(args.flags, 'seqlen'),
    seed: integerFlag(args.flags, 'seed'),
    device: oneOf(args, 'device', DEVICE_CHOICES, 'auto'),
    threads: threadsFlag(args),
    resume: args.flags['no-resume'] !== true,
  };
}

/** --owl [--owl-m M] [--owl-lambda L]; the two values without --owl are a usage error (ranges: the API's). */
function owlFlags(args: ParsedArgs): SparsityProfileOption | undefined {
  const m = optionalNumber(args, 'owl-m');
  const lambda = optionalNumber(args, 'owl-lambda');
  if (args.flags.owl !== true) {
    if (m !== undefined || lambda !== undefined) throw new CliUsageError(`--${m !== undefined ? 'owl-m' : 'owl-lambda'} needs --owl`);
    return undefined;
  }
  return { kind: 'owl', ...(m !== undefined ? { m } : {}), ...(lambda !== undefined ? { lambda } : {}) };
}

function sparsityFlag(text: string): number | { n: number; m: number } {
  let s: number | { n: number; m: number };
  try {
    s = parseSparsity(text);
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
  const ok = typeof s === 'number' ? s >= 0 && s < 1 : s.n >= 1 && s.n < s.m;
  if (!ok) throw new CliUsageError(`--sparsity must be a ratio in [0, 1) such as 0.5, or N:M with 1 ≤ N < M such as 2:4 (got '${text}')`);
  return s;
}

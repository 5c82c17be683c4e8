// The flags' meaning, without node:util: the CLI's option tables and the readers that turn flag
// values into the API's options. The browser app (src/app/params.ts) reads its URL parameters
// through the same code, so a parameter means exactly what the flag of the same name means.
import type { ParseArgsConfig } from 'node:util';
import type { DsnotOptions, RefineMethod, SwapsOptions } from '../layer.js';

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export const INIT_CHOICES = ['wanda', 'magnitude', 'sparsegpt', 'ria'] as const;
export const DEVICE_CHOICES = ['auto', 'wasm', 'webgpu'] as const;

export const REFINE_CHOICES = ['swaps', 'dsnot', 'none'] as const;

/** The refinement flags `dsnot layer` and `dsnot prune` share. */
export const DSNOT_FLAGS: FlagSpec = {
  refine: { type: 'string' },
  'no-dsnot': { type: 'boolean' },
  'max-cycles': { type: 'string' },
  threshold: { type: 'string' },
  'pow-var': { type: 'string' },
  'same-sign': { type: 'boolean' },
  guard: { type: 'boolean' },
  'no-guard': { type: 'boolean' },
  'max-swaps': { type: 'string' },
};

const DSNOT_ONLY = ['max-cycles', 'threshold', 'pow-var', 'same-sign', 'guard', 'no-guard'];

/** What the refinement flags ask for, in the API's terms (undefined: the API's default). */
export interface RefineFlags {
  refine?: RefineMethod;
  dsnot?: false | DsnotOptions;
  swaps?: SwapsOptions;
}

/**
 * --refine, or what the other flags imply: --no-dsnot is --refine none, a DSnoT flag means
 * --refine dsnot, --max-swaps means --refine swaps. Flags of another refinement than the one
 * chosen are a usage error. `maxCycles` reads --max-cycles as the command does.
 */
export function refineFlags(args: ParsedArgs, maxCycles: (args: ParsedArgs) => number | undefined): RefineFlags {
  const given = (names: readonly string[]) => names.filter((f) => args.flags[f] !== undefined);
  const dsnotGiven = given(DSNOT_ONLY);
  const swapsGiven = given(['max-swaps']);
  if (args.flags.guard === true && args.flags['no-guard'] === true) throw new CliUsageError('--guard conflicts with --no-guard');
  let refine = optionalString(args, 'refine') as RefineMethod | undefined;
  if (refine !== undefined && !(REFINE_CHOICES as readonly string[]).includes(refine)) {
    throw new CliUsageError(`--refine must be one of ${REFINE_CHOICES.join(', ')} (got '${refine}')`);
  }
  if (args.flags['no-dsnot'] === true) {
    if (refine !== undefined && refine !== 'none') throw new CliUsageError(`--no-dsnot conflicts with --refine ${refine}`);
    refine = 'none';
  }
  refine ??= dsnotGiven.length ? 'dsnot' : swapsGiven.length ? 'swaps' : undefined;
  const wrong = refine === 'dsnot' ? swapsGiven : refine === 'swaps' || refine === 'none' ? [...dsnotGiven, ...(refine === 'none' ? swapsGiven : [])] : [];
  if (wrong.length) throw new CliUsageError(`--${wrong[0]} does not apply to ${refine === 'none' ? (args.flags['no-dsnot'] ? '--no-dsnot' : '--refine none') : `--refine ${refine}`}`);
  if (refine === 'none') return { refine, dsnot: false };
  if (refine === 'swaps') return { refine, swaps: { maxSwaps: optionalNumber(args, 'max-swaps') } };
  if (refine === undefined) return {};
  return {
    refine,
    dsnot: {
      maxCycles: maxCycles(args),
      updateThreshold: optionalNumber(args, 'threshold'),
      powOfVarRegrowing: optionalNumber(args, 'pow-var'),
      sameSign: args.flags['same-sign'] === true,
      ...(args.flags['no-guard'] === true ? { guard: false } : args.flags.guard === true ? { guard: true } : {}),
    },
  };
}

export function requireString(args: ParsedArgs, name: string): string {
  const v = args.flags[name];
  if (typeof v !== 'string' || v === '') throw new CliUsageError(`--${name} is required`);
  return v;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A decimal number flag (range checks belong to the API that takes it). */
export function optionalNumber(args: ParsedArgs, name: string): number | undefined {
  const v = optionalString(args, name);
  if (v === undefined) return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim())) throw new CliUsageError(`--${name} must be a number (got '${v}')`);
  return Number(v);
}

export function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = optionalString(args, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new CliUsageError(`--${name} must be one of ${allowed.join(', ')} (got '${v}')`);
  return v as T;
}

/** An integer flag (undefined when absent). */
export function integerFlag(flags: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[+-]?\d+$/.test(v.trim())) throw new CliUsageError(`--${name} must be an integer (got '${String(v)}')`);
  return Number(v);
}

/** --threads auto|N (the API checks the range). */
export function threadsFlag(args: ParsedArgs): 'auto' | number {
  const v = optionalString(args, 'threads') ?? 'auto';
  if (v === 'auto') return v;
  if (!/^\d+$/.test(v.trim())) throw new CliUsageError(`--threads must be 'auto' or a number of threads (got '${v}')`);
  return Number(v);
}

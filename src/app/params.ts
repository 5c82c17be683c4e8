// The app's URL parameters are `dsnot prune`'s flags by name (DESIGN.md: "the app is driven by
// URL parameters named as the prune options, plus run=1"): ?model=…&calib=…&sparsity=2:4&run=1.
// The list is the CLI's own table (PRUNE_FLAGS), and the settings are read by the CLI's own
// reader (pruneSettings), so a parameter means what its flag means. Files are URLs here: model,
// calib, eval-text, eval-tokens; `out` names the output folder in the browser's storage (OPFS).
// The form builds the same parameters, so a run started by hand and one started by URL are one path.
import { CliUsageError, integerFlag, type ParsedArgs } from '../cli/flags.js';
import { PRUNE_FLAGS, pruneSettings, type PruneSettings } from '../cli/prune-flags.js';
import { defaultSkip, resolvePruneOptions, sparsityLabel } from '../pipeline/options.js';

/** Parameters of the app beyond prune's flags: the model (prune's positional MODEL) and run=1. */
export const APP_PARAMS = ['model', 'run'] as const;
/** Flags that only shape the CLI's terminal output; accepted and ignored. */
export const IGNORED_FLAGS = ['json', 'help'] as const;

export interface AppRequest {
  /** URLs as given (relative to the page); undefined: not given (the page may have a picked file). */
  model?: string;
  calib?: string;
  evalText?: string;
  evalTokens?: string;
  evalSeqlen?: number;
  /** The output folder's name in OPFS. */
  out?: string;
  settings: PruneSettings;
  run: boolean;
}

const TRUE = new Set(['', '1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** An on/off parameter's value is on (`run`, `run=1`, `run=true`, …); absent is off. */
export function isOn(value: string | null): boolean {
  return value !== null && TRUE.has(value.toLowerCase());
}

/** The parameters as the CLI's parsed flags; unknown names and repeated ones are errors. */
export function paramsToFlags(params: URLSearchParams): ParsedArgs['flags'] {
  const flags: ParsedArgs['flags'] = {};
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    if (values.length > 1) throw new CliUsageError(`parameter ${name} is given ${values.length} times`);
    const value = values[0];
    if ((APP_PARAMS as readonly string[]).includes(name)) continue;
    const spec = PRUNE_FLAGS[name];
    if (!spec) throw new CliUsageError(`unknown parameter '${name}' (the parameters are dsnot prune's flags: ${Object.keys(PRUNE_FLAGS).join(', ')}; and model, run)`);
    if (spec.type === 'string') flags[name] = value;
    else if (isOn(value)) flags[name] = true;
    else if (!FALSE.has(value.toLowerCase())) throw new CliUsageError(`parameter ${name} is on or off: 1 or 0 (got '${value}')`);
  }
  return flags;
}

/** Read the page's parameters (`location.search`, or a form's). Throws CliUsageError on bad input. */
export function parseParams(search: string | URLSearchParams): AppRequest {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const flags = paramsToFlags(params);
  const text = (name: string) => (typeof flags[name] === 'string' && flags[name] !== '' ? (flags[name] as string) : undefined);
  const evalText = text('eval-text');
  const evalTokens = text('eval-tokens');
  const evalSeqlen = integerFlag(flags, 'eval-seqlen');
  if (evalText && evalTokens) throw new CliUsageError('give eval-text or eval-tokens, not both');
  if (evalSeqlen !== undefined && !evalText && !evalTokens) throw new CliUsageError('eval-seqlen needs eval-text or eval-tokens');
  return {
    model: params.get('model') || undefined,
    calib: text('calib'),
    evalText,
    evalTokens,
    evalSeqlen,
    out: text('out'),
    settings: pruneSettings({ flags, positionals: [] }),
    run: isOn(params.get('run')),
  };
}

/**
 * A model URL as the package reads it: relative to the page, and a folder (trailing '/') unless
 * it names a file (.safetensors, .json, .bin), since /models/m means the folder m.
 */
export function modelUrl(value: string, base: string): string {
  const url = new URL(value, base);
  if (!url.pathname.endsWith('/') && !/\.(safetensors|json|bin)$/i.test(url.pathname)) url.pathname += '/';
  return url.href;
}

/**
 * What each settings flag defaults to, as the package resolves it (the form shows these): read
 * from resolvePruneOptions itself, so the page never carries its own copy of a default.
 */
export function flagDefaults(): Record<string, string> {
  const base = resolvePruneOptions({});
  const dsnot = resolvePruneOptions({ refine: 'dsnot' }).dsnot!;
  const owl = resolvePruneOptions({ sparsityProfile: { kind: 'owl' } }).profile!;
  const list = (s: string[]) => (s.length ? s.join(',') : 'none');
  return {
    sparsity: sparsityLabel(base.sparsity),
    init: base.init,
    refine: base.refine,
    'max-swaps': String(base.swaps!.maxSwaps),
    'max-cycles': String(dsnot.maxCycles),
    threshold: String(dsnot.updateThreshold),
    'pow-var': String(dsnot.powOfVarRegrowing),
    skip: `${list(defaultSkip('swaps'))} (swaps), ${list(defaultSkip('dsnot'))} (dsnot)`,
    nsamples: String(base.nsamples),
    seqlen: 'min(2048, the model\'s positions)',
    seed: String(base.seed),
    device: base.device,
    'owl-m': String(owl.m),
    'owl-lambda': String(owl.lambda),
  };
}

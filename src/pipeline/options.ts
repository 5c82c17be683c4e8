// prune()'s options, checked and resolved to the authors' defaults before any file is opened or
// written, so a typo ends in one DsnotInputError naming the problem and never in a half run.
import type { DeviceOption } from '../backends/backend.js';
import type { InitMethod, RefineMethod, SwapsOptions } from '../layer.js';
import type { LinearSpec } from '../models/config.js';
import { resolveSparsityProfile, type ResolvedSparsityProfile } from './owl.js';
import { checkDevice, checkDsnotOptions, checkSwapsOptions, DsnotInputError, fail, resolveRefine, type Sparsity } from '../validate.js';

/**
 * Which linears the refinement leaves alone (they keep the initial mask). Each entry is a group or a name:
 *   'mlp'          llama mlp.gate_proj / mlp.up_proj / mlp.down_proj, OPT fc1 / fc2 (the authors'
 *                  default `--skip_layer mlp`; their OPT code has no 'mlp.' prefix, we match fc1/fc2 too)
 *   'self_attn'    the attention projections q/k/v/o (OPT: q/k/v/out)
 *   a linear name  'self_attn.o_proj', 'fc1', or its last part 'o_proj' (the authors' --skip_sub_layer)
 * 'none' or [] refines every linear.
 */
export type SkipOption = 'none' | readonly string[];

/** The authors' default for DSnoT (`--skip_layer mlp`). */
export const DEFAULT_SKIP: readonly string[] = ['mlp'];
/**
 * The default per refinement (README, "Defaults", measured on stories260K): DSnoT keeps the
 * authors' skip; exact swaps refine every linear, since each of their swaps lowers the error.
 */
export function defaultSkip(refine: RefineMethod): string[] {
  return refine === 'dsnot' ? [...DEFAULT_SKIP] : [];
}

const MLP_ROLES = new Set<LinearSpec['role']>(['gate', 'up', 'down', 'fc1', 'fc2']);
const ATTN_ROLES = new Set<LinearSpec['role']>(['q', 'k', 'v', 'o']);

export interface ResolvedDsnot {
  maxCycles: number;
  updateThreshold: number;
  powOfVarRegrowing: number;
  sameSign: boolean;
  guard: boolean;
}

/** Everything that decides the pruned model (the resume fingerprint hashes exactly this). */
export interface ResolvedPruneOptions {
  sparsity: Sparsity;
  /** OWL per-layer sparsities; null: uniform. */
  profile: ResolvedSparsityProfile | null;
  init: InitMethod;
  refine: RefineMethod;
  /** Set when refine is 'dsnot'. */
  dsnot: ResolvedDsnot | null;
  /** Set when refine is 'swaps'. */
  swaps: Required<SwapsOptions> | null;
  skip: string[];
  nsamples: number;
  /** null: min(2048, the model's max positions), decided once the model is open. */
  seqlen: number | null;
  seed: number;
  device: DeviceOption;
}

export interface RawPruneOptions {
  sparsity?: unknown;
  sparsityProfile?: unknown;
  init?: unknown;
  refine?: unknown;
  dsnot?: unknown;
  swaps?: unknown;
  skip?: unknown;
  nsamples?: unknown;
  seqlen?: unknown;
  seed?: unknown;
  device?: unknown;
}

const INITS: readonly InitMethod[] = ['magnitude', 'wanda', 'sparsegpt', 'ria'];

export function resolvePruneOptions(o: RawPruneOptions): ResolvedPruneOptions {
  const sparsity = checkModelSparsity(o.sparsity ?? 0.5);
  const init = (o.init ?? 'wanda') as InitMethod;
  if (!INITS.includes(init)) fail(`init must be 'magnitude', 'wanda', 'sparsegpt' or 'ria' (got ${String(o.init)})`);
  const nsamples = o.nsamples ?? 128;
  if (typeof nsamples !== 'number' || !Number.isSafeInteger(nsamples) || nsamples < 1) fail(`nsamples must be a positive integer (got ${String(nsamples)})`);
  let seqlen: number | null = null;
  if (o.seqlen !== undefined) {
    if (typeof o.seqlen !== 'number' || !Number.isSafeInteger(o.seqlen) || o.seqlen < 2) fail(`seqlen must be an integer ≥ 2 (got ${String(o.seqlen)})`);
    seqlen = o.seqlen;
  }
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) fail(`seed must be an integer (got ${String(seed)})`);
  const refine = resolveRefine(o.refine, o.dsnot);
  const dsnot = refine === 'dsnot' ? checkDsnotOptions(o.dsnot ?? {}) : null;
  if (refine !== 'swaps' && o.swaps !== undefined) fail(`swaps options apply to refine 'swaps' only (refine is '${refine}')`);
  const swaps = refine === 'swaps' ? checkSwapsOptions(o.swaps) : null;
  const skip = o.skip === undefined ? defaultSkip(refine) : resolveSkip(o.skip);
  return { sparsity, profile: resolveSparsityProfile(o.sparsityProfile), init, refine, dsnot, swaps, skip, nsamples, seqlen, seed, device: checkDevice(o.device) };
}

/** A ratio in [0, 1) or N:M; whether m divides each linear's columns is checked per model. */
function checkModelSparsity(s: unknown): Sparsity {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0 || s >= 1) fail(`sparsity must be in [0, 1) or N:M (got ${s})`);
    return s;
  }
  if (s !== null && typeof s === 'object') {
    const { n, m } = s as { n: unknown; m: unknown };
    if (Number.isInteger(n) && Number.isInteger(m) && (n as number) >= 1 && (n as number) < (m as number)) return { n: n as number, m: m as number };
    fail(`N:M sparsity needs integers 1 ≤ n < m (got ${String(n)}:${String(m)})`);
  }
  fail(`sparsity must be a number in [0, 1) or { n, m } (got ${String(s)})`);
}

function resolveSkip(s: unknown): string[] {
  if (s === 'none') return [];
  if (typeof s === 'string') s = [s];
  if (!Array.isArray(s) || !s.every((x) => typeof x === 'string' && x.length > 0)) {
    fail(`skip must be 'none' or an array of linear groups / names such as ['mlp'] (got ${JSON.stringify(s)})`);
  }
  if (s.includes('none')) {
    if (s.length > 1) fail(`skip: 'none' cannot be combined with other entries (got ${JSON.stringify(s)})`);
    return [];
  }
  return [...new Set(s as string[])].sort();
}

/** True when the refinement must leave this linear alone (it keeps its initial mask). */
export function isSkipped(linear: LinearSpec, skip: readonly string[]): boolean {
  const last = linear.name.split('.').pop()!;
  return skip.some((s) =>
    (s === 'mlp' && MLP_ROLES.has(linear.role))
    || ((s === 'self_attn' || s === 'attn') && ATTN_ROLES.has(linear.role))
    || s === linear.name || s === last);
}

/** Every skip entry must name something of the model (a typo would silently refine everything). */
export function checkSkipMatches(skip: readonly string[], linears: readonly LinearSpec[]): void {
  for (const s of skip) {
    if (!linears.some((l) => isSkipped(l, [s]))) {
      const names = [...new Set(linears.map((l) => l.name))].join(', ');
      throw new DsnotInputError(`skip entry '${s}' matches no linear of this model (groups: mlp, self_attn; linears: ${names})`);
    }
  }
}

/** N:M needs m to divide every pruned linear's column count. */
export function checkSparsityFits(sparsity: Sparsity, linears: readonly LinearSpec[]): void {
  if (typeof sparsity === 'number') return;
  for (const l of linears) {
    if (l.in % sparsity.m !== 0) fail(`N:M sparsity ${sparsity.n}:${sparsity.m}: m does not divide the ${l.in} columns of ${l.weight}`);
  }
}

/** 'wanda', 'wanda+dsnot' (the authors'), 'wanda+dsnot-guard', 'wanda+swaps', … as used in reports and tables. */
export function methodName(o: Pick<ResolvedPruneOptions, 'init' | 'refine' | 'dsnot'>): string {
  if (o.refine === 'none') return o.init;
  return `${o.init}+${o.refine}${o.dsnot?.guard ? '-guard' : ''}`;
}

export function sparsityLabel(s: Sparsity): string {
  return typeof s === 'number' ? String(s) : `${s.n}:${s.m}`;
}

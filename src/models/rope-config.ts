// Rotary settings from config.json in both layouts transformers writes, read as transformers'
// RotaryEmbeddingConfigMixin (5.x convert_rope_params_to_dict + standardize_rope_params) does:
//   4.x: top-level rope_theta, rope_scaling {"type" | "rope_type": …, factor, …}
//   5.x: rope_parameters {"rope_type": …, "rope_theta": …, …}, or one such dict per layer type
//        {"full_attention": {…}, "sliding_attention": {…}} for families with layer_types.
// Precedence (transformers'): rope_scaling over rope_parameters; rope_theta inside the dict over
// the top-level one over the class default; a top-level original_max_position_embeddings (Phi-3
// style) over the dict's, else max_position_embeddings. Each rope_type's keys are checked: a
// missing required key, a key the type does not use, or an unknown rope_type is refused by name.
import { ConfigError } from '../io/errors.js';
import { type ConfigObject, ConfigReader } from './config-reader.js';
import { ROPE_TYPES, type RopeParameters, type RopeType } from './rope.js';

export interface RopeContext {
  headDim: number;
  maxPositions: number;
  /** transformers' default_theta of the config class. */
  defaultTheta: number;
  /** The family's per-layer attention types (null: the family has none). */
  layerTypes: readonly string[] | null;
  /** Whether the family's modeling code reads one rope dict per layer type. */
  perLayerType: boolean;
  /** Whether the family's attention applies partial_rotary_factor (else only 1 is accepted). */
  partialRotary: boolean;
  /** The rope types the config class accepts, and legacy names it rewrites (Phi-3: "su" → longrope). */
  ropeTypes?: { allowed: readonly RopeType[]; aliases: Readonly<Record<string, RopeType>> };
  /** The config class's original_max_position_embeddings default (Phi3Config: 4096), if it has one. */
  defaultOriginalMax?: number;
  modelType: string;
}

/** Keys each rope_type reads besides rope_type/type, rope_theta and partial_rotary_factor. */
const TYPE_KEYS: Record<RopeType, { required: string[]; optional: string[] }> = {
  default: { required: [], optional: [] },
  linear: { required: ['factor'], optional: [] },
  dynamic: { required: ['factor'], optional: [] },
  llama3: { required: ['factor', 'low_freq_factor', 'high_freq_factor'], optional: ['original_max_position_embeddings'] },
  yarn: { required: ['factor'], optional: ['original_max_position_embeddings', 'attention_factor', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim', 'truncate'] },
  longrope: { required: ['short_factor', 'long_factor'], optional: ['original_max_position_embeddings', 'attention_factor', 'factor'] },
};

/** The rope parameters per layer type (every type maps to the same object when the config has one dict). */
export function readRope(c: ConfigReader, ctx: RopeContext): Record<string, RopeParameters> {
  const scaling = c.objectOrNull('rope_scaling');
  const parameters = c.objectOrNull('rope_parameters');
  if (scaling && parameters) {
    for (const k of Object.keys(scaling)) {
      if (Object.hasOwn(parameters, k) && JSON.stringify(parameters[k]) !== JSON.stringify(scaling[k])) {
        throw new ConfigError(`config.json: rope_scaling.${k}=${JSON.stringify(scaling[k])} and rope_parameters.${k}=${JSON.stringify(parameters[k])} disagree`);
      }
    }
  }
  const dict = scaling && Object.keys(scaling).length > 0 ? scaling : (parameters ?? {});
  const field = scaling && Object.keys(scaling).length > 0 ? 'rope_scaling' : 'rope_parameters';
  const top = {
    theta: c.optionalPositiveNumber('rope_theta') ?? ctx.defaultTheta,
    partial: c.optionalPositiveNumber('partial_rotary_factor'),
    // Phi-3 style: kept outside the rope dict; transformers gives it priority over the dict's.
    originalMax: c.nullablePositiveInt('original_max_position_embeddings', ctx.defaultOriginalMax ?? null) ?? undefined,
  };
  const types = ctx.layerTypes ? [...new Set(ctx.layerTypes)] : [];
  const keys = Object.keys(dict);
  const nested = ctx.layerTypes !== null && keys.length > 0 && keys.every((k) => types.includes(k));
  if (!nested) {
    const one = readOne(dict, `config.json ${field}`, top, ctx);
    return Object.fromEntries((types.length ? types : ['full_attention']).map((t) => [t, one]));
  }
  if (!ctx.perLayerType) {
    throw new ConfigError(`config.json: ${field} has one entry per layer type (${keys.join(', ')}), but transformers' ${ctx.modelType} model reads a single rope dict`);
  }
  const out: Record<string, RopeParameters> = {};
  for (const t of types) {
    const d = dict[t];
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new ConfigError(`config.json: ${field}.${t} is missing or not an object`);
    out[t] = readOne(d as ConfigObject, `config.json ${field}.${t}`, top, ctx);
  }
  return out;
}

interface TopLevel { theta: number; partial: number | undefined; originalMax: number | undefined }

function readOne(dict: ConfigObject, where: string, top: TopLevel, ctx: RopeContext): RopeParameters {
  const r = new ConfigReader(dict, where);
  const typeKey = r.has('rope_type') ? 'rope_type' : 'type';
  const given = r.string(typeKey, 'default');
  const type = ctx.ropeTypes?.aliases[given] ?? given;
  r.get('type');
  const known: readonly string[] = ctx.ropeTypes?.allowed ?? ROPE_TYPES;
  if (!known.includes(type)) {
    throw r.error(typeKey, `${JSON.stringify(given)} is not a rope type transformers knows for ${ctx.modelType} (${known.join(', ')})`);
  }
  const ropeType = type as RopeType;
  const theta = r.optionalPositiveNumber('rope_theta') ?? top.theta;
  const partial = r.optionalPositiveNumber('partial_rotary_factor') ?? top.partial ?? 1;
  if (partial > 1) throw r.error('partial_rotary_factor', `${partial} must be at most 1`);
  if (partial !== 1 && !ctx.partialRotary) {
    throw new ConfigError(`config.json: partial_rotary_factor ${partial} is not supported for ${ctx.modelType}: transformers' ${ctx.modelType} attention rotates the whole head`);
  }
  const rotaryDim = Math.floor(ctx.headDim * partial);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new ConfigError(`config.json: partial_rotary_factor ${partial} × head_dim ${ctx.headDim} gives ${rotaryDim} rotary features; an even number ≥ 2 is needed`);
  }
  const spec = TYPE_KEYS[ropeType];
  for (const k of spec.required) if (!r.has(k)) throw new ConfigError(`${where} is missing ${k}, required by rope_type "${ropeType}"`);
  const p: RopeParameters = { type: ropeType, theta, rotaryDim, maxPositions: ctx.maxPositions };
  if (ropeType === 'llama3' || ropeType === 'yarn' || ropeType === 'longrope') {
    p.originalMaxPositions = top.originalMax ?? (r.has('original_max_position_embeddings') ? r.positiveInt('original_max_position_embeddings') : ctx.maxPositions);
    r.get('original_max_position_embeddings');
  }
  if (ropeType !== 'default') p.factor = r.optionalPositiveNumber('factor');
  if (ropeType === 'llama3') {
    p.lowFreqFactor = r.positiveNumber('low_freq_factor');
    p.highFreqFactor = r.positiveNumber('high_freq_factor');
    if (p.lowFreqFactor === p.highFreqFactor) throw r.error('high_freq_factor', `equals low_freq_factor (${p.lowFreqFactor}): the smoothing divides by their difference`);
  }
  if (ropeType === 'yarn' || ropeType === 'longrope') p.attentionFactor = r.optionalPositiveNumber('attention_factor');
  if (ropeType === 'yarn') readYarn(r, p);
  if (ropeType === 'longrope') {
    p.shortFactor = r.numberList('short_factor', rotaryDim / 2);
    p.longFactor = r.numberList('long_factor', rotaryDim / 2);
  }
  const extra = r.unread();
  if (extra.length > 0) {
    throw new ConfigError(`${where}: ${extra.map((k) => `${k}=${JSON.stringify(dict[k])}`).join(', ')} not used by rope_type "${ropeType}" in transformers; refused rather than guessed`);
  }
  return p;
}

function readYarn(r: ConfigReader, p: RopeParameters): void {
  // transformers reads beta_fast/beta_slow with `or` (0 takes the default) and mscale pairs by truthiness.
  const num = (k: string): number | undefined => {
    const v = r.get(k);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw r.error(k, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  p.betaFast = num('beta_fast');
  p.betaSlow = num('beta_slow');
  p.mscale = num('mscale');
  p.mscaleAllDim = num('mscale_all_dim');
  p.truncate = r.boolean('truncate', true);
}

/** One line describing a rope setting, for `dsnot info`. */
export function describeRope(p: RopeParameters): string {
  const parts = [`theta ${p.theta}`];
  if (p.factor !== undefined) parts.push(`factor ${p.factor}`);
  if (p.originalMaxPositions !== undefined) parts.push(`original context ${p.originalMaxPositions}`);
  if (p.lowFreqFactor !== undefined) parts.push(`low/high freq factor ${p.lowFreqFactor}/${p.highFreqFactor}`);
  if (p.attentionFactor !== undefined) parts.push(`attention factor ${p.attentionFactor}`);
  if (p.betaFast !== undefined || p.betaSlow !== undefined) parts.push(`beta ${p.betaFast ?? 32}/${p.betaSlow ?? 1}`);
  if (p.mscale !== undefined) parts.push(`mscale ${p.mscale}/${p.mscaleAllDim ?? '-'}`);
  if (p.shortFactor) parts.push(`short/long factors of ${p.shortFactor.length}`);
  return `${p.type} (${parts.join(', ')}), rotary dim ${p.rotaryDim}`;
}

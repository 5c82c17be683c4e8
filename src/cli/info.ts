// `dsnot info MODEL`: what a model is, from its headers only (no weight is read): architecture,
// layers, rotary variant and sliding-window layers, the prunable linears with their shapes,
// dtypes, parameter counts, files, and what a run would refuse. A config.json that cannot be
// computed exactly is refused here already, with the line a run would print. Last, the device
// `--device auto` would run on here, and why (an adapter is asked for; no device is created).
import { adapterIsFallback, describeAdapter, requestAdapter } from '../backends/webgpu/device.js';
import { openModel, type OpenedModel } from '../io/model.js';
import type { ModelSpec } from '../models/config.js';
import { describeRope } from '../models/rope-config.js';
import { CliUsageError, parseCommand, type FlagSpec } from './args.js';

const FLAGS: FlagSpec = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot info MODEL [--json]
MODEL: a folder with config.json + safetensors, a .safetensors/.index.json file, or a llama2.c .bin.`;

export interface ModelInfo {
  model: string;
  format: 'safetensors' | 'llama2c';
  modelType: string;
  family: string;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  norm: string;
  activation: string;
  tiedEmbeddings: boolean;
  /** Rotary variant and parameters per attention type ('learned positions' for OPT). */
  positions: Record<string, string>;
  /** Layers with a sliding attention window, by window width (empty: none). */
  slidingWindows: Array<{ window: number; layers: number[] }>;
  /** Per-head q/k RMSNorm before RoPE (Qwen3). */
  qkNorm: boolean;
  /** What a run refuses or switches on (sequence length limits, device limits). */
  limits: string[];
  /** Gemma: embedding scale, attention scale and soft-caps (absent for the other families). */
  scaling?: string;
  /** Stored dtypes and how many parameters each holds. */
  dtypes: Record<string, number>;
  parameters: number;
  /** Parameters of the decoder-layer linears (what prune() prunes). */
  prunableParameters: number;
  /** The linears of one decoder layer (every layer has the same). */
  linears: Array<{ name: string; shape: [number, number]; dtype: string; bias: boolean }>;
  files: Array<{ name: string; bytes: number | null }>;
}

export async function modelInfo(opened: OpenedModel): Promise<ModelInfo> {
  const { spec, reader } = opened;
  const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of reader.tensors) {
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + count(t.shape);
    parameters += count(t.shape);
  }
  const prunableParameters = spec.layers.flatMap((l) => l.linears).reduce((n, l) => n + l.out * l.in, 0);
  const layer0 = spec.layers[0];
  const weightFiles = opened.format === 'llama2c' ? [opened.source.entry ?? (reader as { file?: string }).file ?? ''] : reader.layout.shards.map((s) => s.file);
  const names = [...new Set([...weightFiles, ...(reader.layout.indexMetadata ? ['model.safetensors.index.json'] : []), ...opened.sideFiles,
    ...(opened.llama2cTokenizerFile ? [opened.llama2cTokenizerFile] : [])])].filter(Boolean);
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: await opened.source.size(name) })));
  return {
    model: opened.source.location + (opened.source.entry ? `/${opened.source.entry}` : ''),
    format: opened.format,
    modelType: spec.modelType,
    family: spec.family,
    layers: spec.numLayers,
    hiddenSize: spec.hiddenSize,
    heads: spec.numHeads,
    kvHeads: spec.numKvHeads,
    headDim: spec.headDim,
    intermediateSize: spec.intermediateSize,
    vocabSize: spec.vocabSize,
    maxPositions: spec.maxPositions,
    norm: `${spec.norm.kind}${spec.norm.unitOffset ? ' × (1 + w)' : ''} (eps ${spec.norm.eps})`,
    activation: spec.activation,
    tiedEmbeddings: spec.tieWordEmbeddings,
    ...attentionInfo(spec),
    ...(spec.family === 'gemma' ? { scaling: gemmaScaling(spec) } : {}),
    dtypes,
    parameters,
    prunableParameters,
    linears: (layer0?.linears ?? []).map((l) => ({
      name: l.name, shape: [l.out, l.in] as [number, number], dtype: reader.info(l.weight)?.dtype ?? '?', bias: l.bias !== null,
    })),
    files,
  };
}

export function formatInfo(i: ModelInfo): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const width = Math.max(...i.linears.map((l) => l.name.length), 4);
  return [
    `${i.model}`,
    `  format: ${i.format}   model_type: ${i.modelType} (${i.family} family)`,
    `  ${i.layers} decoder layers, hidden ${i.hiddenSize}, ${i.heads} heads (${i.kvHeads} key/value), head dim ${i.headDim}, MLP ${i.intermediateSize} (${i.activation})`,
    `  vocabulary ${n(i.vocabSize)}, ${n(i.maxPositions)} positions, ${i.norm}${i.tiedEmbeddings ? ', tied embeddings' : ''}`,
    `  positions: ${new Set(Object.values(i.positions)).size === 1 ? Object.values(i.positions)[0] : Object.entries(i.positions).map(([t, d]) => `${t} ${d}`).join('; ')}${i.qkNorm ? '; q/k RMSNorm per head before RoPE' : ''}`,
    `  sliding window: ${i.slidingWindows.length ? i.slidingWindows.map((s) => `${s.window} tokens on layers ${ranges(s.layers)}`).join('; ') : 'none (full causal attention)'}`,
    ...(i.scaling ? [`  ${i.scaling}`] : []),
    ...i.limits.map((l) => `  limit: ${l}`),
    `  parameters: ${n(i.parameters)} (${Object.entries(i.dtypes).map(([d, c]) => `${d} ${n(c)}`).join(', ')}); prunable (decoder linears): ${n(i.prunableParameters)}`,
    `  linears of each layer:`,
    ...i.linears.map((l) => `    ${l.name.padEnd(width)}  [${l.shape.join(', ')}]  ${l.dtype}${l.bias ? ' + bias' : ''}`),
    `  files: ${i.files.map((f) => (f.bytes === null ? f.name : `${f.name} (${formatBytes(f.bytes)})`)).join(', ')}`,
  ].join('\n');
}

function attentionInfo(spec: ModelSpec): Pick<ModelInfo, 'positions' | 'slidingWindows' | 'qkNorm' | 'limits'> {
  const positions: Record<string, string> = {};
  for (const l of spec.layers) positions[l.attentionType] ??= l.rope ? describeRope(l.rope) : 'learned positions';
  if (spec.layers.length === 0) positions.full_attention = spec.positions.kind === 'rotary' ? describeRope(spec.positions.rope) : 'learned positions';
  const byWindow = new Map<number, number[]>();
  for (const l of spec.layers) if (l.slidingWindow !== null) byWindow.set(l.slidingWindow, [...(byWindow.get(l.slidingWindow) ?? []), l.index]);
  const limits = [`sequences over ${spec.maxPositions.toLocaleString('en-US')} tokens are refused (max_position_embeddings)`];
  const longrope = spec.layers.find((l) => l.rope?.type === 'longrope')?.rope;
  if (longrope) limits.push(`sequences over ${longrope.originalMaxPositions} tokens use longrope's long factors`);
  if (spec.headDim > 256) limits.push(`head dim ${spec.headDim} > 256: the WebGPU attention kernel refuses it, wasm runs it`);
  return {
    positions,
    slidingWindows: [...byWindow].map(([window, layers]) => ({ window, layers })),
    qkNorm: spec.layers.some((l) => l.qNorm !== null),
    limits,
  };
}

function gemmaScaling(spec: ModelSpec): string {
  const cap = (c: number | null | undefined) => (c ? `soft-capped at ${c}` : 'not soft-capped');
  return `embeddings × ${spec.embedScale}; attention scale ${spec.attentionScale}, scores ${cap(spec.attnSoftcap)}; final logits ${cap(spec.finalSoftcap)}`;
}

/** [0, 1, 2, 5] → '0–2, 5'. */
function ranges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    out.push(j > i ? `${xs[i]}–${xs[j]}` : `${xs[i]}`);
    i = j;
  }
  return out.join(', ');
}

function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = b / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP, true);
  if (!args) return 0;
  if (args.positionals.length !== 1) throw new CliUsageError('one MODEL is required (dsnot info MODEL)');
  const opened = await openModel(args.positionals[0]);
  try {
    const info = await modelInfo(opened);
    const device = await autoDevice();
    console.log(args.flags.json ? JSON.stringify({ ...info, device }, null, 2) : `${formatInfo(info)}\n  device: auto runs on ${device.auto}: ${device.why}`);
  } finally {
    await opened.close();
  }
  return 0;
}

export interface AutoDevice {
  auto: 'webgpu' | 'wasm';
  /** The WebGPU adapter found, software ones included (null: none). */
  adapter: string | null;
  why: string;
}

/** What --device auto chooses here, by the rule of src/backends/select.ts, without creating a device. */
export async function autoDevice(): Promise<AutoDevice> {
  const adapter = await requestAdapter();
  if (typeof adapter === 'string') return { auto: 'wasm', adapter: null, why: `WebGPU unavailable: ${adapter}` };
  const name = describeAdapter(adapter.info);
  if (adapterIsFallback(adapter)) return { auto: 'wasm', adapter: name, why: `only a software WebGPU adapter (${name}); --device webgpu uses it, slowly` };
  return { auto: 'webgpu', adapter: name, why: name };
}

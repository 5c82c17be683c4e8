// evaluate(): perplexity of a model on text or token ids, streaming the weights one decoder
// layer at a time. Every window goes through layer i before layer i+1 is read; hidden states
// wait on the host in between, so device memory holds one layer and one window's activations.
//
// Protocols:
//   'authors' (default; ALGORITHM.md §8.6, the DSnoT/Wanda/SparseGPT eval loop): non-overlapping
//     windows of `seqlen` ids, the tail dropped; each window scores its seqlen−1 next-token
//     predictions; ppl = exp(mean nll) (every window has the same count, so this is the authors'
//     exp(Σ nll_window·seqlen / (nsamples·seqlen))).
//   'overlapping' (test/fixtures/stories260K/REFERENCE.md): windows of seqlen+1 ids that overlap
//     by one id; each window runs its first seqlen ids and scores all seqlen next tokens.
import type { DeviceKind } from '../backends/backend.js';
import type { TextTokenizer } from '../calib/data.js';
import type { ModelInput } from '../io/source.js';
import { createDecoder, type DecoderModel, type ForwardBackend, ModelInputError } from '../models/decoder.js';
import { loadTokenizer } from '../calib/tokenizers.js';
import { type OpenedModel, openModel } from '../io/model.js';
import { type EvalDevice, resolveForwardBackend } from './device.js';
import type { ThreadsOption } from '../backends/wasm/threads.js';
import { checkThreads } from '../validate.js';

export type EvalProtocol = 'authors' | 'overlapping';

export interface EvaluateProgress {
  status: 'embed' | 'layer' | 'head' | 'done';
  /** Layer about to run (status 'layer'), 0-based. */
  layer?: number;
  layers: number;
  windows: number;
  /** Windows are processed in groups that fit `maxHiddenBytes`; group is 0-based. */
  group: number;
  groups: number;
  /** Fraction of the work done, 0..1. */
  progress: number;
}

export interface EvaluateOptions {
  /** A path, URL, Blob/File, directory handle or io Source; or a model already opened with openModel. */
  model: ModelInput | OpenedModel;
  /** Text to score, tokenized with `tokenizer` or the model's own tokenizer (with BOS where it adds one). */
  text?: string;
  /** Token ids to score (instead of text). */
  tokens?: ArrayLike<number>;
  tokenizer?: TextTokenizer;
  /** Window length; default min(2048, the model's max positions). */
  seqlen?: number;
  device?: EvalDevice;
  /** Threads of the wasm kernels: 'auto' (default) or a count; the perplexity is the same for every count. */
  threads?: ThreadsOption;
  protocol?: EvalProtocol;
  /** Use only the first maxTokens ids ('overlapping': score exactly maxTokens predictions when the ids suffice). */
  maxTokens?: number;
  /** Host memory for hidden states; more windows than fit are evaluated in groups (weights re-read per group). Default 1 GiB. */
  maxHiddenBytes?: number;
  signal?: AbortSignal;
  progress_callback?: (progress: EvaluateProgress) => void;
}

export interface EvaluateResult {
  perplexity: number;
  /** Number of next-token predictions scored. */
  tokens: number;
  /** Mean negative log-likelihood per scored token (natural log). */
  nll: number;
  windows: number;
  seqlen: number;
  protocol: EvalProtocol;
  /** The device that really ran. */
  device: DeviceKind;
}

/** One window: the ids it runs and the ids its rows must predict (row r predicts targets[r]). */
export interface EvalWindow {
  inputs: Int32Array;
  targets: Int32Array;
}

/** Cut a token stream into windows as the protocol says (exported for tests and the CLI's dry runs). */
export function evalWindows(ids: ArrayLike<number>, seqlen: number, protocol: EvalProtocol, maxTokens?: number): EvalWindow[] {
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new ModelInputError(`seqlen must be an integer ≥ 2, got ${seqlen}`);
  const windows: EvalWindow[] = [];
  if (protocol === 'authors') {
    const len = Math.min(ids.length, maxTokens ?? Infinity);
    for (let k = 0; (k + 1) * seqlen <= len; k++) {
      const w = Int32Array.from({ length: seqlen }, (_, i) => ids[k * seqlen + i]);
      windows.push({ inputs: w, targets: w.slice(1) });
    }
  } else {
    const predictions = Math.min(ids.length - 1, maxTokens ?? Infinity);
    for (let k = 0; (k + 1) * seqlen <= predictions; k++) {
      const w = Int32Array.from({ length: seqlen + 1 }, (_, i) => ids[k * seqlen + i]);
      windows.push({ inputs: w.slice(0, seqlen), targets: w.slice(1) });
    }
  }
  if (windows.length === 0) {
    throw new ModelInputError(`${ids.length} tokens${maxTokens !== undefined ? ` (maxTokens ${maxTokens})` : ''} do not fill one window of ${seqlen}${protocol === 'overlapping' ? ' + 1' : ''}`);
  }
  return windows;
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluateResult> {
  const { signal } = options;
  const protocol = options.protocol ?? 'authors';
  if (protocol !== 'authors' && protocol !== 'overlapping') throw new ModelInputError(`unknown protocol ${JSON.stringify(protocol)}: 'authors' or 'overlapping'`);
  const owned = isOpened(options.model) ? null : await openModel(options.model as ModelInput);
  const opened = owned ?? (options.model as OpenedModel);
  const device = await resolveForwardBackend(options.device ?? 'auto', checkThreads(options.threads));
  try {
    const spec = opened.spec;
    const seqlen = options.seqlen ?? Math.min(2048, spec.maxPositions);
    if (seqlen > spec.maxPositions) throw new ModelInputError(`seqlen ${seqlen} exceeds the model's ${spec.maxPositions} positions`);
    const ids = await tokensOf(options, opened);
    const windows = evalWindows(ids, seqlen, protocol, options.maxTokens);
    const model = createDecoder(spec, device.backend);
    try {
      const perWindow = seqlen * Math.max(spec.hiddenSize, spec.wordEmbedDim) * 4;
      const groupSize = Math.max(1, Math.floor((options.maxHiddenBytes ?? 2 ** 30) / perWindow));
      let total = 0;
      let count = 0;
      const groups = Math.ceil(windows.length / groupSize);
      for (let g = 0; g < groups; g++) {
        const group = windows.slice(g * groupSize, (g + 1) * groupSize);
        const report = (status: EvaluateProgress['status'], step: number, layer?: number): void =>
          options.progress_callback?.({
            status, layer, layers: spec.numLayers, windows: windows.length, group: g, groups,
            progress: (g + step / (spec.numLayers + 2)) / groups,
          });
        for (const x of await runGroup(model, opened, group, signal, report)) {
          total += x.sum;
          count += x.count;
        }
      }
      options.progress_callback?.({ status: 'done', layers: spec.numLayers, windows: windows.length, group: groups - 1, groups, progress: 1 });
      const nll = total / count;
      return { perplexity: Math.exp(nll), tokens: count, nll, windows: windows.length, seqlen, protocol, device: device.kind };
    } finally {
      model.dispose();
    }
  } finally {
    await owned?.close();
  }
}

/** Embeddings, every layer, then the head, for one group of windows; returns Σ nll and the count per window. */
async function runGroup(
  model: DecoderModel,
  opened: OpenedModel,
  windows: EvalWindow[],
  signal: AbortSignal | undefined,
  report: (status: EvaluateProgress['status'], step: number, layer?: number) => void,
): Promise<Array<{ sum: number; count: number }>> {
  const reader = { readFloat32: (name: string) => opened.reader.readFloat32(name, { signal }) };
  signal?.throwIfAborted();
  report('embed', 0);
  const embeddings = await model.loadEmbeddings(reader);
  const hidden: Float32Array[] = [];
  try {
    for (const w of windows) hidden.push(await embeddings.embed(w.inputs));
  } finally {
    embeddings.dispose();
  }
  const layers = model.spec.numLayers;
  const readLayer = async (i: number): Promise<Map<string, Float32Array>> => {
    const names = model.layerTensorNames(i);
    return new Map(await Promise.all(names.map(async (n) => [n, await reader.readFloat32(n)] as const)));
  };
  // The next layer's weights are read while the current one computes.
  let next: Promise<Map<string, Float32Array>> | null = layers > 0 ? readLayer(0) : null;
  for (let i = 0; i < layers; i++) {
    signal?.throwIfAborted();
    report('layer', i + 1, i);
    const weights = await next!;
    next = i + 1 < layers ? readLayer(i + 1) : null;
    next?.catch(() => {}); // a failure surfaces when awaited; never as an unhandled rejection
    const layer = await model.loadLayer(i, weights);
    try {
      for (let w = 0; w < windows.length; w++) {
        signal?.throwIfAborted();
        hidden[w] = await layer.forward(hidden[w], windows[w].inputs.length);
      }
    } finally {
      layer.dispose();
    }
  }
  signal?.throwIfAborted();
  report('head', layers + 1);
  const head = await model.loadHead(reader);
  try {
    const out: Array<{ sum: number; count: number }> = [];
    for (let w = 0; w < windows.length; w++) {
      signal?.throwIfAborted();
      const rows = windows[w].targets.length;
      const d = model.spec.hiddenSize;
      const nll = await head.nll(hidden[w].subarray(0, rows * d), rows, windows[w].targets);
      let sum = 0;
      for (const v of nll) sum += v;
      out.push({ sum, count: rows });
    }
    return out;
  } finally {
    head.dispose();
  }
}

async function tokensOf(options: EvaluateOptions, opened: OpenedModel): Promise<ArrayLike<number>> {
  if (options.tokens !== undefined && options.text !== undefined) throw new ModelInputError('give either text or tokens, not both');
  if (options.tokens !== undefined) return options.tokens;
  if (options.text === undefined) throw new ModelInputError('evaluate needs text or tokens');
  // The model's own tokenizer (tokenizer.json, tokenizer.model, llama2.c tok*.bin, GPT-2 vocab + merges).
  const tokenizer = options.tokenizer ?? (await loadTokenizer(opened));
  return tokenizer.encode(options.text);
}

function isOpened(m: unknown): m is OpenedModel {
  return typeof m === 'object' && m !== null && 'spec' in m && 'reader' in m && 'source' in m && 'close' in m;
}

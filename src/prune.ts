// prune(): the authors' layer-sequential procedure (ALGORITHM.md §8) over a streamed model.
//
//   [OWL only: a dense pass over every layer first → each layer's sparsity (pipeline/owl.ts)]
//   calibration windows ──embed──► hidden[w] (host, one Float32Array per window)
//   for each decoder layer i (weights of layer i+1 read meanwhile):
//     dense pass of every window, taps feeding one StatsAccumulator per distinct linear input
//       (o/down see the DENSE q/k/v and gate/up outputs, as in the authors' code)
//     per linear, in the authors' order: initial mask + DSnoT (skipped linears: initial mask only)
//     pruned pass of every window on the same inputs → hidden[w] for layer i+1
//     write layer i's tensors; checkpoint (folder outputs: resumable from here)
//   copy the untouched tensors (embeddings, final norm, lm head, …), side files, the report;
//   commit, the weights last.
// Optional evaluation rides along: its windows take the dense path (perplexity before) and the
// pruned path (perplexity after) through the same layers, so the model is read once.
import type { Backend, DeviceKind, DeviceOption } from './backends/backend.js';
import { acquireBackend, deviceSelectionNote } from './backends/select.js';
import type { ThreadsOption } from './backends/wasm/threads.js';
import { evalWindows, type EvalProtocol, type EvalWindow } from './eval/perplexity.js';
import { loadTokenizer } from './calib/tokenizers.js';
import { copySideFiles, openModel, type OpenedModel } from './io/model.js';
import { SafetensorsWriter, planFromReader, writeWholeFile } from './io/safetensors-writer.js';
import type { OutputTarget } from './io/sink.js';
import type { ModelInput } from './io/source.js';
import { pruneLayerOnBackend, type DsnotOptions, type InitMethod, type PruneOnBackendOptions, type RefineMethod, type SwapsOptions } from './layer.js';
import type { LayerSpec } from './models/config.js';
import { createDecoder, Workspace, type DecoderLayer, type DecoderModel } from './models/decoder.js';
import { resolveCalibration, type CalibrationInput } from './pipeline/calibration.js';
import { idsBytes, inputStamp, modelIdentity, PIPELINE_VERSION, sha256Hex } from './pipeline/fingerprint.js';
import { explainFault, InputChangedError } from './pipeline/faults.js';
import { makeIntegrity } from './pipeline/integrity.js';
import { sha256 } from './io/sha256.js';
import type { Fs } from './io/sinks/path.js';
import { REPORT_FILE } from './pipeline/folder-state.js';
import {
  checkSkipMatches, checkSparsityFits, isSkipped, methodName, resolvePruneOptions,
  type ResolvedPruneOptions, type SkipOption,
} from './pipeline/options.js';
import { openOutput, type PipelineJournal, type PipelineOutput } from './pipeline/output.js';
import { linearReport, totalsOf, type LinearReport, type PruneReport } from './pipeline/report.js';
import {
  asStored, embeddingRowsSource, finiteLinearWeights, HostBuffers, LayerReader, layerTensorNames, PIECE_BYTES, type RawLayer,
} from './pipeline/weights.js';
import { denseStats, releaseHessians } from './pipeline/dense-stats.js';
import { layerTarget, outlierRatios, owlProfile, type SparsityProfileOption, type SparsityProfileReport } from './pipeline/owl.js';
import type { LayerStats } from './stats.js';
import { DsnotInputError, checkThreads, type Sparsity } from './validate.js';

export type { CalibrationInput } from './pipeline/calibration.js';
export type { SkipOption } from './pipeline/options.js';
export type { SparsityProfileOption, SparsityProfileReport } from './pipeline/owl.js';
export type { PruneReport, LinearReport, PerplexityReport, ErrorSummary } from './pipeline/report.js';
export { DEFAULT_SKIP } from './pipeline/options.js';

/** Perplexity before and after, computed on the way (evaluate()'s protocols and windows). */
export interface PruneEvaluation {
  text?: string;
  tokens?: ArrayLike<number>;
  /** Default min(2048, the model's max positions). */
  seqlen?: number;
  /** Default 'authors' (non-overlapping windows, tail dropped). */
  protocol?: EvalProtocol;
  maxTokens?: number;
}

export interface PruneProgress {
  stage: 'prepare' | 'embed' | 'profile' | 'stats' | 'prune' | 'forward' | 'layer-done' | 'eval' | 'write' | 'done';
  layer?: number;
  layers: number;
  /** Stage 'prune': the linear being pruned ('self_attn.q_proj'), its index, and when done its report. */
  linear?: string;
  linearIndex?: number;
  linears?: number;
  entry?: LinearReport;
  window?: number;
  windows?: number;
  /** Fraction of the run done, 0..1 (layers count equally). */
  progress: number;
  /** Layers taken over from an interrupted run. */
  resumedFromLayer?: number;
  message?: string;
}

export interface PruneOptions {
  /** A path, URL, Blob/File, directory handle or io Source; or a model opened with openModel. */
  model: ModelInput | OpenedModel;
  /** A folder path or a browser directory handle (OPFS, a picked folder): both resumable; or a Sink. */
  output: OutputTarget;
  calibration: CalibrationInput;
  /** Unstructured ratio (default 0.5) or { n, m } (e.g. 2:4). */
  sparsity?: Sparsity;
  /**
   * Per-layer sparsities: { kind: 'owl', m?: 5, lambda?: 0.08 } (OWL: layers with more Wanda
   * outliers are pruned less, the total stays `sparsity`; one extra dense pass first). Default:
   * uniform. With N:M every layer keeps the N:M (the profile is only reported).
   */
  sparsityProfile?: SparsityProfileOption;
  /** Initial mask; default 'wanda'. */
  init?: InitMethod;
  /**
   * The refinement of each initial mask: 'swaps' (the default: exact error-decreasing swaps),
   * 'dsnot' (the authors', guarded by default) or 'none'. Without it, `dsnot: false` means 'none'
   * and `dsnot: {…}` means 'dsnot'.
   */
  refine?: RefineMethod;
  /** DSnoT options (refine 'dsnot'), or false for the initial method alone. */
  dsnot?: false | DsnotOptions;
  /** Exact-swap options (refine 'swaps'). */
  swaps?: SwapsOptions;
  device?: DeviceOption;
  /**
   * Threads of the wasm kernels: 'auto' (default: every core, at most 16) or a count. The output
   * is byte-identical for every count. In a browser page that is not cross-origin isolated there
   * is no SharedArrayBuffer: one thread runs, and a progress message and report.threadsNote say so.
   */
  threads?: ThreadsOption;
  /** Linears the refinement leaves at their initial mask; default: none for swaps, ['mlp'] for DSnoT (the authors'); 'none' refines all. */
  skip?: SkipOption;
  /** Calibration windows sampled from text; default 128. Ignored for given token windows. */
  nsamples?: number;
  /** Calibration window length; default min(2048, the model's max positions). */
  seqlen?: number;
  /** Seed of the authors' sampling (Python's random); default 0. */
  seed?: number;
  evaluation?: PruneEvaluation;
  /** Folder outputs: continue an interrupted run with the same fingerprint (default true). */
  resume?: boolean;
  progress_callback?: (progress: PruneProgress) => void;
  signal?: AbortSignal;
  /** @internal Tests only: the file system a folder output is written through (fault injection). */
  _testing?: { fs?: Fs };
}

interface Timings {
  loadMs: number;
  forwardMs: number;
  pruneMs: number;
  writeMs: number;
  evalMs: number;
}

/** Everything one run needs, fixed before the first layer. */
interface Plan {
  opened: OpenedModel;
  opts: ResolvedPruneOptions & { seqlen: number };
  windows: number[][];
  calibKind: PruneReport['calibration']['kind'];
  evaluation: { windows: EvalWindow[]; seqlen: number; protocol: EvalProtocol; tokens: number } | null;
  backend: Backend;
  /** The `threads` option (not part of the fingerprint: every count gives the same output). */
  threads: ThreadsOption;
  fingerprint: string;
  /** The input's weight files by size and mtime when the run started (checked before each layer and the commit). */
  stamp: string;
}

export async function prune(options: PruneOptions): Promise<PruneReport> {
  const t0 = performance.now();
  if (options === null || typeof options !== 'object') throw new DsnotInputError('prune needs an options object');
  const opts = resolvePruneOptions(options);
  if (options.output === undefined || options.output === null) throw new DsnotInputError('output is required: a folder path, a directory handle or a Sink');
  if (options.model === undefined || options.model === null) throw new DsnotInputError('model is required');
  const { signal } = options;
  signal?.throwIfAborted();
  const owned = isOpened(options.model) ? null : await openModel(options.model, { signal });
  const opened = owned ?? (options.model as OpenedModel);
  try {
    const plan = await makePlan(options, opts, opened);
    await checkNotInPlace(options.output, opened);
    const notice = (message: string) => options.progress_callback?.({ stage: 'prepare', layers: opened.spec.numLayers, progress: 0, message });
    // Takes the output's lock (one writer per folder), released below on every way out.
    const output = await openOutput(options.output, notice, options._testing?.fs).catch(async (e: unknown) => {
      throw explainFault(e, { location: String(options.output), resumable: true, folderGone: false });
    });
    try {
      const { journal, restarted } = await output.begin(plan.fingerprint, plan.stamp, options.resume ?? true);
      if (restarted) notice(restarted);
      if (plan.backend.threadsNote) notice(plan.backend.threadsNote);
      if (journal?.phase === 'commit' && journal.commitFiles) {
        // Interrupted while renaming finished files into place: check, and finish that, nothing else.
        const report = journal.report as PruneReport;
        await output.commit(journal.commitFiles, journal, report.integrity);
        options.progress_callback?.({ stage: 'done', layers: opened.spec.numLayers, progress: 1 });
        return report;
      }
      return await runLayers(plan, output, journal, restarted, options, t0);
    } catch (e) {
      throw explainFault(e, { location: output.location, resumable: output.resumable, folderGone: await folderGone(options.output) });
    } finally {
      await output.release();
    }
  } finally {
    await owned?.close();
  }
}

async function makePlan(options: PruneOptions, opts: ResolvedPruneOptions, opened: OpenedModel): Promise<Plan> {
  const spec = opened.spec;
  const linears = spec.layers.flatMap((l) => l.linears);
  checkSparsityFits(opts.sparsity, linears);
  if (opts.refine !== 'none') checkSkipMatches(opts.skip, linears);
  const seqlen = opts.seqlen ?? Math.min(2048, spec.maxPositions);
  if (seqlen > spec.maxPositions) throw new DsnotInputError(`seqlen ${seqlen} exceeds the model's ${spec.maxPositions} positions`);
  const calib = await resolveCalibration(options.calibration, opened, { nsamples: opts.nsamples, seqlen, seed: opts.seed });
  const evaluation = options.evaluation ? await evaluationWindows(options.evaluation, opened) : null;
  const threads = checkThreads(options.threads);
  const backend = await acquireBackend(opts.device, { threads });
  const given = calib.kind === 'tokens';
  const fingerprint = await sha256Hex(
    JSON.stringify({
      pipeline: PIPELINE_VERSION,
      model: await modelIdentity(opened, options.signal),
      sparsity: opts.sparsity, ...(opts.profile ? { profile: opts.profile } : {}), init: opts.init, refine: opts.refine, dsnot: opts.dsnot, swaps: opts.swaps,
      skip: opts.refine !== 'none' ? opts.skip : [],
      // Given windows are used as they are: the sampling options do not change the result.
      sampling: given ? null : { nsamples: opts.nsamples, seqlen, seed: opts.seed },
      evaluation: evaluation && { seqlen: evaluation.seqlen, protocol: evaluation.protocol, windows: evaluation.windows.length },
      device: backend.kind,
    }),
    idsBytes(calib.windows),
    evaluation ? idsBytes(evaluation.windows.flatMap((w) => [w.inputs, w.targets])) : '',
  );
  return { opened, opts: { ...opts, seqlen }, windows: calib.windows, calibKind: calib.kind, evaluation, backend, threads, fingerprint, stamp: await inputStamp(opened) };
}

/** A folder output that no longer exists (removed during the run). */
async function folderGone(output: OutputTarget): Promise<boolean> {
  if (typeof output !== 'string') return false;
  const { stat } = await import('node:fs/promises');
  return stat(output).then(() => false, () => true);
}

/**
 * Refuse to go on when the input's weight files changed since the run started: layers pruned
 * from the old weights and layers from the new ones would make one model of two.
 */
async function checkInputUnchanged(plan: Plan): Promise<void> {
  const now = await inputStamp(plan.opened);
  if (now === plan.stamp) return;
  const was = new Set(plan.stamp.split('\n'));
  const changed = now.split('\n').filter((l) => !was.has(l)).map((l) => {
    const [name, state] = l.split(' ');
    return `${name}: ${state === 'missing' ? 'gone' : 'size or modification time'}`;
  });
  throw new InputChangedError(`the input model ${plan.opened.source.location} changed during the run (${changed.join(', ') || 'its weight files'}): the partial state was discarded; run the same command again once nothing is changing the model (it starts over)`);
}

async function evaluationWindows(e: PruneEvaluation, opened: OpenedModel): Promise<Plan['evaluation']> {
  if ((e.text === undefined) === (e.tokens === undefined)) throw new DsnotInputError('evaluation needs exactly one of text or tokens');
  const protocol = e.protocol ?? 'authors';
  if (protocol !== 'authors' && protocol !== 'overlapping') throw new DsnotInputError(`evaluation.protocol must be 'authors' or 'overlapping' (got ${String(protocol)})`);
  const seqlen = e.seqlen ?? Math.min(2048, opened.spec.maxPositions);
  if (seqlen > opened.spec.maxPositions) throw new DsnotInputError(`evaluation seqlen ${seqlen} exceeds the model's ${opened.spec.maxPositions} positions`);
  const ids = e.tokens ?? (await loadTokenizer(opened)).encode(e.text!);
  const windows = evalWindows(ids, seqlen, protocol, e.maxTokens);
  return { windows, seqlen, protocol, tokens: windows.reduce((n, w) => n + w.targets.length, 0) };
}

/** Writing into the model's own folder would overwrite the input while it is read. */
async function checkNotInPlace(output: OutputTarget, opened: OpenedModel): Promise<void> {
  if (typeof output !== 'string') return;
  const { resolve } = await import('node:path');
  if (resolve(output) === opened.source.location) throw new DsnotInputError(`output ${output} is the model's own folder: choose another folder`);
}

/** One run's state between its stages (runLayers and the functions below). */
interface Run {
  plan: Plan;
  output: PipelineOutput;
  options: PruneOptions;
  signal: AbortSignal | undefined;
  writer: SafetensorsWriter;
  decoder: DecoderModel;
  /** Memory (docs/pipeline.md): the linears are pruned in place on the backend, in device scratch
   *  kept between linears of one shape; the host sees each pruned weight once, in reused buffers. */
  buffers: HostBuffers;
  scratch: { ws: Workspace; length: number };
  layerReader: LayerReader;
  timings: Timings;
  entries: LinearReport[];
  written: string[];
  /** OWL's profile (null: uniform), computed before the first layer or taken from the journal. */
  profile: SparsityProfileReport | null;
  /** Calibration windows, then the evaluation's dense chain, then its pruned chain. */
  nCal: number;
  nEval: number;
  progress: (p: Omit<PruneProgress, 'layers'>) => void;
}

/** The layer loop, then the untouched tensors, side files, report and commit. */
async function runLayers(
  plan: Plan, output: PipelineOutput, journal: PipelineJournal | null, restarted: string | null,
  options: PruneOptions, t0: number,
): Promise<PruneReport> {
  const { opened, backend } = plan;
  const spec = opened.spec;
  const layers = spec.numLayers;
  const buffers = new HostBuffers();
  const run: Run = {
    plan, output, options, signal: options.signal,
    writer: new SafetensorsWriter(output.sink, planFromReader(opened.reader)),
    decoder: createDecoder(spec, backend),
    buffers, scratch: { ws: new Workspace(backend), length: 0 },
    layerReader: new LayerReader(opened.reader, options.signal, buffers),
    timings: { loadMs: 0, forwardMs: 0, pruneMs: 0, writeMs: 0, evalMs: 0 },
    entries: journal ? [...journal.entries] : [],
    written: journal ? [...journal.written] : [],
    profile: null,
    nCal: plan.windows.length, nEval: plan.evaluation?.windows.length ?? 0,
    progress: (p) => options.progress_callback?.({ layers, ...p }),
  };
  const start = journal?.layersDone ?? 0;
  let next: Promise<RawLayer> | null = null;
  try {
    if (journal) run.writer.markWritten(journal.written, journal.hashes);
    const names = (i: number) => layerTensorNames(spec, run.decoder.layerTensorNames(i), i);
    run.profile = await sparsityProfile(run, journal, names);
    const hidden = await startingHidden(run, journal, start);
    next = start < layers ? run.layerReader.prefetch(start, names(start)) : null;
    for (let i = start; i < layers; i++) {
      run.signal?.throwIfAborted();
      await checkInputUnchanged(plan);
      const raw = await next!;
      next = null;
      await runLayer(run, i, raw, hidden, () => {
        // Layer i+1 is read while the pruned pass and the checkpoint run. Not earlier: during
        // pruning, the largest linear's buffers are the peak of the run, and the prefetched
        // layer would sit on top of them.
        next = i + 1 < layers ? run.layerReader.prefetch(i + 1, names(i + 1)) : null;
      });
    }
    return await finishOutput(run, hidden, start, restarted, t0);
  } catch (e) {
    await output.interrupted(run.writer).catch(() => {});
    // Layers of a changed input must not be resumed into: nothing of this run is kept.
    if (e instanceof InputChangedError) await output.discard().catch(() => {});
    throw e;
  } finally {
    run.scratch.ws.dispose();
    run.decoder.dispose();
    await (next as Promise<RawLayer> | null)?.catch(() => {});
  }
}

/** The hidden states entering the first layer to run: the saved ones, or the embeddings. */
async function startingHidden(run: Run, journal: PipelineJournal | null, start: number): Promise<Float32Array[]> {
  const { plan, signal, nCal, nEval } = run;
  const spec = plan.opened.spec;
  if (journal) {
    const hidden = await run.output.loadHidden(journal);
    if (hidden.length !== nCal + 2 * nEval) throw new DsnotInputError('the saved hidden states do not match this run');
    run.progress({ stage: 'prepare', progress: start / spec.numLayers, resumedFromLayer: start, message: `resuming after layer ${start} of ${spec.numLayers}` });
    return hidden;
  }
  run.progress({ stage: 'embed', progress: 0 });
  const t = performance.now();
  const hidden = await embedWindows(run, [...plan.windows, ...(plan.evaluation?.windows.map((w) => w.inputs) ?? [])]);
  // The dense and the pruned evaluation chains start from the same embeddings.
  // Copies, not the same arrays: each chain is updated in place, layer after layer.
  hidden.push(...hidden.slice(nCal).map((h) => h.slice()));
  run.timings.forwardMs += performance.now() - t;
  return hidden;
}

/** Token windows → their embeddings (host), through the decoder's embedding table (only the rows used). */
async function embedWindows(run: Run, inputs: ReadonlyArray<ArrayLike<number> & Iterable<number>>): Promise<Float32Array[]> {
  const { plan, signal } = run;
  const spec = plan.opened.spec;
  const embedSource = embeddingRowsSource(plan.opened.reader, spec.embedTokens.name, inputs.flatMap((w) => [...w]), spec.wordEmbedDim, signal);
  const embeddings = await run.decoder.loadEmbeddings(embedSource);
  const hidden: Float32Array[] = [];
  try {
    for (const ids of inputs) {
      signal?.throwIfAborted();
      hidden.push(await embeddings.embed(ids));
    }
  } finally {
    embeddings.dispose();
  }
  return hidden;
}

/**
 * OWL's per-layer sparsities (null: uniform). A resumed run takes them from the journal (the
 * fingerprint covers the profile options, and the pass is deterministic): no second dense pass.
 * The pass runs on its own chain of calibration embeddings, dropped before the main loop embeds
 * again, so the calibration hidden states are never held twice.
 */
async function sparsityProfile(run: Run, journal: PipelineJournal | null, names: (i: number) => string[]): Promise<SparsityProfileReport | null> {
  const { plan } = run;
  const p = plan.opts.profile;
  if (!p) return null;
  if (journal?.profile) return journal.profile as SparsityProfileReport;
  const spec = plan.opened.spec;
  const t = performance.now();
  const ratios = await outlierRatios({
    spec, decoder: run.decoder, reader: run.layerReader, names, backend: plan.backend, buffers: run.buffers,
    hidden: await embedWindows(run, plan.windows), m: p.m, signal: run.signal,
    onLayer: (i) => run.progress({ stage: 'profile', layer: i, progress: 0, message: i === 0 ? 'OWL: a dense pass over every layer for the outlier ratios' : undefined }),
  });
  run.timings.forwardMs += performance.now() - t;
  return owlProfile(p, ratios, spec, plan.opts.sparsity);
}

/** One decoder layer: dense pass, its linears pruned, pruned pass, its tensors written, checkpoint. */
async function runLayer(run: Run, i: number, raw: RawLayer, hidden: Float32Array[], prefetchNext: () => void): Promise<void> {
  const { plan, timings, nCal, nEval } = run;
  const spec = plan.opened.spec;
  const layers = spec.numLayers;
  const layerSpec = spec.layers[i];
  let t = performance.now();
  const layer = await run.decoder.loadLayer(i, finiteLinearWeights(raw.source, layerSpec.linears));
  // The linears live on the backend now (pruning reads them from there): their bytes are
  // free for the next layer's read.
  for (const l of layerSpec.linears) {
    run.layerReader.recycle(raw.tensors.get(l.weight)!.bytes);
    raw.tensors.delete(l.weight);
  }
  timings.loadMs += performance.now() - t;
  try {
    const rows = (w: number): number => hidden[w].length / spec.hiddenSize;
    // Dense pass: statistics of every linear input, and the evaluation's dense chain.
    t = performance.now();
    const stats = await denseStats(layer, layerSpec, hidden, {
      // H always: every linear's true error is reported, and swaps and the guard need it.
      backend: plan.backend, hessian: true, nCal, nEval, rows, buffers: run.buffers, signal: run.signal,
      onWindow: (w) => run.progress({ stage: 'stats', layer: i, window: w, windows: nCal, progress: (i + 0.35 * (w / nCal)) / layers }),
    });
    timings.forwardMs += performance.now() - t;

    t = performance.now();
    try {
      for (const [li, l] of layerSpec.linears.entries()) {
        run.signal?.throwIfAborted();
        const s = stats.get(l.weight)!;
        await pruneLinear(run, layer, layerSpec, li, s);
        // q/k/v (and gate/up) share one H: it goes once the last of them is pruned.
        if (!layerSpec.linears.slice(li + 1).some((next) => stats.get(next.weight) === s)) releaseHessians([s]);
      }
    } finally {
      releaseHessians(stats.values());
      stats.clear();
    }
    timings.pruneMs += performance.now() - t;
    prefetchNext();

    // Pruned pass: the next layer's inputs, and the evaluation's pruned chain.
    t = performance.now();
    const pruned = [...Array(nCal).keys(), ...Array.from({ length: nEval }, (_, k) => nCal + nEval + k)];
    for (const [k, w] of pruned.entries()) {
      run.signal?.throwIfAborted();
      // In place: the layer's input was copied to the backend before the output comes back.
      await layer.forward(hidden[w], rows(w), { into: hidden[w] });
      if (k < nCal) run.progress({ stage: 'forward', layer: i, window: k, windows: nCal, progress: (i + 0.75 + 0.25 * (k / nCal)) / layers });
    }
    timings.forwardMs += performance.now() - t;

    t = performance.now();
    const linearWeights = new Set(layerSpec.linears.map((l) => l.weight));
    for (const [name, { bytes }] of raw.tensors) {
      if (linearWeights.has(name)) continue;
      await run.writer.writeBytes(name, bytes, { signal: run.signal });
      run.written.push(name);
    }
    run.signal?.throwIfAborted();
    await run.output.checkpoint(journalOf(run, i + 1), hidden);
    timings.writeMs += performance.now() - t;
    run.progress({ stage: 'layer-done', layer: i, progress: (i + 1) / layers });
  } finally {
    layer.dispose();
  }
}

/** One linear: its mask (initial + refinement) on the backend, in place; written; reported. */
async function pruneLinear(run: Run, layer: DecoderLayer, layerSpec: LayerSpec, li: number, stats: LayerStats): Promise<void> {
  const { plan, buffers, timings } = run;
  const { opts, backend } = plan;
  const l = layerSpec.linears[li];
  const i = layerSpec.index;
  const at = (i + 0.35 + 0.4 * (li / layerSpec.linears.length)) / plan.opened.spec.numLayers;
  run.progress({ stage: 'prune', layer: i, linear: l.name, linearIndex: li, linears: layerSpec.linears.length, progress: at });
  const refined = opts.refine !== 'none' && !isSkipped(l, opts.skip);
  const n = l.out * l.in;
  const sparsity = layerTarget(opts.sparsity, run.profile, i);
  if (n !== run.scratch.length) {
    // Both old buffers go before the new pair is placed: freed one by one while the other
    // still sits above it, they would leave a hole the new metric does not fit.
    run.scratch.ws.dispose();
    run.scratch.length = n;
  }
  // The layer's own tensor is pruned where it is; its pruned values and mask come back into the
  // run's host buffers.
  const result = await pruneLayerOnBackend({
    weight: layer.tensor(l.weight), rows: l.out, cols: l.in, stats, sparsity, init: opts.init,
    ...linearRefinement(opts, refined), backend, threads: plan.threads, scratch: run.scratch.ws,
    readBack: { mask: buffers.u8(n), weight: buffers.f32(n) },
  });
  const dtype = plan.opened.reader.info(l.weight)!.dtype;
  // Only SparseGPT's own update changes kept weights; a mask keeps stored values exact, and the
  // backend already holds them.
  const changed = opts.init === 'sparsegpt' && opts.refine === 'none';
  const stored = asStored(dtype, result.weight!, changed, buffers);
  // The pruned pass computes with the weights as written (rounded to the stored dtype).
  if (changed) layer.setWeight(l.weight, stored.values);
  const tw = performance.now();
  await run.writer.writeBytes(l.weight, stored.bytes, { signal: run.signal });
  timings.writeMs += performance.now() - tw;
  const targetSparsity = typeof sparsity === 'number' ? sparsity : sparsity.n / sparsity.m;
  const entry = linearReport({ layer: i, linear: l.name, weight: l.weight, rows: l.out, cols: l.in, refined, targetSparsity }, { ...result, mask: result.mask! }, stored.values);
  run.entries.push(entry);
  run.written.push(l.weight);
  run.progress({ stage: 'prune', layer: i, linear: l.name, linearIndex: li, linears: layerSpec.linears.length, entry, progress: at });
}

/**
 * The layer API's refinement options for one linear. A skipped linear of a refining run keeps
 * the initial mask the refinement starts from (per row, as the authors' DSnoT computes it): the
 * DSnoT kernel with zero cycles.
 */
function linearRefinement(opts: Plan['opts'], refined: boolean): Pick<PruneOnBackendOptions, 'refine' | 'dsnot' | 'swaps'> {
  if (opts.refine === 'none') return { refine: 'none' };
  if (!refined) return { refine: 'dsnot', dsnot: { ...(opts.dsnot ?? {}), maxCycles: 0, guard: false } };
  return opts.refine === 'dsnot' ? { refine: 'dsnot', dsnot: opts.dsnot! } : { refine: 'swaps', swaps: opts.swaps! };
}

/** After the last layer: perplexity, the untouched tensors, side files, the report, the commit. */
async function finishOutput(run: Run, hidden: Float32Array[], start: number, restarted: string | null, t0: number): Promise<PruneReport> {
  const { plan, output, writer, signal, timings } = run;
  const { opened } = plan;
  const spec = opened.spec;
  let perplexity: PruneReport['perplexity'] = null;
  if (plan.evaluation) {
    const t = performance.now();
    run.progress({ stage: 'eval', progress: 1 });
    perplexity = await headPerplexity(run.decoder, plan, hidden, run.nCal, signal);
    timings.evalMs += performance.now() - t;
  }

  // Untouched tensors (embeddings, final norm, lm head, …), side files, the report, then the weights.
  const t = performance.now();
  run.progress({ stage: 'write', progress: 1 });
  const decoderLinears = new Set(spec.layers.flatMap((l) => l.linears.map((x) => x.weight)));
  // Through one small buffer, in pieces: the embedding table and the lm head are often the
  // largest tensors of the model. The buffer is the run's stored-bytes buffer (no new one on
  // top of the others, which are let go now).
  const piece = run.buffers.bytes(PIECE_BYTES);
  run.layerReader.release();
  run.scratch.ws.dispose();
  for (const name of writer.pending()) {
    if (decoderLinears.has(name)) throw new Error(`internal: decoder linear ${name} was never pruned`);
    signal?.throwIfAborted();
    await writer.copyFrom(opened.reader, name, { signal, buffer: piece });
  }
  const side = await writeSideFiles(opened, output);
  const sideFiles = Object.keys(side);
  const shardFiles = writer.plan.shards.map((s) => s.file);
  const files = [...sideFiles, REPORT_FILE, ...shardFiles, ...(writer.plan.index ? [writer.plan.index.file] : [])];
  timings.writeMs += performance.now() - t;
  const integrity = await integrityOf(writer, side);
  const report = { ...makeReport(plan, output, run.entries, run.profile, perplexity, start, restarted, files, timings, t0), integrity };
  await writeWholeFile(output.sink, REPORT_FILE, new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n'));
  signal?.throwIfAborted();
  await writer.finish();
  await checkInputUnchanged(plan);
  await output.commit(files, { ...journalOf(run, spec.numLayers), hidden: null, report }, integrity);
  run.progress({ stage: 'done', progress: 1 });
  return report;
}

/** Perplexity of the dense and the pruned evaluation chains through the model's head. */
async function headPerplexity(
  decoder: DecoderModel, plan: Plan, hidden: Float32Array[], nCal: number, signal: AbortSignal | undefined,
): Promise<NonNullable<PruneReport['perplexity']>> {
  const ev = plan.evaluation!;
  const reader = plan.opened.reader;
  const head = await decoder.loadHead({ readFloat32: (n) => reader.readFloat32(n, { signal }) });
  const d = plan.opened.spec.hiddenSize;
  try {
    const nll = async (offset: number): Promise<number> => {
      let total = 0;
      let count = 0;
      for (const [k, w] of ev.windows.entries()) {
        signal?.throwIfAborted();
        const r = w.targets.length;
        const values = await head.nll(hidden[offset + k].subarray(0, r * d), r, w.targets);
        for (const v of values) total += v;
        count += r;
      }
      return total / count;
    };
    const before = await nll(nCal);
    const after = await nll(nCal + ev.windows.length);
    return { before: Math.exp(before), after: Math.exp(after), tokens: ev.tokens, windows: ev.windows.length, seqlen: ev.seqlen, protocol: ev.protocol };
  } finally {
    head.dispose();
  }
}

/** The report's hashes: every tensor as written, every shard header, the side files and the index. */
async function integrityOf(writer: SafetensorsWriter, side: Record<string, string>): Promise<NonNullable<PruneReport['integrity']>> {
  const headers: Record<string, string> = {};
  for (const h of writer.headerBytes()) headers[h.file] = await sha256(h.bytes);
  const files = { ...side };
  const index = writer.indexFile();
  if (index) files[index.file] = await sha256(index.bytes);
  return makeIntegrity(writer.tensorHashes(), headers, files);
}

/**
 * The model's side files (config.json, tokenizer files) copied unchanged, with their SHA-256 by
 * name, in commit order. A llama2.c checkpoint becomes a Hugging Face folder: config.json is
 * written (LlamaForCausalLM) and its tok*.bin is copied along (Hugging Face loaders do not read
 * it; dsnot does not either for safetensors).
 */
async function writeSideFiles(opened: OpenedModel, output: PipelineOutput): Promise<Record<string, string>> {
  const files = [...opened.sideFiles];
  const generated = new Map<string, Uint8Array>();
  if (opened.format === 'llama2c') {
    if (!files.includes('config.json')) {
      const bytes = new TextEncoder().encode(JSON.stringify(opened.config, null, 2) + '\n');
      await writeWholeFile(output.sink, 'config.json', bytes);
      generated.set('config.json', bytes);
      files.unshift('config.json');
    }
    if (opened.llama2cTokenizerFile && !files.includes(opened.llama2cTokenizerFile)) {
      await copySideFiles(opened.source, output.sink, [opened.llama2cTokenizerFile]);
      files.push(opened.llama2cTokenizerFile);
    }
  }
  await copySideFiles(opened.source, output.sink, opened.sideFiles.filter((f) => !(opened.format === 'llama2c' && f === 'config.json')));
  const hashes: Record<string, string> = {};
  for (const f of files) {
    // Side files are small (copySideFiles caps them): read again to hash the bytes copied.
    hashes[f] = await sha256(generated.get(f) ?? await opened.source.read(f, 0, (await opened.source.size(f))!));
  }
  return hashes;
}

function journalOf(run: Run, layersDone: number): Omit<PipelineJournal, 'hidden'> {
  const { plan, written, entries, profile } = run;
  return {
    fingerprint: plan.fingerprint, stamp: plan.stamp, device: plan.backend.kind, layers: plan.opened.spec.numLayers, layersDone,
    written, hashes: run.writer.tensorHashes(), entries, profile, phase: 'layers',
  };
}

function makeReport(
  plan: Plan, output: PipelineOutput, entries: LinearReport[], profile: SparsityProfileReport | null, perplexity: PruneReport['perplexity'],
  start: number, restarted: string | null, files: string[], timings: Timings, t0: number,
): Omit<PruneReport, 'integrity'> {
  const { opened, opts } = plan;
  const totals = totalsOf(entries);
  const device: DeviceKind = plan.backend.kind;
  return {
    model: opened.source.location + (opened.source.entry ? `/${opened.source.entry}` : ''),
    output: output.location,
    format: opened.format,
    modelType: opened.spec.modelType,
    layers: opened.spec.numLayers,
    method: methodName(opts),
    sparsity: opts.sparsity,
    sparsityProfile: profile,
    init: opts.init,
    refine: opts.refine,
    dsnot: opts.dsnot,
    swaps: opts.swaps,
    skip: opts.refine !== 'none' ? opts.skip : [],
    calibration: {
      kind: plan.calibKind,
      windows: plan.windows.length,
      tokens: plan.windows.reduce((n, w) => n + w.length, 0),
      seqlen: plan.calibKind === 'tokens' ? Math.max(...plan.windows.map((w) => w.length)) : opts.seqlen,
      nsamples: plan.windows.length,
      seed: opts.seed,
    },
    device,
    adapter: plan.backend.adapterName,
    deviceNote: opts.device === 'auto' ? deviceSelectionNote() : null,
    threads: plan.backend.threads,
    threadsNote: plan.backend.threadsNote,
    linears: entries,
    totals,
    sparsityCheck: totals.weights ? totals.zeros / totals.weights : 0,
    timings: { ...timings, totalMs: performance.now() - t0 },
    perplexity,
    resumedFromLayer: start > 0 ? start : null,
    restarted,
    files,
    fingerprint: plan.fingerprint,
  };
}

function isOpened(m: unknown): m is OpenedModel {
  return typeof m === 'object' && m !== null && 'spec' in m && 'reader' in m && 'source' in m && 'close' in m;
}

// `dsnot layer`: prune one linear layer held in a safetensors file (DESIGN.md). This is also how
// other implementations cross-check this one, so the file names and dtypes are a contract:
//   IN:  W F32 [rows, cols]; and X3 F32 [nseq, seqlen, cols] (one sequence per forward call: the
//        statistics, H included, are computed from it) or scaler_row, sum_metric_row, var
//        F32|F64 [cols] (and optionally H F32|F64 [cols, cols], = (2/N)·ΣXᵀX)
//   OUT: mask, init_mask U8 [rows, cols] (1 = pruned); weight F32; err, init_err F32 [rows];
//        cycles I32 [1]; with H also true_err, init_true_err F64 [rows] (‖X(w − ŵ)‖² per
//        sequence) and swaps I32 [1]; __metadata__: device, timings, the options used
import { layerBackend, pruneLayer, pruneLayerOnBackend, type InitMethod, type LayerSettings, type PruneLayerResult } from '../layer.js';
import type { Backend, DeviceOption } from '../backends/backend.js';
import type { TensorEntry, TensorToWrite } from '../io/safetensors.js';
import { openLayerInput, writeLayerOutput, type LayerInput } from './layer-file.js';
import { StatsAccumulator, type LayerStats } from '../stats.js';
import { checkDsnotOptions, checkSparsity, checkSwapsOptions, checkThreads, DsnotInputError, parseSparsity, resolveRefine } from '../validate.js';
import { DEVICE_CHOICES, DSNOT_FLAGS, INIT_CHOICES, refineFlags, oneOf, optionalNumber, parseCommand, requireString, threadsFlag, type FlagSpec } from './args.js';

const FLAGS: FlagSpec = {
  in: { type: 'string' },
  out: { type: 'string' },
  sparsity: { type: 'string' },
  init: { type: 'string' },
  ...DSNOT_FLAGS,
  device: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot layer --in IN.safetensors --out OUT.safetensors
            [--sparsity 0.6|2:4] [--init wanda|magnitude|sparsegpt|ria]
            [--refine swaps|dsnot|none] [--no-dsnot] [--max-swaps 50]
            [--max-cycles 50] [--threshold 0.1] [--pow-var 1] [--same-sign] [--no-guard]
            [--device auto|wasm|webgpu] [--threads auto|N]
IN holds W (F32 [rows, cols]) and X3 (F32 [nseq, seqlen, cols]) or scaler_row, sum_metric_row,
var (F32|F64 [cols]) and optionally H (F32|F64 [cols, cols]). Defaults: sparsity 0.5, init wanda,
refine swaps (needs X3 or H). --refine dsnot --no-guard is the authors' DSnoT bit for bit.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP);
  if (!args) return 0;
  const inPath = requireString(args, 'in');
  const outPath = requireString(args, 'out');
  const sparsity = parseSparsity(typeof args.flags.sparsity === 'string' ? args.flags.sparsity : '0.5');
  const init: InitMethod = oneOf(args, 'init', INIT_CHOICES, 'wanda');
  const device = oneOf(args, 'device', DEVICE_CHOICES, 'auto');
  const threads = checkThreads(threadsFlag(args));
  // Any number here: checkDsnotOptions below names a bad one.
  const refining = refineFlags(args, (a) => optionalNumber(a, 'max-cycles'));
  const refine = resolveRefine(refining.refine, refining.dsnot);

  const t0 = performance.now();
  const file = await openLayerInput(inPath);
  try {
    return await pruneFile(file, outPath, { sparsity, init, device, threads, refining, refine, t0 });
  } finally {
    await file.close();
  }
}

interface LayerCommand {
  sparsity: ReturnType<typeof parseSparsity>;
  init: InitMethod;
  device: DeviceOption;
  threads: 'auto' | number;
  refining: ReturnType<typeof refineFlags>;
  refine: ReturnType<typeof resolveRefine>;
  t0: number;
}

async function pruneFile(file: LayerInput, outPath: string, { sparsity, init, device, threads, refining, refine, t0 }: LayerCommand): Promise<number> {
  const entries = file.entries;
  const wEntry = expectTensor(entries, 'W', ['F32'], 2);
  const [rows, cols] = wEntry.shape;
  // The cheap checks first: a bad option fails before any statistics are computed.
  checkSparsity(sparsity, cols);
  const dsnot = refine === 'dsnot' ? checkDsnotOptions(refining.dsnot ?? {}) : null;
  if (refine === 'swaps') checkSwapsOptions(refining.swaps);
  const needsH = refine === 'swaps' ? '--refine swaps (the default)' : refine === 'dsnot' && !(refining.dsnot && refining.dsnot.guard === false) ? "DSnoT's guard (on by default)" : null;
  if (needsH && init !== 'sparsegpt' && !entries.has('X3') && !entries.has('H')) { // sparsegpt names its own need below
    throw new DsnotInputError(`IN: ${needsH} needs the true error, so X3 [nseq, seqlen, cols] or H [cols, cols]; IN has neither. ` +
      'Add one, or choose --refine dsnot --no-guard (the authors\' DSnoT) or --refine none');
  }
  const { stats, source: statsSource } = await statsOfInput(file, entries, cols, init, device, threads);
  const backend = await layerBackend({ init, refine, dsnot, threads }, device);
  const settings: LayerSettings = { rows, cols, stats, sparsity, init, ...refining, threads };
  let pruned: Pruned;
  try {
    pruned = backend.hostView ? await pruneInBackendMemory(backend, file, wEntry, settings) : await pruneHostCopy(backend, file, wEntry, settings, device);
  } finally {
    stats.hessianOnBackend?.free();
  }
  try {
    const { result, t1, t2 } = pruned;
    const metadata: Record<string, string> = {
      device: result.device,
      threads: String(result.threads),
      stats: statsSource,
      options: JSON.stringify({ sparsity, init, refine, dsnot: refining.dsnot ?? null, swaps: refining.swaps ?? null }),
      timings: JSON.stringify({
        read_and_stats_ms: round(t1 - t0), init_ms: round(result.timings.initMs), dsnot_ms: round(result.timings.dsnotMs),
        prune_ms: round(t2 - t1),
      }),
      cycles: String(result.cycles),
      swaps: String(result.swaps),
    };
    await writeLayerOutput(outPath, outputTensors(pruned, rows, cols), metadata);
    console.log(summary(pruned, rows, cols, init, refine) + `, ${round(t2 - t0)} ms → ${outPath}`);
  } finally {
    pruned.release();
  }
  return 0;
}

/** A pruned layer: the result's numbers, its weight and masks (host arrays or views of wasm memory). */
interface Pruned {
  result: Omit<PruneLayerResult, 'mask' | 'weight' | 'initMask'>;
  mask: Uint8Array;
  initMask: Uint8Array;
  weight: Float32Array;
  /** When W had been read (the statistics before it) and when the pruning ended. */
  t1: number;
  t2: number;
  /** Gives back the backend memory the arrays may be views of. */
  release(): void;
}

/**
 * Where the backend's tensors are host memory (wasm): W read from the file straight into a tensor,
 * pruned there in place beside its two masks, and OUT written from views of that memory, so that
 * the weight and the masks exist once (issue 11: a one-shot process at about the weight's size
 * plus its masks, where copies in and out tripled it).
 */
async function pruneInBackendMemory(backend: Backend, file: LayerInput, wEntry: TensorEntry, settings: LayerSettings): Promise<Pruned> {
  const n = settings.rows * settings.cols;
  const tensors = [backend.alloc('f32', n), backend.alloc('u8', n), backend.alloc('u8', n)];
  const [weight, mask, initMask] = tensors;
  const release = () => tensors.forEach((t) => backend.release(t));
  try {
    const w = backend.hostView!(weight);
    const reading = file.readInto(wEntry, new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    // While a libuv thread reads W, this thread touches the masks' fresh pages: their page faults
    // (~0.25 s for 2 × 45 MB here) then overlap the read instead of stalling the kernels' threads.
    for (const t of [mask, initMask]) (backend.hostView!(t) as Uint8Array).fill(0);
    await reading;
    const t1 = performance.now();
    const result = await pruneLayerOnBackend({ ...settings, weight, backend, readBack: { mask: false }, masksOnBackend: { mask, initMask }, checkValues: true });
    const t2 = performance.now();
    // The views last: pruning allocates, and growing the memory may detach earlier ones.
    const view = <T>(t: typeof weight) => backend.hostView!(t) as T;
    return { result, mask: view(mask), initMask: view(initMask), weight: view(weight), t1, t2, release };
  } catch (e) {
    release();
    throw e;
  }
}

/** Elsewhere (WebGPU): pruneLayer on a host copy of W, its results in arrays of their own. */
async function pruneHostCopy(backend: Backend, file: LayerInput, wEntry: TensorEntry, settings: LayerSettings, device: DeviceOption): Promise<Pruned> {
  const weight = new Float32Array(await file.read(wEntry));
  const t1 = performance.now();
  const r = await pruneLayer({ weight, ...settings, device, backend });
  return { result: r, mask: r.mask, initMask: r.initMask, weight: r.weight, t1, t2: performance.now(), release: () => {} };
}

/** OUT's tensors, in the contract's names and order. */
function outputTensors({ result, mask, initMask, weight }: Pruned, rows: number, cols: number): TensorToWrite[] {
  const te = result.trueError;
  return [
    { name: 'mask', dtype: 'U8', shape: [rows, cols], data: mask },
    { name: 'init_mask', dtype: 'U8', shape: [rows, cols], data: initMask },
    { name: 'weight', dtype: 'F32', shape: [rows, cols], data: weight },
    { name: 'err', dtype: 'F32', shape: [rows], data: result.error },
    { name: 'init_err', dtype: 'F32', shape: [rows], data: result.initError },
    { name: 'cycles', dtype: 'I32', shape: [1], data: Int32Array.of(result.cycles) },
    ...(te ? [
      { name: 'true_err', dtype: 'F64' as const, shape: [rows], data: te.final },
      { name: 'init_true_err', dtype: 'F64' as const, shape: [rows], data: te.initial },
      { name: 'swaps', dtype: 'I32' as const, shape: [1], data: Int32Array.of(result.swaps) },
    ] : []),
  ];
}

/** The line printed: method, device, the sparsity reached and, with H, the true error. */
function summary({ result, mask }: Pruned, rows: number, cols: number, init: InitMethod, refine: LayerCommand['refine']): string {
  const pruned = countOnes(mask);
  const te = result.trueError;
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const how = refine === 'dsnot' ? ` + DSnoT, ${result.cycles} cycles` : refine === 'swaps' ? ` + exact swaps, ${result.swaps} swaps` : '';
  return `${rows}×${cols}: ${init}${how} on ${result.device}, sparsity ${(pruned / (rows * cols)).toFixed(4)}` +
    (te ? `, true error ${sum(te.initial).toPrecision(5)} → ${sum(te.final).toPrecision(5)}` : '');
}

/**
 * The ones of a 0/1 mask, four at a time through 32-bit words (a byte loop over a 45 MB mask
 * took ~60 ms, about a tenth of the whole command): each byte lane of a word sum stays below 256
 * over 255 words, then the lanes are added.
 */
function countOnes(mask: Uint8Array): number {
  const head = (4 - (mask.byteOffset % 4)) % 4;
  if (mask.length < head + 4) return ones(mask, 0, mask.length);
  const words = new Uint32Array(mask.buffer, mask.byteOffset + head, (mask.length - head) >> 2);
  let total = ones(mask, 0, head) + ones(mask, head + 4 * words.length, mask.length);
  for (let w0 = 0; w0 < words.length; w0 += 255) {
    let lanes = 0;
    for (let w = w0, end = Math.min(words.length, w0 + 255); w < end; w++) lanes += words[w];
    total += (lanes & 0xff) + ((lanes >>> 8) & 0xff) + ((lanes >>> 16) & 0xff) + (lanes >>> 24);
  }
  return total;
}

function ones(a: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += a[i];
  return n;
}

/** The layer's statistics: computed from X3 (H included), or given (H optional). */
async function statsOfInput(
  file: LayerInput, entries: Map<string, TensorEntry>, cols: number, init: InitMethod, device: DeviceOption, threads: 'auto' | number,
): Promise<{ stats: LayerStats; source: string }> {
  const x3 = entries.get('X3');
  if (x3) {
    expectTensor(entries, 'X3', ['F32'], 3);
    const [nseq, seqlen, xCols] = x3.shape;
    if (xCols !== cols) throw new DsnotInputError(`IN: X3 has ${xCols} columns; W has ${cols}`);
    if (nseq === 0 || seqlen === 0) throw new DsnotInputError('IN: X3 holds no tokens');
    // H always: the true error is reported with every method. One sequence in memory at a time.
    const acc = await StatsAccumulator.create(cols, { hessian: true, device, threads });
    try {
      const bytes = seqlen * cols * 4;
      for (let s = 0; s < nseq; s++) acc.add(new Float32Array(await file.read(x3, s * bytes, bytes)));
    } catch (e) {
      acc.dispose();
      throw e;
    }
    // H stays in the backend's memory (wasm): never copied to the host and back.
    return { stats: await acc.finish({ keepHessian: true }), source: `X3 [${nseq}, ${seqlen}, ${cols}]` };
  }
  const hessian = entries.has('H') ? await floats(file, expectTensor(entries, 'H', ['F32', 'F64'], 2)) : null;
  if (!hessian && init === 'sparsegpt') {
    throw new DsnotInputError('IN: --init sparsegpt needs X3 or H (the Hessian cannot come from scaler_row, sum_metric_row and var)');
  }
  const vector = (name: string) => floats(file, expectTensor(entries, name, ['F32', 'F64'], 1));
  const stats = { scalerRow: await vector('scaler_row'), sumMetricRow: await vector('sum_metric_row'), var: await vector('var'), hessian };
  return { stats, source: hessian ? 'given, with H' : 'given' };
}

async function floats(file: LayerInput, e: TensorEntry): Promise<Float32Array | Float64Array> {
  const bytes = await file.read(e);
  return e.dtype === 'F32' ? new Float32Array(bytes) : new Float64Array(bytes);
}

function expectTensor(entries: Map<string, TensorEntry>, name: string, dtypes: string[], dims: number): TensorEntry {
  const e = entries.get(name);
  if (!e) throw new DsnotInputError(`IN: no tensor named ${name}`);
  if (!dtypes.includes(e.dtype) || e.shape.length !== dims) {
    throw new DsnotInputError(`IN: ${name} must be ${dtypes.join(' or ')} with ${dims} dimension(s) (got ${e.dtype} [${e.shape.join(', ')}])`);
  }
  return e;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

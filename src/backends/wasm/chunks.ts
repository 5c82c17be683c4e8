// Jobs split into chunks that every participating thread (the main thread and the workers) takes
// one at a time from a shared counter (Atomics.add), so work spreads by itself over threads of any
// speed. A job is one exported kernel called once per chunk of `units` (rows, output columns,
// tiles): each output element is computed inside exactly one chunk, by the same code in the same
// order as a single call would, so results are bit-identical for every thread count.
//
// The job lives in a control block in the shared wasm memory (layout below). runChunks is the
// loop every participant runs; it is self-contained (no imports, no outer names) because the
// workers get its source text (worker.ts).

/** Bytes of the control block (64-aligned; placed at the start of the host's heap). */
export const CONTROL_BYTES = 1024;
/** Int32 slots of the control block. */
export const SLOT = {
  seq: 0, // bumped once per job: the workers wait on it
  next: 1, // the next chunk to take
  done: 2, // workers finished with the current job
  kernel: 3, // index into the kernel names
  units: 4,
  step: 5, // units per chunk
  nargs: 6,
  range: 7, // args[range], args[range + 1] = the chunk's [start, end) units; -1: none
  count: 8, // args[count] = the chunk's unit count; -1: none
  nadvance: 9, // pairs (arg, bytes per unit) from slot 10: a nonzero pointer arg moves to the chunk
  nper: 26, // pairs (arg, bytes) from slot 27: participant p's arg moves by p·bytes (own scratch)
  failed: 35, // a worker's kernel threw
  stop: 36, // workers leave their loop
  result: 64, // per participant: the largest value its kernel calls returned (e.g. DSnoT's cycles)
} as const;
export const MAX_ADVANCE = 8;
export const MAX_PER_THREAD = 4;
export const MAX_ARGS = 48;
/** Byte offset of the f64 args inside the control block. */
export const ARGS_OFFSET = 512;

export interface ChunkJob {
  /** An exported kernel of assembly/ (its name). */
  kernel: string;
  /** The kernel's arguments; the chunk loop fills the range / count / advanced ones. */
  args: number[];
  units: number;
  step: number;
  range?: number;
  count?: number;
  advance?: Array<[arg: number, bytesPerUnit: number]>;
  /** Scratch args: each participant's block is `bytes` after the previous one's. */
  perThread?: Array<[arg: number, bytes: number]>;
  /** Rough count of inner operations: small jobs run on the calling thread alone. */
  work: number;
}

/**
 * The chunk loop of one participant (0 = the main thread). Self-contained: workers run its source.
 * `kernels`: the exported kernel functions in the order of the names the job indexes.
 */
export function runChunks(kernels: Array<(...a: number[]) => number | undefined>, buffer: ArrayBufferLike, ctl: number, participant: number): void {
  const i32 = new Int32Array(buffer, ctl, 128);
  const f64 = new Float64Array(buffer, ctl + 512, 48);
  const fn = kernels[i32[3]];
  const units = i32[4];
  const step = i32[5];
  const range = i32[7];
  const count = i32[8];
  const args = Array.from(f64.subarray(0, i32[6]));
  for (let i = 0; i < i32[26]; i++) args[i32[27 + 2 * i]] += participant * i32[28 + 2 * i];
  const base = args.slice();
  const chunks = Math.ceil(units / step);
  let best = 0;
  for (let c = Atomics.add(i32, 1, 1); c < chunks; c = Atomics.add(i32, 1, 1)) {
    const start = c * step;
    const end = Math.min(units, start + step);
    if (range >= 0) {
      args[range] = start;
      args[range + 1] = end;
    }
    if (count >= 0) args[count] = end - start;
    for (let i = 0; i < i32[9]; i++) {
      const a = i32[10 + 2 * i];
      if (base[a] !== 0) args[a] = base[a] + start * i32[11 + 2 * i];
    }
    const r = fn(...args);
    if (typeof r === 'number' && r > best) best = r;
  }
  i32[64 + participant] = best;
}

/** Writes `job` into the control block for `names` (kernel index) and resets its counters. */
export function writeJob(buffer: ArrayBufferLike, ctl: number, names: readonly string[], job: ChunkJob, participants: number): void {
  const i32 = new Int32Array(buffer, ctl, 128);
  const f64 = new Float64Array(buffer, ctl + ARGS_OFFSET, MAX_ARGS);
  const kernel = names.indexOf(job.kernel);
  const advance = job.advance ?? [];
  const per = job.perThread ?? [];
  if (kernel < 0) throw new Error(`threads: no kernel ${job.kernel}`);
  if (job.args.length > MAX_ARGS || advance.length > MAX_ADVANCE || per.length > MAX_PER_THREAD) throw new Error(`threads: job ${job.kernel} too large`);
  f64.set(job.args);
  i32[SLOT.kernel] = kernel;
  i32[SLOT.units] = job.units;
  i32[SLOT.step] = Math.max(1, job.step);
  i32[SLOT.nargs] = job.args.length;
  i32[SLOT.range] = job.range ?? -1;
  i32[SLOT.count] = job.count ?? -1;
  i32[SLOT.nadvance] = advance.length;
  advance.forEach(([a, b], i) => i32.set([a, b], SLOT.nadvance + 1 + 2 * i));
  i32[SLOT.nper] = per.length;
  per.forEach(([a, b], i) => i32.set([a, b], SLOT.nper + 1 + 2 * i));
  i32.fill(0, SLOT.result, SLOT.result + participants);
  i32[SLOT.next] = 0;
  i32[SLOT.done] = 0;
  i32[SLOT.failed] = 0;
}

/** The largest value any participant's kernel calls returned. */
export function jobResult(buffer: ArrayBufferLike, ctl: number, participants: number): number {
  const i32 = new Int32Array(buffer, ctl, 128);
  let best = 0;
  for (let p = 0; p < participants; p++) best = Math.max(best, i32[SLOT.result + p]);
  return best;
}

/** The kernels jobs may name (exports of assembly/ that take a chunk's range, count or rows). */
export const CHUNK_KERNELS: readonly string[] = [
  'gemmColumns', 'attentionHeads', 'statsGramTiles',
  'metricMagnitude', 'metricWanda', 'metricObs', 'metricRia',
  'selectRowsSmallest', 'selectNM', 'metricSelectRows',
  'dsnotRefineChunk', 'dsnotApplyMask', 'swapsRefineChunk', 'swapsErrorsChunk',
  'nonFiniteRange', 'sparsegptBlockRows', 'sparsegptCholeskyLeft', 'sparsegptInverseRows',
];

// The pruning kernels on WebGPU: gpu/{stats,metric,select,dsnot}.wgsl dispatched through the
// pipeline cache. Every kernel is enqueued (no wait); only the results that must reach the host
// are read back: the statistics, and DSnoT's per-row errors (the mask and weights stay on the
// GPU until the caller reads them). Work on a matrix larger than one storage binding is split
// into row chunks, each bound at its own offset.
// SparseGPT is not implemented in WGSL: hasSparseGpt is false and pruneLayer runs it on wasm;
// obsDiagonal (a host-side f64 Cholesky) is delegated to the wasm kernels.
import type { DeviceTensor } from '../backend.js';
import type {
  DsnotArgs, DsnotResult, Hessian, MetricKind, PruneKernels, RawStats, SparseGptArgs, SparseGptResult, StatsHandle, SwapsArgs, SwapsResult,
} from '../prune-kernels.js';
import type { GpuDeviceHandle } from './device.js';
import { Batch, grid, type PipelineCache } from './pipelines.js';
import { asGpu, type GpuTensor, type GpuTensorStore } from './store.js';

export interface WebGpuPruneOptions {
  /**
   * Largest storage binding to use, in bytes (default: the device's maxStorageBufferBindingSize).
   * Tests set a small value to exercise the row-chunked path.
   */
  maxBindingBytes?: number;
  /** Host-side kernels this backend does not run on the GPU (obsDiagonal: an f64 Cholesky on wasm). */
  hostKernels: Pick<PruneKernels, 'obsDiagonal'>;
}

interface GpuStatsHandle extends StatsHandle {
  /** Per column Σx, Σx², Σ T·Var as double-floats: [cols][3][hi, lo]. */
  acc: GPUBuffer;
  gram: GPUBuffer | null;
  sequences: number;
  tokens: number;
  freed: boolean;
}

const bitsOf = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];

/** Rows [r0, r0 + n) of a launch. */
interface RowChunk {
  r0: number;
  n: number;
}

export function createWebGpuPruneKernels(
  gpu: GpuDeviceHandle, store: GpuTensorStore, cache: PipelineCache, options: WebGpuPruneOptions,
): PruneKernels {
  const device = gpu.device;
  const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
  const align = device.limits.minStorageBufferOffsetAlignment;
  const maxBinding = Math.min(options.maxBindingBytes ?? Infinity, device.limits.maxStorageBufferBindingSize);

  /**
   * Split `rows` rows of `bytesPerRow` bytes (the widest tensor bound per row) into chunks that
   * fit one binding with room for the alignment shift. Chunks hold a multiple of `multiple`
   * rows so packed mask words never straddle two chunks.
   */
  function rowChunks(rows: number, bytesPerRow: number, multiple = 8): RowChunk[] {
    if (rows * bytesPerRow <= maxBinding) return [{ r0: 0, n: rows }];
    let per = Math.floor((maxBinding - align) / bytesPerRow);
    per -= per % multiple;
    if (per < multiple) {
      throw new RangeError(`a row of ${bytesPerRow} bytes is too wide for this GPU's ${maxBinding}-byte storage binding`);
    }
    const out: RowChunk[] = [];
    for (let r0 = 0; r0 < rows; r0 += per) out.push({ r0, n: Math.min(per, rows - r0) });
    return out;
  }

  /** Bind bytes [start, end) of a tensor: the binding starts at an aligned offset, `shift` bytes before start. */
  function range(t: GpuTensor, start: number, end: number): { binding: GPUBufferBinding; shift: number } {
    const offset = start - (start % align);
    const size = Math.min(Math.ceil((end - offset) / 4) * 4, t.buffer.size - offset);
    return { binding: { buffer: t.buffer, offset, size }, shift: start - offset };
  }

  const elementGrid = (n: number, wg = 256): [number, number] => grid(Math.ceil(n / wg), maxDim);

  function need(what: string, t: DeviceTensor, length: number, dtype: DeviceTensor['dtype']): GpuTensor {
    const g = asGpu(t);
    if (g.dtype !== dtype) throw new RangeError(`${what} is ${g.dtype}, expected ${dtype}`);
    if (g.length < length) throw new RangeError(`${what} holds ${g.length} elements, the shape needs ${length}`);
    return g;
  }

  // A 4-byte storage buffer for bindings an entry point declares but does not use in this mode.
  const dummy = device.createBuffer({ size: 16, usage: 128 /* STORAGE */ });

  // ---- stats ------------------------------------------------------------------------------

  function statsCreate(cols: number, withGram: boolean): StatsHandle {
    if (withGram && cols * cols * 8 > maxBinding) {
      throw new RangeError(`the ${cols}×${cols} Gram matrix does not fit this GPU's ${maxBinding}-byte storage binding`);
    }
    const h: GpuStatsHandle = {
      cols, withGram,
      acc: store.takeBuffer(Math.max(16, cols * 24)),
      gram: withGram ? store.takeBuffer(Math.max(16, cols * cols * 8)) : null,
      sequences: 0, tokens: 0, freed: false,
    };
    const enc = device.createCommandEncoder();
    enc.clearBuffer(h.acc);
    if (h.gram) enc.clearBuffer(h.gram);
    device.queue.submit([enc.finish()]);
    return h;
  }

  function statsAdd(handle: StatsHandle, x: DeviceTensor, tokens: number): void {
    const h = handle as GpuStatsHandle;
    if (h.freed) throw new Error('statsAdd: the accumulator was freed');
    const gx = need('statsAdd: x', x, tokens * h.cols, 'f32');
    if (tokens * h.cols * 4 > maxBinding) throw new RangeError(`statsAdd: a sequence of ${tokens} tokens × ${h.cols} columns exceeds this GPU's storage binding`);
    if (tokens === 0) return;
    const batch = new Batch(device, cache, 'stats');
    const params = batch.uniform([tokens, h.cols, 0, 0]);
    const xs = { buffer: gx.buffer, offset: 0, size: Math.ceil((tokens * h.cols * 4) / 4) * 4 };
    batch.dispatch('stats', 'stats_add', { 0: xs, 1: h.acc, 2: params }, [Math.ceil(h.cols / 64)]);
    if (h.gram) {
      const tiles = Math.ceil(h.cols / 16);
      batch.dispatch('stats', 'stats_gram', { 0: xs, 2: params, 3: h.gram }, [tiles, tiles]);
    }
    batch.submit();
    h.sequences += 1;
    h.tokens += tokens;
  }

  async function statsRead(handle: StatsHandle): Promise<RawStats> {
    const h = handle as GpuStatsHandle;
    if (h.freed) throw new Error('statsRead: the accumulator was freed');
    const c = h.cols;
    const acc = new Float32Array((await store.readBytes(h.acc, 0, c * 24)).buffer, 0, 6 * c);
    const sum = new Float64Array(c);
    const sumSq = new Float64Array(c);
    const tokenVar = new Float64Array(c);
    // hi + lo is exact in f64 (48 significant bits).
    for (let j = 0; j < c; j++) {
      sum[j] = acc[6 * j] + acc[6 * j + 1];
      sumSq[j] = acc[6 * j + 2] + acc[6 * j + 3];
      tokenVar[j] = acc[6 * j + 4] + acc[6 * j + 5];
    }
    let gram: Float64Array | null = null;
    if (h.gram) {
      const g = new Float32Array((await store.readBytes(h.gram, 0, c * c * 8)).buffer, 0, 2 * c * c);
      gram = new Float64Array(c * c);
      for (let i = 0; i < c * c; i++) gram[i] = g[2 * i] + g[2 * i + 1];
    }
    return { sum, sumSq, tokenVar, gram, sequences: h.sequences, tokens: h.tokens };
  }

  function statsFree(handle: StatsHandle): void {
    const h = handle as GpuStatsHandle;
    if (h.freed) return;
    h.freed = true;
    store.giveBuffer(h.acc);
    if (h.gram) store.giveBuffer(h.gram);
  }

  // ---- metric -----------------------------------------------------------------------------

  const METRIC_KIND: Record<Exclude<MetricKind, 'ria'>, number> = { magnitude: 0, wanda: 1, obs: 2 };

  function metric(weight: DeviceTensor, rows: number, cols: number, kind: MetricKind, colScale: Float32Array | null, out: DeviceTensor): void {
    const w = need('metric: weight', weight, rows * cols, 'f32');
    const o = need('metric: out', out, rows * cols, 'f32');
    if (kind !== 'magnitude' && (!colScale || colScale.length !== cols)) throw new RangeError(`metric ${kind}: needs a column scale of length ${cols}`);
    if (rows * cols === 0) return;
    if (kind === 'ria') return metricRia(w, rows, cols, colScale!, o);
    const scale = kind === 'magnitude' ? null : store.upload('f32', colScale!);
    const batch = new Batch(device, cache, 'metric');
    for (const { r0, n } of rowChunks(rows, cols * 4)) {
      const wr = range(w, r0 * cols * 4, (r0 + n) * cols * 4);
      const or = range(o, r0 * cols * 4, (r0 + n) * cols * 4);
      const params = batch.uniform([n * cols, cols, METRIC_KIND[kind], wr.shift / 4, or.shift / 4, 0]);
      batch.dispatch('metric', 'metric', { 0: wr.binding, 1: scale ? scale.buffer : dummy, 2: or.binding, 3: params }, elementGrid(n * cols));
    }
    batch.submit();
    if (scale) store.release(scale);
  }

  /**
   * RIA: column sums over every row chunk in order (each continues the sums of the ones before),
   * then per chunk the row sums and the scores. sums = [cols column sums | rows row sums].
   */
  function metricRia(w: GpuTensor, rows: number, cols: number, colScale: Float32Array, o: GpuTensor): void {
    const scale = store.upload('f32', colScale);
    const sums = store.takeBuffer(Math.max(16, (cols + rows) * 4));
    device.queue.writeBuffer(sums, 0, new Uint32Array(cols)); // column sums start at +0
    const batch = new Batch(device, cache, 'metric');
    const chunks = rowChunks(rows, cols * 4).map(({ r0, n }) => {
      const wr = range(w, r0 * cols * 4, (r0 + n) * cols * 4);
      const or = range(o, r0 * cols * 4, (r0 + n) * cols * 4);
      return { r0, n, wr, or, params: batch.uniform([n * cols, cols, 0, wr.shift / 4, or.shift / 4, 0, n, r0]) };
    });
    for (const ch of chunks) batch.dispatch('metric', 'ria_col_sums', { 0: ch.wr.binding, 3: ch.params, 4: sums }, elementGrid(cols, 64));
    for (const ch of chunks) {
      batch.dispatch('metric', 'ria_row_sums', { 0: ch.wr.binding, 3: ch.params, 4: sums }, elementGrid(ch.n, 64));
      batch.dispatch('metric', 'metric_ria', { 0: ch.wr.binding, 1: scale.buffer, 2: ch.or.binding, 3: ch.params, 4: sums }, elementGrid(ch.n * cols));
    }
    batch.submit();
    store.release(scale);
    store.giveBuffer(sums);
  }

  // ---- select -----------------------------------------------------------------------------

  /** select.wgsl Params: rows, cols, k, m, metric_off, mask_off, count, pass_index, opaque_zero. */
  const selectParams = (p: Partial<Record<'rows' | 'cols' | 'k' | 'm' | 'metricOff' | 'maskOff' | 'count' | 'pass', number>>) =>
    [p.rows ?? 0, p.cols ?? 0, p.k ?? 0, p.m ?? 0, p.metricOff ?? 0, p.maskOff ?? 0, p.count ?? 0, p.pass ?? 0, 0];

  function selectRows(m: DeviceTensor, rows: number, cols: number, k: number, mask: DeviceTensor): void {
    const metricT = need('selectRows: metric', m, rows * cols, 'f32');
    const maskT = need('selectRows: mask', mask, rows * cols, 'u8');
    if (!Number.isInteger(k) || k < 0 || k > cols) throw new RangeError(`selectRows: k = ${k} outside [0, ${cols}]`);
    if (rows * cols === 0) return;
    const batch = new Batch(device, cache, 'selectRows');
    for (const { r0, n } of rowChunks(rows, cols * 4)) {
      const mr = range(metricT, r0 * cols * 4, (r0 + n) * cols * 4);
      const kr = range(maskT, r0 * cols, (r0 + n) * cols);
      const params = batch.uniform(selectParams({ rows: n, cols, k, metricOff: mr.shift / 4, maskOff: kr.shift }));
      batch.dispatch('select', 'select_rows', { 0: mr.binding, 1: kr.binding, 2: params }, grid(n, maxDim));
    }
    batch.submit();
  }

  function selectNM(m: DeviceTensor, rows: number, cols: number, n: number, mm: number, mask: DeviceTensor): void {
    const metricT = need('selectNM: metric', m, rows * cols, 'f32');
    const maskT = need('selectNM: mask', mask, rows * cols, 'u8');
    if (!(mm > 0 && n >= 0 && n <= mm && cols % mm === 0)) throw new RangeError(`selectNM: ${n}:${mm} does not fit ${cols} columns`);
    if (rows * cols === 0) return;
    const batch = new Batch(device, cache, 'selectNM');
    for (const { r0, n: nr } of rowChunks(rows, cols * 4, 8)) {
      const mr = range(metricT, r0 * cols * 4, (r0 + nr) * cols * 4);
      const kr = range(maskT, r0 * cols, (r0 + nr) * cols);
      const params = batch.uniform(selectParams({ rows: nr, cols, k: n, m: mm, metricOff: mr.shift / 4, maskOff: kr.shift }));
      batch.dispatch('select', 'select_nm', { 0: mr.binding, 1: kr.binding, 2: params }, elementGrid(Math.ceil((nr * cols) / 4)));
    }
    batch.submit();
  }

  function selectThreshold(m: DeviceTensor, length: number, rank: number, mask: DeviceTensor): void {
    const metricT = need('selectThreshold: metric', m, length, 'f32');
    const maskT = need('selectThreshold: mask', mask, length, 'u8');
    if (!Number.isInteger(rank) || rank < 0 || rank >= length) throw new RangeError(`selectThreshold: rank ${rank} outside [0, ${length})`);
    // 256 histogram bins, prefix, fixed bits, remaining rank (1-based: the (rank+1)-th smallest).
    const state = store.takeBuffer(259 * 4 + 4);
    const init = new Uint32Array(260);
    init[258] = rank + 1;
    device.queue.writeBuffer(state, 0, init);
    const chunks = rowChunks(length, 4, 256); // one element per "row"
    const batch = new Batch(device, cache, 'selectThreshold');
    const bind = (c: RowChunk) => ({ mr: range(metricT, c.r0 * 4, (c.r0 + c.n) * 4), kr: range(maskT, c.r0, c.r0 + c.n) });
    for (let pass = 0; pass < 4; pass++) {
      for (const c of chunks) {
        const { mr } = bind(c);
        const params = batch.uniform(selectParams({ metricOff: mr.shift / 4, count: c.n, pass }));
        batch.dispatch('select', 'threshold_hist', { 0: mr.binding, 2: params, 3: state }, elementGrid(c.n));
      }
      batch.dispatch('select', 'threshold_pick', { 2: batch.uniform(selectParams({ pass })), 3: state }, [1]);
    }
    for (const c of chunks) {
      const { mr, kr } = bind(c);
      const params = batch.uniform(selectParams({ metricOff: mr.shift / 4, maskOff: kr.shift, count: c.n }));
      batch.dispatch('select', 'threshold_mask', { 0: mr.binding, 1: kr.binding, 2: params, 3: state }, elementGrid(Math.ceil(c.n / 4)));
    }
    batch.submit();
    store.giveBuffer(state);
  }

  // ---- dsnot ------------------------------------------------------------------------------

  async function dsnot(a: DsnotArgs): Promise<DsnotResult> {
    const { rows, cols } = a;
    const w = need('dsnot: weight', a.weight, rows * cols, 'f32');
    const maskT = need('dsnot: mask', a.mask, rows * cols, 'u8');
    const m = a.nm ? a.nm.m : 0;
    if (a.nm && (cols % m !== 0 || !a.initialMetric)) throw new RangeError(`dsnot: N:M needs cols % ${m} == 0 and the initial metric`);
    const initMetric = a.nm ? need('dsnot: initialMetric', a.initialMetric!, rows * cols, 'f32') : null;
    if (!Number.isInteger(a.maxCycles) || a.maxCycles < 0) throw new RangeError(`dsnot: maxCycles ${a.maxCycles} is not a count`);
    for (const [name, v] of Object.entries(a.columns)) {
      if ((v as ArrayLike<number>).length !== cols) throw new RangeError(`dsnot: columns.${name} has ${(v as ArrayLike<number>).length} entries, expected ${cols}`);
    }
    if (a.guard) throw new Error('dsnot: the guard has no WebGPU kernel (hasSwaps is false): run it on the wasm backend');
    if (rows === 0) return { initError: new Float64Array(0), error: new Float64Array(0), cycles: 0, trueInit: null, trueFinal: null };

    // Per column: sum32, sum64 as (hi, lo), varPow, sqrtScaler.
    const colWords = new Float32Array(5 * cols);
    const c = a.columns;
    for (let j = 0; j < cols; j++) {
      const hi = Math.fround(c.sum64[j]);
      colWords.set([c.sum32[j], hi, Math.fround(c.sum64[j] - hi), c.varPow[j], c.sqrtScaler[j]], 5 * j);
    }
    const columns = store.upload('f32', colWords);
    const T = a.maxCycles;
    const listWordsPerRow = 4 + 12 * T;
    const chunks = rowChunks(rows, Math.max(cols * 4, listWordsPerRow * 4));
    const maxChunk = Math.max(...chunks.map((ch) => ch.n));
    const lists = store.takeBuffer(Math.max(16, maxChunk * listWordsPerRow * 4));
    const errs = store.alloc('f32', rows * 8);
    const mask0 = m ? store.takeBuffer(maskT.bytes) : null;
    const thrHi = Math.fround(a.updateThreshold);
    const thrLo = Math.fround(a.updateThreshold - thrHi);

    const batch = new Batch(device, cache, 'dsnot');
    if (mask0) batch.copy(maskT.buffer, 0, mask0, 0, maskT.bytes);
    for (const { r0, n } of chunks) {
      const wr = range(w, r0 * cols * 4, (r0 + n) * cols * 4);
      const kr = range(maskT, r0 * cols, (r0 + n) * cols);
      const ir = initMetric ? range(initMetric, r0 * cols * 4, (r0 + n) * cols * 4) : null;
      const k0 = mask0 ? { buffer: mask0, offset: kr.binding.offset, size: kr.binding.size } : dummy;
      const params = batch.uniform([
        n, cols, r0, wr.shift / 4, kr.shift, T, a.maxCycles, m, a.sameSign || m ? 1 : 0,
        bitsOf(thrHi), bitsOf(thrLo), ir ? ir.shift / 4 : 0, 0, 0,
      ]);
      const common = { 0: wr.binding, 1: kr.binding, 2: columns.buffer, 3: lists, 4: errs.buffer, 5: params };
      batch.dispatch('dsnot', 'dsnot_prepare', common, grid(n, maxDim));
      batch.dispatch('dsnot', 'dsnot_loop', { ...common, 6: ir ? ir.binding : dummy, 7: k0 }, elementGrid(n, 64));
    }
    batch.submit();
    let out: Float32Array;
    try {
      out = new Float32Array((await store.readBytes(errs.buffer, 0, rows * 32)).buffer, 0, rows * 8);
    } finally {
      store.release(columns);
      store.release(errs);
      store.giveBuffer(lists);
      if (mask0) store.giveBuffer(mask0);
    }
    const stops = new Uint32Array(out.buffer, out.byteOffset, out.length);
    const initError = new Float64Array(rows);
    const error = new Float64Array(rows);
    let last = 0;
    for (let r = 0; r < rows; r++) {
      initError[r] = out[8 * r] + out[8 * r + 1];
      error[r] = out[8 * r + 2] + out[8 * r + 3];
      last = Math.max(last, stops[8 * r + 4]);
    }
    // The true errors (a.hessian) are not computed here: pruneLayer asks a backend with hasSwaps.
    return { initError, error, cycles: Math.min(a.maxCycles, last), trueInit: null, trueFinal: null };
  }

  function applyMask(weight: DeviceTensor, mask: DeviceTensor, length: number): void {
    const w = need('applyMask: weight', weight, length, 'f32');
    const k = need('applyMask: mask', mask, length, 'u8');
    if (length === 0) return;
    const batch = new Batch(device, cache, 'applyMask');
    for (const ch of rowChunks(length, 4, 256)) {
      const wr = range(w, ch.r0 * 4, (ch.r0 + ch.n) * 4);
      const kr = range(k, ch.r0, ch.r0 + ch.n);
      const params = batch.uniform([0, 0, 0, wr.shift / 4, kr.shift, 0, 0, 0, 0, 0, 0, 0, ch.n, 0]);
      batch.dispatch('dsnot', 'apply_mask', { 0: wr.binding, 1: kr.binding, 5: params }, elementGrid(ch.n));
    }
    batch.submit();
  }

  // ---- swaps and the true error: not on the GPU in this version ---------------------------

  async function swaps(_a: SwapsArgs): Promise<SwapsResult> {
    throw new Error('exact swaps have no WebGPU kernel (hasSwaps is false): run them on the wasm backend');
  }

  async function trueErrors(): Promise<Float64Array> {
    throw new Error('the true error has no WebGPU kernel (hasSwaps is false): compute it on the wasm backend');
  }

  // ---- sparsegpt: not on the GPU in this version ------------------------------------------

  async function sparseGpt(_a: SparseGptArgs): Promise<SparseGptResult> {
    throw new Error('SparseGPT has no WebGPU kernel (hasSparseGpt is false): run it on the wasm backend');
  }

  function obsDiagonal(hessian: Hessian, cols: number, percDamp: number): Float64Array {
    return options.hostKernels.obsDiagonal(hessian, cols, percDamp);
  }

  return {
    statsCreate, statsAdd, statsRead, statsFree,
    metric, selectRows, selectNM, selectThreshold,
    dsnot, applyMask,
    hasSwaps: false, swaps, trueErrors,
    hasSparseGpt: false, sparseGpt, obsDiagonal,
  };
}


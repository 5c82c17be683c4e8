// A decoder-only model as the pruning pipeline drives it: one decoder layer at a time, one
// sequence at a time, hidden states kept on the host between layers. Written once against
// ForwardKernels + TensorStore; llama.ts, gemma.ts and opt.ts hold the families' blocks.
//
//   const model = createDecoder(spec, backend);
//   let h = await (await model.loadEmbeddings(reader)).embed(ids);          // [T, d] host
//   for (const i of layers) {
//     const layer = await model.loadLayer(i, reader);                       // weights uploaded once
//     h = await layer.forward(h, T, { tap: (t) => statsAdd(..., t.x, t.rows) });
//     layer.setWeight('model.layers.0.self_attn.q_proj.weight', pruned);   // rerun with pruned weights
//     layer.dispose();
//   }
//   const nll = await (await model.loadHead(reader)).nll(h, T, targets);
import type { DType, DeviceTensor, TensorStore } from '../backends/backend.js';
import type { ForwardKernels } from '../backends/forward-kernels.js';
import type { LayerSpec, LinearSpec, ModelSpec, NormSpec } from './config.js';
import { gemmaBlock } from './gemma.js';
import { llamaBlock } from './llama.js';
import { optBlock } from './opt.js';
import { fusedLinear } from './phi3.js';
import { type RopeParameters, ropeFrequencies, ropeRegime, ropeTableFor, UnsupportedModelError } from './rope.js';

export { UnsupportedModelError };

/** What the models need of a backend (a full Backend is one). */
export type ForwardBackend = TensorStore & ForwardKernels;

/** Where weights come from: io's ModelReader, or anything that can hand out f32 tensors by name. */
export interface TensorSource {
  readFloat32(name: string): Promise<Float32Array>;
}

/** One input of one or more linears, seen during a forward pass (calibration statistics). */
export interface TapInput {
  layer: number;
  /** The linears that read this input: llama q/k/v share one, gate/up share one; o, down,
   *  OPT out, fc1 and fc2 each have their own. */
  linears: readonly LinearSpec[];
  /** [rows, cols] on the backend; valid only until the callback's promise settles. */
  x: DeviceTensor;
  rows: number;
  cols: number;
}

/** Called in order for every linear input group; the forward pass waits for a returned promise. */
export type Tap = (input: TapInput) => void | Promise<void>;

export interface LayerForwardOptions {
  tap?: Tap;
  /**
   * Write the output here (exactly rows × d floats; `hidden` itself is fine) instead of into a
   * new array: a caller running many sequences through many layers reuses its buffers.
   */
  into?: Float32Array;
}

export class ModelInputError extends Error {
  override name = 'ModelInputError';
}

/** One decoder layer's weights on the backend. */
export interface DecoderLayer {
  readonly index: number;
  readonly spec: LayerSpec;
  /** hidden [rows, d] → the layer's output [rows, d], both on the host. */
  forward(hidden: Float32Array, rows: number, options?: LayerForwardOptions): Promise<Float32Array>;
  /** The live device tensor of a weight or bias by its full name (pruning may edit it in place). */
  tensor(name: string): DeviceTensor;
  /** Replace a weight or bias (same length), e.g. with its pruned version, before rerunning. */
  setWeight(name: string, data: Float32Array): void;
  /** Give the layer's device memory back. */
  dispose(): void;
}

export interface Embeddings {
  /** Token ids → hidden states [ids.length, d] on the host. */
  embed(ids: ArrayLike<number>): Promise<Float32Array>;
  dispose(): void;
}

export interface Head {
  /** hidden [rows, d] → logits [rows, vocab]. */
  logits(hidden: Float32Array, rows: number): Promise<Float32Array>;
  /** hidden [rows, d] → per-row −log p(targets[row]) (f32), without keeping all logits at once. */
  nll(hidden: Float32Array, rows: number, targets: ArrayLike<number>): Promise<Float32Array>;
  dispose(): void;
}

export interface DecoderModel {
  readonly spec: ModelSpec;
  readonly backend: ForwardBackend;
  /** Full names of the tensors loadLayer(i) reads. */
  layerTensorNames(index: number): string[];
  loadLayer(index: number, source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<DecoderLayer>;
  loadEmbeddings(source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<Embeddings>;
  loadHead(source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<Head>;
  /** Free the model's own device memory (rope table, work buffers). Layers are disposed separately. */
  dispose(): void;
}

/** Logits kept on the device at once by the head: rows are processed in chunks of this many floats. */
const HEAD_CHUNK_FLOATS = 1 << 22;

export function createDecoder(spec: ModelSpec, backend: ForwardBackend): DecoderModel {
  if (spec.family !== 'llama' && spec.family !== 'opt' && spec.family !== 'gemma') throw new UnsupportedModelError(`model family ${String(spec.family)}`);
  for (const l of spec.layers) if (l.rope) ropeFrequencies(l.rope, 1); // a bad rope setting fails now, not mid-run
  return new Decoder(spec, backend);
}

/**
 * Reusable device buffers of exact sizes, by name: realloc only when the size changes (activations
 * when the sequence length changes; pruneLayerOnBackend's metric and mask when the linear's shape does).
 */
export class Workspace {
  private readonly buffers = new Map<string, DeviceTensor>();
  constructor(private readonly store: TensorStore) {}

  get(name: string, length: number, dtype: DType = 'f32'): DeviceTensor {
    const have = this.buffers.get(name);
    if (have && have.length === length && have.dtype === dtype) return have;
    if (have) this.store.release(have);
    const t = this.store.alloc(dtype, length);
    this.buffers.set(name, t);
    return t;
  }

  dispose(): void {
    for (const t of this.buffers.values()) this.store.release(t);
    this.buffers.clear();
  }
}

/** What a family's block function gets: the backend, its layer's weights, work buffers, model-wide state. */
export interface BlockContext {
  spec: ModelSpec;
  layer: LayerSpec;
  k: ForwardBackend;
  ws: Workspace;
  weight(name: string): DeviceTensor;
  /** y = norm(x) with the layer's norm kind (missing affine weights act as 1 / 0). */
  norm(norm: NormSpec, x: DeviceTensor, y: DeviceTensor, rows: number): void;
  /** y = x · Wᵀ + b for the linear of this role. */
  linear(role: LinearSpec['role'], x: DeviceTensor, y: DeviceTensor, rows: number): void;
  /**
   * ys[i] = x · Wᵀ + b for the linear of roles[i], all reading x: separate linears, or the
   * parts of a fused one (Phi-3's qkv_proj, gate_up_proj: one product, split in phi3.ts).
   */
  project(roles: readonly LinearSpec['role'][], x: DeviceTensor, ys: readonly DeviceTensor[], rows: number): void;
  /** Hand x to the tap (if any) as the input of the linears of these roles. */
  tap(roles: readonly LinearSpec['role'][], x: DeviceTensor, rows: number, cols: number): Promise<void>;
  /** Rotary table of `rope` for a forward call over `rows` tokens, covering positions [0, rows). */
  ropeTable(rope: RopeParameters, rows: number): DeviceTensor;
}

class Decoder implements DecoderModel {
  private readonly ws: Workspace;
  /** One table per rotary setting (layer types may differ), with the positions it covers and its regime. */
  private readonly ropes = new Map<RopeParameters, { table: DeviceTensor; positions: number; regime: string }>();
  /** Ones and zeros standing in for the affine parameters of a norm that has none. */
  private unit: { ones: DeviceTensor; zeros: DeviceTensor } | null = null;

  constructor(readonly spec: ModelSpec, readonly backend: ForwardBackend) {
    this.ws = new Workspace(backend);
  }

  layerTensorNames(index: number): string[] {
    const layer = this.layerSpec(index);
    const names: string[] = [];
    for (const l of layer.linears) names.push(l.weight, ...(l.bias ? [l.bias] : []));
    for (const n of hiddenNorms(layer)) for (const t of [n.weight, n.bias]) if (t) names.push(t);
    for (const n of [layer.qNorm, layer.kNorm]) if (n?.weight) names.push(n.weight);
    return names;
  }

  async loadLayer(index: number, source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<DecoderLayer> {
    const layer = this.layerSpec(index);
    const expected = new Map<string, number>();
    for (const l of layer.linears) {
      expected.set(l.weight, l.out * l.in);
      if (l.bias) expected.set(l.bias, l.out);
    }
    for (const n of hiddenNorms(layer)) for (const t of [n.weight, n.bias]) if (t) expected.set(t, this.spec.hiddenSize);
    for (const n of [layer.qNorm, layer.kNorm]) if (n?.weight) expected.set(n.weight, this.spec.headDim);
    const tensors = await this.upload(source, expected, this.offsetNames(layer));
    return new Layer(this, layer, tensors, expected);
  }

  async loadEmbeddings(source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<Embeddings> {
    const s = this.spec;
    const table = await read(source, s.embedTokens.name, s.vocabSize * s.wordEmbedDim);
    const pos = s.positions.kind === 'learned' ? await read(source, s.positions.table.name, s.positions.table.shape[0] * s.hiddenSize) : null;
    const projectIn = s.projectIn ? this.backend.upload('f32', await read(source, s.projectIn.name, s.hiddenSize * s.wordEmbedDim)) : null;
    const self = this;
    return {
      async embed(ids) {
        const rows = ids.length;
        // Host gather: only the rows asked for ever reach the device.
        const gathered = new Float32Array(rows * s.wordEmbedDim);
        for (let t = 0; t < rows; t++) {
          const id = ids[t];
          if (!Number.isInteger(id) || id < 0 || id >= s.vocabSize) throw new ModelInputError(`token id ${id} at position ${t} is outside the vocabulary [0, ${s.vocabSize})`);
          gathered.set(table.subarray(id * s.wordEmbedDim, (id + 1) * s.wordEmbedDim), t * s.wordEmbedDim);
        }
        // Gemma: × f32 √hidden, as transformers multiplies by a tensor of the hidden dtype.
        if (s.embedScale !== undefined) for (let i = 0; i < gathered.length; i++) gathered[i] *= s.embedScale;
        if (!projectIn && !pos) return gathered;
        let hidden: Float32Array = gathered;
        if (projectIn) {
          const x = self.backend.upload('f32', gathered);
          const y = self.backend.alloc('f32', rows * s.hiddenSize);
          self.backend.gemm(x, projectIn, null, y, rows, s.wordEmbedDim, s.hiddenSize);
          hidden = (await self.backend.read(y)) as Float32Array;
          self.backend.release(x);
          self.backend.release(y);
        }
        if (pos && s.positions.kind === 'learned') {
          // OPT: position p reads row p + offset (2) of the learned table.
          const { offset } = s.positions;
          const positions = s.positions.table.shape[0] - offset;
          if (rows > positions) throw new ModelInputError(`sequence of ${rows} tokens is longer than the model's ${positions} learned positions`);
          for (let i = 0; i < rows * s.hiddenSize; i++) hidden[i] += pos[offset * s.hiddenSize + i];
        }
        return hidden;
      },
      dispose() {
        if (projectIn) self.backend.release(projectIn);
      },
    };
  }

  async loadHead(source: TensorSource | ReadonlyMap<string, Float32Array>): Promise<Head> {
    const s = this.spec;
    const b = this.backend;
    const owned: DeviceTensor[] = [];
    const up = (data: Float32Array): DeviceTensor => {
      const t = b.upload('f32', data);
      owned.push(t);
      return t;
    };
    const headName = s.lmHead ? s.lmHead.name : s.embedTokens.name;
    const slices = headSlices(s.vocabSize, s.wordEmbedDim, b.maxTensorBytes);
    const headData = await read(source, headName, s.vocabSize * s.wordEmbedDim);
    const lmHead = slices.map(({ v0, width }) => up(headData.subarray(v0 * s.wordEmbedDim, (v0 + width) * s.wordEmbedDim)));
    const projectOut = s.projectOut ? up(await read(source, s.projectOut.name, s.wordEmbedDim * s.hiddenSize)) : null;
    let finalNorm: { weight: DeviceTensor; bias: DeviceTensor | null } | null = null;
    if (s.finalNorm) {
      const fn = s.finalNorm;
      finalNorm = {
        weight: fn.weight ? up(this.normWeight(await read(source, fn.weight, s.hiddenSize))) : this.units().ones,
        bias: s.norm.kind === 'layernorm' ? (fn.bias ? up(await read(source, fn.bias, s.hiddenSize)) : this.units().zeros) : null,
      };
    }
    const ws = new Workspace(b);
    // Rows of hidden states → rows of the lm head's input (final norm, OPT project_out).
    const headInput = (hidden: Float32Array, rows: number): DeviceTensor => {
      if (hidden.length !== rows * s.hiddenSize) throw new ModelInputError(`head: hidden holds ${hidden.length} floats, ${rows} rows of ${s.hiddenSize} need ${rows * s.hiddenSize}`);
      const x = ws.get('x', rows * s.hiddenSize);
      b.write(x, hidden);
      if (finalNorm) {
        if (finalNorm.bias) b.layerNorm(x, finalNorm.weight, finalNorm.bias, x, rows, s.hiddenSize, s.norm.eps);
        else b.rmsNorm(x, finalNorm.weight, x, rows, s.hiddenSize, s.norm.eps);
      }
      if (!projectOut) return x;
      const y = ws.get('projected', rows * s.wordEmbedDim);
      b.gemm(x, projectOut, null, y, rows, s.hiddenSize, s.wordEmbedDim);
      return y;
    };
    // Logits of n rows into the workspace, soft-capped where the model says (Gemma 2's final_logit_softcapping).
    // A head split by vocabulary computes each slice's logits, then places them in their columns:
    // every logit is the same dot product either way, so the split changes no bit.
    const headLogits = (x: DeviceTensor, n: number): DeviceTensor => {
      const logits = ws.get('logits', n * s.vocabSize);
      if (slices.length === 1) b.gemm(x, lmHead[0], null, logits, n, s.wordEmbedDim, s.vocabSize);
      else {
        const part = ws.get('logits-slice', n * slices[0].width);
        slices.forEach(({ v0, width }, i) => {
          b.gemm(x, lmHead[i], null, part, n, s.wordEmbedDim, width);
          b.placeColumns(part, logits, n, s.vocabSize, v0, width);
        });
      }
      if (s.finalSoftcap) b.softcap(logits, logits, n * s.vocabSize, s.finalSoftcap);
      return logits;
    };
    const chunk = Math.max(1, Math.floor(Math.min(HEAD_CHUNK_FLOATS, b.maxTensorBytes / 4) / s.vocabSize));
    const d = s.hiddenSize;
    return {
      async logits(hidden, rows) {
        const out = new Float32Array(rows * s.vocabSize);
        for (let r0 = 0; r0 < rows; r0 += chunk) {
          const n = Math.min(chunk, rows - r0);
          const logits = headLogits(headInput(hidden.subarray(r0 * d, (r0 + n) * d), n), n);
          out.set((await b.read(logits)) as Float32Array, r0 * s.vocabSize);
        }
        return out;
      },
      async nll(hidden, rows, targets) {
        if (targets.length !== rows) throw new ModelInputError(`head: ${targets.length} targets for ${rows} rows`);
        const out = new Float32Array(rows);
        for (let r0 = 0; r0 < rows; r0 += chunk) {
          const n = Math.min(chunk, rows - r0);
          const ids = Int32Array.from({ length: n }, (_, i) => targets[r0 + i]);
          for (const id of ids) if (id < 0 || id >= s.vocabSize) throw new ModelInputError(`target id ${id} is outside the vocabulary [0, ${s.vocabSize})`);
          const logits = headLogits(headInput(hidden.subarray(r0 * d, (r0 + n) * d), n), n);
          const t = ws.get('targets', n, 'i32');
          b.write(t, ids);
          const nll = ws.get('nll', n);
          b.nll(logits, t, nll, n, s.vocabSize);
          out.set((await b.read(nll)) as Float32Array, r0);
        }
        return out;
      },
      dispose() {
        ws.dispose();
        for (const t of owned) b.release(t);
      },
    };
  }

  dispose(): void {
    this.ws.dispose();
    for (const r of this.ropes.values()) this.backend.release(r.table);
    this.ropes.clear();
    if (this.unit) {
      this.backend.release(this.unit.ones);
      this.backend.release(this.unit.zeros);
    }
    this.unit = null;
  }

  // --- shared with Layer ---

  workspace(): Workspace {
    return this.ws;
  }

  units(): { ones: DeviceTensor; zeros: DeviceTensor } {
    this.unit ??= {
      ones: this.backend.upload('f32', new Float32Array(this.spec.hiddenSize).fill(1)),
      zeros: this.backend.upload('f32', new Float32Array(this.spec.hiddenSize)),
    };
    return this.unit;
  }

  ropeTable(rope: RopeParameters, rows: number): DeviceTensor {
    // The table's positions are rounded up so that a few lengths share one table, but what it
    // holds is chosen by the real length (longrope's short/long factors): a change rebuilds it.
    const regime = ropeRegime(rope, rows);
    const have = this.ropes.get(rope);
    if (!have || have.positions < rows || have.regime !== regime) {
      if (have) this.backend.release(have.table);
      const positions = Math.max(rows, 2 ** Math.ceil(Math.log2(Math.max(rows, 64))));
      const table = this.backend.upload('f32', ropeTableFor(rope, positions, rows));
      this.ropes.set(rope, { table, positions, regime });
      return table;
    }
    if (rows > rope.maxPositions) ropeTableFor(rope, 1, rows); // refuses, as for a new table
    return have.table;
  }

  /**
   * Gemma's RMSNorm scales by (1 + w), computed in f32 (Gemma2RMSNorm: 1.0 + weight.float()).
   * Adding the 1 once on the host, rounded to f32 as torch does, gives the same factors as adding
   * it in every call, and keeps one rmsNorm kernel for every family. A new array: the source's
   * may be a reused buffer, and the checkpoint's tensor is written back unchanged.
   */
  normWeight(w: Float32Array): Float32Array {
    return this.spec.norm.unitOffset ? w.map((x) => x + 1) : w;
  }

  /** The layer's norm weights that take the (1 + w) form (none unless the model has it). */
  offsetNames(layer: LayerSpec): Set<string> {
    if (!this.spec.norm.unitOffset) return new Set();
    return new Set([...hiddenNorms(layer), layer.qNorm, layer.kNorm].flatMap((n) => (n?.weight ? [n.weight] : [])));
  }

  private layerSpec(index: number): LayerSpec {
    const layer = this.spec.layers[index];
    if (!Number.isInteger(index) || !layer) throw new ModelInputError(`layer ${index} does not exist: the model has ${this.spec.layers.length} layers`);
    return layer;
  }

  private async upload(source: TensorSource | ReadonlyMap<string, Float32Array>, expected: Map<string, number>, offset: Set<string>): Promise<Map<string, DeviceTensor>> {
    const tensors = new Map<string, DeviceTensor>();
    try {
      for (const [name, length] of expected) {
        const data = await read(source, name, length);
        tensors.set(name, this.backend.upload('f32', offset.has(name) ? this.normWeight(data) : data));
      }
    } catch (e) {
      for (const t of tensors.values()) this.backend.release(t);
      throw e;
    }
    return tensors;
  }
}

class Layer implements DecoderLayer {
  private disposed = false;

  constructor(
    private readonly model: Decoder,
    readonly spec: LayerSpec,
    private readonly tensors: Map<string, DeviceTensor>,
    private readonly lengths: Map<string, number>,
  ) {}

  get index(): number {
    return this.spec.index;
  }

  tensor(name: string): DeviceTensor {
    this.alive();
    const t = this.tensors.get(name);
    if (!t) throw new ModelInputError(`layer ${this.index} has no tensor "${name}"`);
    return t;
  }

  setWeight(name: string, data: Float32Array): void {
    const t = this.tensor(name);
    if (data.length !== this.lengths.get(name)) throw new ModelInputError(`setWeight "${name}": ${data.length} floats given, the tensor holds ${this.lengths.get(name)}`);
    // A norm weight is given as the checkpoint stores it (Gemma: w of 1 + w).
    this.model.backend.write(t, this.model.offsetNames(this.spec).has(name) ? this.model.normWeight(data) : data);
  }

  async forward(hidden: Float32Array, rows: number, options: LayerForwardOptions = {}): Promise<Float32Array> {
    this.alive();
    const spec = this.model.spec;
    const d = spec.hiddenSize;
    if (!Number.isInteger(rows) || rows <= 0) throw new ModelInputError(`forward: rows must be a positive integer, got ${rows}`);
    if (hidden.length !== rows * d) throw new ModelInputError(`forward: hidden holds ${hidden.length} floats, ${rows} rows of ${d} need ${rows * d}`);
    if (options.into && options.into.length !== rows * d) throw new ModelInputError(`forward: into holds ${options.into.length} floats, ${rows} rows of ${d} need ${rows * d}`);
    const k = this.model.backend;
    const ws = this.model.workspace();
    const byRole = new Map(this.spec.linears.map((l) => [l.role, l]));
    const ctx: BlockContext = {
      spec,
      layer: this.spec,
      k,
      ws,
      weight: (name) => this.tensor(name),
      norm: (n, x, y, r) => {
        const w = n.weight ? this.tensor(n.weight) : this.model.units().ones;
        if (spec.norm.kind === 'rmsnorm') k.rmsNorm(x, w, y, r, d, spec.norm.eps);
        else k.layerNorm(x, w, n.bias ? this.tensor(n.bias) : this.model.units().zeros, y, r, d, spec.norm.eps);
      },
      linear: (role, x, y, r) => {
        const l = byRole.get(role);
        if (!l) throw new UnsupportedModelError(`layer ${this.index} has no ${role} linear`);
        k.gemm(x, this.tensor(l.weight), l.bias ? this.tensor(l.bias) : null, y, r, l.in, l.out);
      },
      project: (roles, x, ys, r) => {
        for (let i = 0; i < roles.length;) {
          const l = byRole.get(roles[i]);
          if (!l?.parts) {
            ctx.linear(roles[i], x, ys[i], r);
            i++;
            continue;
          }
          if (!l.parts.every((p, j) => p.role === roles[i + j])) throw new UnsupportedModelError(`layer ${this.index}: ${l.name} does not hold ${roles.slice(i).join(', ')} in that order`);
          fusedLinear(ctx, l, x, ys.slice(i, i + l.parts.length), r);
          i += l.parts.length;
        }
      },
      tap: async (roles, x, r, cols) => {
        if (!options.tap) return;
        const linears = this.spec.linears.filter((l) => roles.includes(l.role));
        await options.tap({ layer: this.index, linears, x, rows: r, cols });
      },
      ropeTable: (rope, r) => this.model.ropeTable(rope, r),
    };
    const h = ws.get('hidden', rows * d);
    k.write(h, hidden);
    if (spec.family === 'llama') await llamaBlock(ctx, h, rows);
    else if (spec.family === 'gemma') await gemmaBlock(ctx, h, rows);
    else await optBlock(ctx, h, rows);
    return (options.into ? await k.read(h, options.into) : await k.read(h)) as Float32Array;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors.values()) this.model.backend.release(t);
    this.tensors.clear();
  }

  private alive(): void {
    if (this.disposed) throw new ModelInputError(`layer ${this.spec.index} was disposed`);
  }
}

/** The layer's norms over hidden features: before attention and MLP, and Gemma's after them. */
function hiddenNorms(layer: LayerSpec): NormSpec[] {
  return [layer.attnNorm, layer.mlpNorm, ...(layer.postAttnNorm ? [layer.postAttnNorm] : []), ...(layer.postMlpNorm ? [layer.postMlpNorm] : [])];
}

/**
 * The lm head [vocab, dim] as row slices that each fit one kernel binding (Gemma's 256k × 2304
 * f32 head is 2.4 GB; WebGPU adapters bind 1–4 GiB). Equal widths but the last; one slice when
 * the whole head fits.
 */
export function headSlices(vocab: number, dim: number, maxTensorBytes: number): Array<{ v0: number; width: number }> {
  const perSlice = Math.floor(maxTensorBytes / (4 * dim));
  if (perSlice < 1) throw new ModelInputError(`the lm head's rows of ${dim} floats do not fit this device's ${maxTensorBytes}-byte tensors`);
  const count = Math.ceil(vocab / perSlice);
  const width = Math.ceil(vocab / count);
  return Array.from({ length: count }, (_, i) => ({ v0: i * width, width: Math.min(width, vocab - i * width) }));
}

async function read(source: TensorSource | ReadonlyMap<string, Float32Array>, name: string, length: number): Promise<Float32Array> {
  const data = isMap(source) ? source.get(name) : await source.readFloat32(name);
  if (!data) throw new ModelInputError(`tensor "${name}" is missing`);
  if (data.length !== length) throw new ModelInputError(`tensor "${name}" holds ${data.length} floats, the model's config needs ${length}`);
  return data;
}

function isMap(s: TensorSource | ReadonlyMap<string, Float32Array>): s is ReadonlyMap<string, Float32Array> {
  return typeof (s as ReadonlyMap<string, Float32Array>).get === 'function' && !('readFloat32' in s);
}

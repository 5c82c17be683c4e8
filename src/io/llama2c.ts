// llama2.c checkpoints (karpathy/llama2.c `run.c` legacy format and `export.py --version 1`),
// exposed under the Hugging Face Llama tensor names and conventions, so the pipeline reads a
// `.bin` exactly like a safetensors folder.
//
// The one non-trivial step: llama2.c's RoPE rotates interleaved pairs (2i, 2i+1) of each head,
// HF's rotates the two halves (rotate_half). q_proj/k_proj rows are permuted as transformers'
// convert_llama_weights_to_hf.py does: HF row h·hd + b·hd/2 + a ← llama2.c row h·hd + 2a + b.
import { Llama2cError, SourceError } from './errors.js';
import { checkByteRange, outputBuffer, type ModelLayout, type ModelReader, type TensorInfo } from './model-reader.js';
import { readInto, type ReadOptions, type Source } from './source.js';
import { llamaSpec, type ModelSpec } from '../models/config.js';

export const LLAMA2C_MAGIC = 0x616b3432; // "24ka" on disk
const LEGACY_HEADER_BYTES = 28;
const V1_HEADER_BYTES = 256;

export interface Llama2cParams {
  /** 0: legacy (run.c), 1: export.py version 1. */
  version: 0 | 1;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** The classifier is the token embedding (legacy: vocab_size > 0; v1: the header flag). */
  sharedClassifier: boolean;
  headerBytes: number;
}

/** Parse the header (pass at least the first 256 bytes, or the whole file if shorter). */
export function parseLlama2cHeader(head: Uint8Array, fileSize: number, where = 'checkpoint'): Llama2cParams {
  if (head.length < LEGACY_HEADER_BYTES) throw new Llama2cError(`${where}: ${fileSize} bytes is too short for a llama2.c header`);
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let p: Llama2cParams;
  if (v.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (head.length < V1_HEADER_BYTES) throw new Llama2cError(`${where}: ${fileSize} bytes is too short for a version-1 llama2.c header`);
    const version = v.getInt32(4, true);
    if (version !== 1) {
      throw new Llama2cError(`${where}: llama2.c format version ${version} is not supported (only the legacy format and version 1, fp32; version 2 is int8-quantized)`);
    }
    const shared = v.getUint8(36);
    if (shared > 1) throw new Llama2cError(`${where}: shared_classifier flag is ${shared}, expected 0 or 1`);
    p = {
      version: 1,
      dim: v.getInt32(8, true), hiddenDim: v.getInt32(12, true), nLayers: v.getInt32(16, true),
      nHeads: v.getInt32(20, true), nKvHeads: v.getInt32(24, true), vocabSize: v.getInt32(28, true),
      seqLen: v.getInt32(32, true), sharedClassifier: shared === 1, headerBytes: V1_HEADER_BYTES,
    };
    if (p.vocabSize <= 0) throw new Llama2cError(`${where}: vocab_size ${p.vocabSize} must be positive in a version-1 header`);
  } else {
    const vocab = v.getInt32(20, true);
    p = {
      version: 0,
      dim: v.getInt32(0, true), hiddenDim: v.getInt32(4, true), nLayers: v.getInt32(8, true),
      nHeads: v.getInt32(12, true), nKvHeads: v.getInt32(16, true),
      // run.c: a negative vocab_size means the classifier is stored separately.
      vocabSize: Math.abs(vocab), seqLen: v.getInt32(24, true), sharedClassifier: vocab > 0,
      headerBytes: LEGACY_HEADER_BYTES,
    };
  }
  const fields: Array<[string, number]> = [
    ['dim', p.dim], ['hidden_dim', p.hiddenDim], ['n_layers', p.nLayers], ['n_heads', p.nHeads],
    ['n_kv_heads', p.nKvHeads], ['vocab_size', p.vocabSize], ['seq_len', p.seqLen],
  ];
  for (const [k, x] of fields) {
    if (!(x > 0) || x > 1 << 24) throw new Llama2cError(`${where}: not a llama2.c checkpoint (header ${k} = ${x})`);
  }
  if (p.dim % p.nHeads !== 0 || (p.dim / p.nHeads) % 2 !== 0) {
    throw new Llama2cError(`${where}: dim ${p.dim} / n_heads ${p.nHeads} is not an even head size`);
  }
  if (p.nKvHeads > p.nHeads || p.nHeads % p.nKvHeads !== 0) {
    throw new Llama2cError(`${where}: n_heads ${p.nHeads} is not a multiple of n_kv_heads ${p.nKvHeads}`);
  }
  const expected = layoutOf(p).totalBytes;
  if (expected !== fileSize) {
    throw new Llama2cError(`${where}: header (dim ${p.dim}, ${p.nLayers} layers, vocab ${p.vocabSize}) implies ${expected} bytes but the file has ${fileSize}`);
  }
  return p;
}

/** The ModelSpec of a llama2.c model (the same as its Hugging Face conversion's). */
export function modelSpecFromLlama2c(p: Llama2cParams): ModelSpec {
  const headDim = p.dim / p.nHeads;
  return llamaSpec({
    modelType: 'llama2.c',
    hiddenSize: p.dim, numLayers: p.nLayers, numHeads: p.nHeads, numKvHeads: p.nKvHeads, headDim,
    intermediateSize: p.hiddenDim, vocabSize: p.vocabSize, maxPositions: p.seqLen,
    rmsNormEps: 1e-5, // run.c's constants, and plain RoPE with theta 10000
    rope: { full_attention: { type: 'default', theta: 10000, rotaryDim: headDim, maxPositions: p.seqLen } },
    layerTypes: Array(p.nLayers).fill('full_attention'),
    tieWordEmbeddings: p.sharedClassifier,
    qkvBias: false, oBias: false, mlpBias: false, qkNorm: false, slidingWindow: null,
    bosTokenId: 1, eosTokenId: 2,
  });
}

interface Block {
  /** Byte offset in the file of the first layer's (or the only) tensor. */
  offset: number;
  /** Elements per layer (or of the tensor). */
  elements: number;
}

interface Layout {
  blocks: Record<string, Block>;
  totalBytes: number;
}

/** Where each llama2.c array sits in the file (run.c's memory_map_weights, export.py's order). */
function layoutOf(p: Llama2cParams): Layout {
  const headSize = p.dim / p.nHeads;
  const kvDim = (p.dim * p.nKvHeads) / p.nHeads;
  const L = p.nLayers;
  const sizes: Array<[string, number, number]> = []; // name, layers (0: global), elements per layer
  const legacy: Array<[string, number, number]> = [
    ['emb', 0, p.vocabSize * p.dim], ['rms_att', L, p.dim], ['wq', L, p.dim * p.dim],
    ['wk', L, p.dim * kvDim], ['wv', L, p.dim * kvDim], ['wo', L, p.dim * p.dim], ['rms_ffn', L, p.dim],
    ['w1', L, p.dim * p.hiddenDim], ['w2', L, p.hiddenDim * p.dim], ['w3', L, p.dim * p.hiddenDim],
    ['rms_final', 0, p.dim], ['freq_cis_real', 0, (p.seqLen * headSize) / 2], ['freq_cis_imag', 0, (p.seqLen * headSize) / 2],
  ];
  const v1: Array<[string, number, number]> = [
    ['rms_att', L, p.dim], ['rms_ffn', L, p.dim], ['rms_final', 0, p.dim], ['emb', 0, p.vocabSize * p.dim],
    ['wq', L, p.dim * p.dim], ['wk', L, p.dim * kvDim], ['wv', L, p.dim * kvDim], ['wo', L, p.dim * p.dim],
    ['w1', L, p.dim * p.hiddenDim], ['w2', L, p.hiddenDim * p.dim], ['w3', L, p.dim * p.hiddenDim],
  ];
  sizes.push(...(p.version === 0 ? legacy : v1));
  if (!p.sharedClassifier) sizes.push(['wcls', 0, p.vocabSize * p.dim]);
  const blocks: Record<string, Block> = Object.create(null);
  let offset = p.headerBytes;
  for (const [name, layers, elements] of sizes) {
    blocks[name] = { offset, elements };
    offset += 4 * elements * Math.max(layers, 1);
  }
  // A lying header can imply more than 2^53 bytes; no real file is that large.
  return { blocks, totalBytes: Number.isSafeInteger(offset) ? offset : Infinity };
}

interface Entry extends TensorInfo {
  offset: number;
  /** Heads to permute rows of (q: n_heads, k: n_kv_heads), else 0. */
  permuteHeads: number;
}

export class Llama2cReader implements ModelReader {
  readonly format = 'llama2c' as const;
  readonly tensors: readonly TensorInfo[];
  readonly layout: ModelLayout;
  readonly spec: ModelSpec;
  private readonly entries = new Map<string, Entry>();

  private constructor(private readonly source: Source, readonly file: string, readonly params: Llama2cParams) {
    this.spec = modelSpecFromLlama2c(params);
    const { blocks } = layoutOf(params);
    const add = (name: string, shape: number[], block: string, layer: number, permuteHeads = 0): void => {
      const b = blocks[block];
      const bytes = 4 * shape.reduce((a, d) => a * d, 1);
      this.entries.set(name, { name, dtype: 'F32', shape, byteLength: bytes, offset: b.offset + layer * 4 * b.elements, permuteHeads });
    };
    const s = this.spec;
    add(s.embedTokens.name, s.embedTokens.shape, 'emb', 0);
    add(s.finalNorm!.weight!, [params.dim], 'rms_final', 0);
    if (s.lmHead) add(s.lmHead.name, s.lmHead.shape, 'wcls', 0);
    const source2l2c: Record<string, string> = {
      'self_attn.q_proj': 'wq', 'self_attn.k_proj': 'wk', 'self_attn.v_proj': 'wv', 'self_attn.o_proj': 'wo',
      'mlp.gate_proj': 'w1', 'mlp.down_proj': 'w2', 'mlp.up_proj': 'w3',
    };
    for (const layer of s.layers) {
      add(layer.attnNorm.weight!, [params.dim], 'rms_att', layer.index);
      add(layer.mlpNorm.weight!, [params.dim], 'rms_ffn', layer.index);
      for (const l of layer.linears) {
        const heads = l.role === 'q' ? params.nHeads : l.role === 'k' ? params.nKvHeads : 0;
        add(l.weight, [l.out, l.in], source2l2c[l.name], layer.index, heads);
      }
    }
    // Listed sorted by name, the order Hugging Face's safetensors files use, so that writing
    // a llama2.c model gives the same file as converting it with transformers would.
    const names = [...this.entries.keys()].sort();
    this.tensors = names.map((n) => this.info(n)!);
    this.layout = { shards: [{ file: 'model.safetensors', metadata: { format: 'pt' }, tensors: names }], indexMetadata: null };
  }

  static async open(source: Source, file: string, options?: ReadOptions): Promise<Llama2cReader> {
    const size = await source.size(file);
    if (size === null) throw new SourceError(`${source.location}: no file ${JSON.stringify(file)}`);
    const head = await source.read(file, 0, Math.min(size, V1_HEADER_BYTES), options);
    return new Llama2cReader(source, file, parseLlama2cHeader(head, size, `${source.location}/${file}`));
  }

  info(name: string): TensorInfo | undefined {
    const e = this.entries.get(name);
    return e && { name: e.name, dtype: e.dtype, shape: [...e.shape], byteLength: e.byteLength };
  }

  async readFloat32(name: string, options?: ReadOptions & { into?: Float32Array }): Promise<Float32Array> {
    const into = options?.into;
    const bytes = await this.readBytes(name, { ...options, into: into && new Uint8Array(into.buffer, into.byteOffset, into.byteLength) });
    return into ?? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  async readByteRange(name: string, begin: number, into: Uint8Array, options?: ReadOptions): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e) throw new Llama2cError(`${this.source.location}/${this.file}: no tensor named ${JSON.stringify(name)}`);
    checkByteRange(name, e.byteLength, begin, into.length);
    // q/k rows are permuted to HF order: their bytes in a range are not contiguous in the file.
    if (e.permuteHeads) into.set((await this.readBytes(name, options)).subarray(begin, begin + into.length));
    else await readInto(this.source, this.file, e.offset + begin, into, options);
    return into;
  }

  async readBytes(name: string, options?: ReadOptions & { into?: Uint8Array }): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e) throw new Llama2cError(`${this.source.location}/${this.file}: no tensor named ${JSON.stringify(name)}`);
    if (!options?.into) {
      const raw = await this.source.read(this.file, e.offset, e.byteLength, options);
      return e.permuteHeads ? permuteRopeRows(raw, e.shape[0], e.shape[1], e.permuteHeads) : raw;
    }
    const out = outputBuffer(options.into, e.byteLength, (n) => new Uint8Array(n), name);
    if (e.permuteHeads) out.set(permuteRopeRows(await this.source.read(this.file, e.offset, e.byteLength, options), e.shape[0], e.shape[1], e.permuteHeads));
    else await readInto(this.source, this.file, e.offset, out, options);
    return out;
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

/** llama2.c (interleaved RoPE pairs) → HF (rotate_half) row order for a q or k projection. */
export function permuteRopeRows(src: Uint8Array, rows: number, cols: number, heads: number): Uint8Array {
  const hd = rows / heads;
  const half = hd / 2;
  const rowBytes = cols * 4;
  const out = new Uint8Array(src.length);
  for (let h = 0; h < heads; h++) {
    for (let a = 0; a < half; a++) {
      for (let b = 0; b < 2; b++) {
        const from = (h * hd + 2 * a + b) * rowBytes;
        out.set(src.subarray(from, from + rowBytes), (h * hd + b * half + a) * rowBytes);
      }
    }
  }
  return out;
}

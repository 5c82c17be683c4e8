// Small synthetic models for the I/O tests: seeded random values (never zeros), any dtype,
// single-file or sharded, written with the format code and an index as transformers writes it.
import { encodeSafetensors, type SafetensorsDType, type TensorToWrite } from '../../src/io/safetensors.js';
import { encodeBF16, encodeF16 } from '../../src/io/half.js';
import { rng } from '../support/random.js';

/** Seeded values with a few NaN (odd payloads), ±Inf, ±0 and subnormals sprinkled in. */
export function randomFloat32(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 4;
  const specials = [0x7fc00001, 0xffa00000, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff];
  for (let k = 0; k < specials.length && k < n; k++) bits[Math.floor(next() * n)] = specials[k];
  return out;
}

export function bytesIn(dtype: SafetensorsDType, values: Float32Array): Uint8Array {
  switch (dtype) {
    case 'F32': return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case 'F16': return encodeF16(values);
    case 'BF16': return encodeBF16(values);
    default: throw new Error(dtype);
  }
}

export interface SyntheticTensor {
  name: string;
  shape: number[];
}

/** A llama-like set of tensor names and shapes: 3 layers, hidden 16. */
export function llamaLikeTensors(layers = 3, hidden = 16, inter = 24, vocab = 40): SyntheticTensor[] {
  const t: SyntheticTensor[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden] }, { name: 'model.norm.weight', shape: [hidden] }, { name: 'lm_head.weight', shape: [vocab, hidden] }];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    t.push(
      { name: `${p}input_layernorm.weight`, shape: [hidden] },
      { name: `${p}post_attention_layernorm.weight`, shape: [hidden] },
      { name: `${p}self_attn.q_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}self_attn.k_proj.weight`, shape: [hidden / 2, hidden] },
      { name: `${p}self_attn.v_proj.weight`, shape: [hidden / 2, hidden] },
      { name: `${p}self_attn.o_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}mlp.gate_proj.weight`, shape: [inter, hidden] },
      { name: `${p}mlp.up_proj.weight`, shape: [inter, hidden] },
      { name: `${p}mlp.down_proj.weight`, shape: [hidden, inter] },
    );
  }
  return t.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export const LLAMA_LIKE_CONFIG = {
  model_type: 'llama', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 40, rms_norm_eps: 1e-5, tie_word_embeddings: false,
};

/** Files of a model: one shard per `shards` (tensors dealt round-robin by sorted name) plus the index. */
export function syntheticModel(dtype: SafetensorsDType, shards: number, seed = 7, tensors = llamaLikeTensors()): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const groups: TensorToWrite[][] = Array.from({ length: shards }, () => []);
  tensors.forEach((t, i) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    groups[i % shards].push({ name: t.name, dtype, shape: t.shape, data: bytesIn(dtype, randomFloat32(n, seed * 1000 + i)) });
  });
  const metadata = { format: 'pt', note: 'synthetic' };
  if (shards === 1) {
    files.set('model.safetensors', encodeSafetensors(groups[0], metadata));
  } else {
    const weightMap: Record<string, string> = {};
    let total = 0;
    groups.forEach((g, i) => {
      const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      files.set(file, encodeSafetensors(g, metadata));
      for (const t of g) {
        weightMap[t.name] = file;
        total += t.data.byteLength;
      }
    });
    const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2) + '\n'));
  }
  files.set('config.json', new TextEncoder().encode(JSON.stringify(LLAMA_LIKE_CONFIG)));
  return files;
}

export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const next = rng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

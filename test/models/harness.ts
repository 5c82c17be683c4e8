// Shared by the model tests (random-models, gemma, stories260k, transformers): one wasm and one
// WebGPU device per test file, a model's dense logits, and the relative error the comparisons use.
import { afterAll, beforeAll, expect } from 'vitest';
import { openModel } from '../../src/io/model.js';
import type { ModelSpec } from '../../src/models/config.js';
import { createDecoder, type DecoderLayer } from '../../src/models/decoder.js';
import { type ForwardDevice, wasmDevice, webgpuDevice } from '../forward/devices.js';

/**
 * Registers the file's hooks: both devices are created before its tests and disposed after.
 * device(name) throws when WebGPU is missing (CI provides SwiftShader: a test fails, never skips).
 */
export function forwardDevices(): { device(name: 'wasm' | 'webgpu'): ForwardDevice } {
  const devices: Record<string, ForwardDevice | null> = { wasm: null, webgpu: null };
  let gpuMissing = '';
  beforeAll(async () => {
    devices.wasm = await wasmDevice();
    const g = await webgpuDevice();
    if ('unavailable' in g) gpuMissing = g.unavailable;
    else devices.webgpu = g;
  });
  afterAll(() => devices.webgpu?.backend.dispose());
  return {
    device(name) {
      const d = devices[name];
      if (!d) throw new Error(`no WebGPU device (CI provides SwiftShader): ${gpuMissing}`);
      return d;
    },
  };
}

/** max |got − want| / max |want| (∞ when got holds a non-finite value). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let mag = 1e-30;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - want[i]));
    mag = Math.max(mag, Math.abs(want[i]));
  }
  return err / mag;
}

export interface LogitsOptions {
  /** Changes the spec read from the folder before the decoder is made. */
  edit?: (spec: ModelSpec) => void;
  /** Runs after each layer's forward, with the layer still loaded and its output h. */
  afterLayer?: (layer: DecoderLayer, h: Float32Array, spec: ModelSpec) => Promise<void>;
}

/** Logits of `ids` at every position ([ids.length, vocab]), the model run layer by layer as the pipeline runs it. */
export async function modelLogits(dir: string, dev: ForwardDevice, ids: number[], options: LogitsOptions = {}): Promise<Float32Array> {
  const m = await openModel(dir);
  try {
    options.edit?.(m.spec);
    const model = createDecoder(m.spec, dev.backend);
    const emb = await model.loadEmbeddings(m.reader);
    let h = await emb.embed(ids);
    emb.dispose();
    for (let i = 0; i < m.spec.numLayers; i++) {
      const layer = await model.loadLayer(i, m.reader);
      h = await layer.forward(h, ids.length);
      await options.afterLayer?.(layer, h, m.spec);
      layer.dispose();
    }
    const head = await model.loadHead(m.reader);
    const logits = await head.logits(h, ids.length);
    head.dispose();
    model.dispose();
    return logits;
  } finally {
    await m.close();
  }
}

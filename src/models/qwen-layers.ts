// Which layers of a Qwen2 / Qwen3 model use the sliding window (shared by both rows of
// llama-variants.ts).
import type { ConfigReader } from './config-reader.js';

export type AttentionType = 'full_attention' | 'sliding_attention';

/**
 * Qwen2/Qwen3 sliding windows as transformers 5.x computes them (and 4.x did layer by layer):
 * sliding_window counts only with use_sliding_window; layer_types, when absent, makes layers
 * i ≥ max_window_layers sliding (when there is a window); a 'sliding_attention' layer uses the
 * window, or full attention when there is none.
 */
export function qwenLayerTypes(c: ConfigReader, numLayers: number): { layerTypes: AttentionType[]; slidingWindow: number | null } {
  const use = c.boolean('use_sliding_window', false);
  const window = c.nullablePositiveInt('sliding_window', 4096); // Qwen2Config / Qwen3Config default
  const slidingWindow = use ? window : null;
  const maxWindowLayers = c.nonNegativeInt('max_window_layers', 28);
  const given = c.get('layer_types');
  let layerTypes: AttentionType[];
  if (given === undefined || given === null) {
    layerTypes = Array.from({ length: numLayers }, (_, i) => (slidingWindow !== null && i >= maxWindowLayers ? 'sliding_attention' : 'full_attention'));
  } else {
    if (!Array.isArray(given) || given.length !== numLayers || !given.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw c.error('layer_types', `must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers, got ${JSON.stringify(given)}`);
    }
    layerTypes = given as AttentionType[];
  }
  return { layerTypes, slidingWindow };
}


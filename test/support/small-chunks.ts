// Splits even small layers over the wasm threads for the tests of the enclosing block (or file):
// every job goes to the pool, in chunks of `chunkWeights` weights; the tuning is restored after.
import { afterAll, beforeAll } from 'vitest';
import { tuning } from '../../src/backends/wasm/threads.js';

export function smallChunks(chunkWeights = 512): void {
  const saved = { ...tuning };
  beforeAll(() => {
    tuning.parallelWork = 0;
    tuning.chunkWeights = chunkWeights;
  });
  afterAll(() => {
    Object.assign(tuning, saved);
  });
}

// wasm threads in a Chromium page. The test server sends COOP/COEP (vitest.browser.config.ts), so
// the page is cross-origin isolated: SharedArrayBuffer exists, Web Workers from a Blob URL join
// the pool, and 1 and 2 threads give identical layers. Without isolation a backend asked for two
// threads must run on one and say why (checked too, whichever the page is).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { threadsUnavailable, tuning } from '../../src/backends/wasm/threads.js';
import { pruneLayer } from '../../src/layer.js';
import { StatsAccumulator } from '../../src/stats.js';
import { randomLayer } from '../layer/random.js';

const saved = { ...tuning };
let one: Backend;
let two: Backend;

beforeAll(async () => {
  tuning.parallelWork = 0;
  tuning.chunkWeights = 256;
  one = await createWasmBackend({ threads: 1 });
  two = await createWasmBackend({ threads: 2 });
});
afterAll(() => {
  Object.assign(tuning, saved);
  two?.dispose();
});

describe('wasm threads in a Chromium page', () => {
  it('runs on two threads when the page is cross-origin isolated, else on one and says why', () => {
    console.log(`crossOriginIsolated ${globalThis.crossOriginIsolated}; threads ${two.threads}; note ${two.threadsNote}`);
    if (globalThis.crossOriginIsolated) {
      expect(threadsUnavailable()).toBeNull();
      expect(two.threads).toBe(2);
      expect(two.threadsNote).toBeNull();
    } else {
      expect(two.threads).toBe(1);
      expect(two.threadsNote).toMatch(/Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/);
    }
  });

  it('the test page is cross-origin isolated (the server sends COOP/COEP)', () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
  });

  it('Wanda + guarded DSnoT and Wanda + swaps: the same bytes on 1 and 2 threads', async () => {
    const [rows, cols] = [45, 64];
    const l = randomLayer(21, rows, cols, { nseq: 2, seqlen: 40 });
    for (const refine of [{ refine: 'dsnot' as const, dsnot: { guard: true } }, { refine: 'swaps' as const }]) {
      const [a, b] = await Promise.all([one, two].map(async (backend) => {
        const acc = await StatsAccumulator.create(cols, { hessian: true, device: backend });
        for (let s = 0; s < l.nseq; s++) acc.add(l.x3.subarray(s * l.seqlen * cols, (s + 1) * l.seqlen * cols));
        return pruneLayer({ weight: l.weight, rows, cols, stats: await acc.finish(), sparsity: 0.5, init: 'wanda', ...refine, backend });
      }));
      expect(Array.from(b.mask)).toEqual(Array.from(a.mask));
      expect(Array.from(b.error)).toEqual(Array.from(a.error));
      expect(Array.from(b.trueError!.final)).toEqual(Array.from(a.trueError!.final));
      expect(a.mask.some((m) => m === 1)).toBe(true);
    }
  });
});

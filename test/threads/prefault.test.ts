// The main thread's idle work: while workers run a job, it touches the pages of fresh result
// arrays (prefault) before joining the chunks; stopping it before an array is written must leave
// the array alone from then on. And the weight's finiteness check, made over the threads, still
// names the first bad value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { IdleQueue, tuning } from '../../src/backends/wasm/threads.js';
import { pruneLayer } from '../../src/layer.js';
import { DsnotInputError } from '../../src/validate.js';
import { randomLayer } from '../layer/random.js';

const saved = { ...tuning };
let b: Backend;
beforeAll(async () => {
  tuning.parallelWork = 0;
  tuning.chunkWeights = 256;
  b = await createWasmBackend({ threads: 2 });
});
afterAll(() => {
  Object.assign(tuning, saved);
  b.dispose();
});

/** A job with many chunks: the main thread is idle while the worker starts on them. */
function someJob(): void {
  const n = 1 << 16;
  const w = b.upload('f32', new Float32Array(n).fill(1));
  const m = b.alloc('u8', n);
  b.applyMask(w, m, n);
  b.release(m);
  b.release(w);
}

describe('idle work of the main thread', () => {
  it('prefaults during jobs, and not after it is stopped', () => {
    expect(b.prefault).toBeTypeOf('function');
    const a = new Float32Array(3 << 20).fill(7); // 12 MiB: 12 slices
    const stop = b.prefault!(a);
    for (let i = 0; i < 100 && a[a.length - 1] === 7; i++) someJob();
    expect(a.every((x) => x === 0), 'every slice touched').toBe(true);
    stop();
    const c = new Float32Array(3 << 20).fill(7);
    b.prefault!(c)(); // stopped before any job
    for (let i = 0; i < 20; i++) someJob();
    expect(c.every((x) => x === 7)).toBe(true);
  });

  it('the queue runs tasks in order and drops a cancelled owner\'s tasks', () => {
    const q = new IdleQueue();
    const done: string[] = [];
    const [x, y] = [{}, {}];
    q.add(x, [() => done.push('x1'), () => done.push('x2')]);
    q.add(y, [() => done.push('y1')]);
    expect(q.runOne()).toBe(true);
    q.cancel(x);
    while (q.runOne());
    expect(done).toEqual(['x1', 'y1']);
    expect(q.runOne()).toBe(false);
  });

  it('a one-thread backend has no prefault (nothing to overlap with)', async () => {
    expect((await createWasmBackend({ threads: 1 })).prefault).toBeUndefined();
  });

  it('pruneLayer names the first non-finite weight, found over the threads', async () => {
    const l = randomLayer(3, 40, 64);
    const stats = { scalerRow: new Float64Array(64).fill(1), sumMetricRow: new Float64Array(64).fill(0.5), var: new Float64Array(64).fill(1) };
    l.weight[17 * 64 + 5] = Number.NaN;
    l.weight[30 * 64 + 1] = Number.POSITIVE_INFINITY;
    const run = pruneLayer({ weight: l.weight, rows: 40, cols: 64, stats, sparsity: 0.5, init: 'wanda', refine: 'none', backend: b });
    await expect(run).rejects.toThrow(DsnotInputError);
    await expect(run).rejects.toThrow('weight[17, 5] is NaN: weights must be finite');
  });
});
